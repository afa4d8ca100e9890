package main

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/testheif"
)

// TestLargeHEIFMetaBoxesHoldBoundedMemory sends 30 HEICs at once whose meta box is as large as
// accepted (it ends at the first MiB): the check reads it whole, and the stripper gathers it
// and writes it again. Each is stored (201) or gets 503 when no upload slot frees in time,
// never anything else; the server's peak RSS may grow by at most 96 MiB
// (VITRINE_MAX_CONCURRENT_UPLOADS=16 uploads in flight hold about 3.5 MiB each, and the rest
// is garbage-collector headroom), and no temporary file may be left behind.
func TestLargeHEIFMetaBoxesHoldBoundedMemory(t *testing.T) {
	s := startServeProcess(t, map[string]string{
		"VITRINE_JWT_SECRET": "a secret of this test only, long enough", "VITRINE_UPLOAD_BURST": "100",
		"VITRINE_UPLOAD_QUEUE_TIMEOUT": "5m", "VITRINE_WORKERS": "0",
	})
	heic, _ := testheif.Photo(t, false)
	form := newFileForm(testheif.WithMetaSize(t, heic, 1<<20-testheif.Find(t, heic, "meta").Start))
	sp := s.newSupplier(t)
	before := s.PeakRSS(t)
	var wg sync.WaitGroup
	answers := make(chan answer, 30)
	for range 30 {
		wg.Go(func() { answers <- s.postForm(sp, form.contentType, form.body()) })
	}
	wg.Wait()
	close(answers)
	stored := 0
	for a := range answers {
		switch {
		case a.status == 201:
			stored++
		case a.status == 503 && a.code == "unavailable" && a.retryAfter != "":
		default:
			t.Errorf("a HEIC with a 1 MiB meta box: %v, want 201 or 503 unavailable", a)
		}
	}
	peak := s.PeakRSS(t)
	t.Logf("peak RSS %d MiB before, %d MiB after 30 HEICs with a 1 MiB meta box at once; %d stored", before>>20, peak>>20, stored)
	if stored == 0 {
		t.Error("no HEIC was stored")
	}
	if peak-before > 96<<20 {
		t.Errorf("peak RSS grew by %d MiB, want at most 96 MiB", (peak-before)>>20)
	}
	checkEmpty(t, filepath.Join(s.dataDir, "spool"))
	checkEmpty(t, filepath.Join(s.dataDir, "objects", ".tmp"))
}
