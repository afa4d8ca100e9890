package main

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/testheif"
)

// TestLargeHEIFMetaBoxesHoldBoundedMemory sends 30 HEICs at once whose meta box is as large as
// accepted (it ends at the first MiB), then 30 whose primary image is a grid of 4095 tiles
// (4096 items, the most accepted). The check reads a meta box whole and parses it, and so does
// the stripper. The first kind is stored (201), the second refused for its pixels (422
// too_many_pixels, once its meta box is read), either may get 503 when no upload slot frees in
// time, never anything else. The server's peak RSS may grow by at most 128 MiB
// (VITRINE_MAX_CONCURRENT_UPLOADS=16 uploads in flight hold up to about 7 MiB each at these
// bounds, and the rest is garbage-collector headroom), and no temporary file may be left.
func TestLargeHEIFMetaBoxesHoldBoundedMemory(t *testing.T) {
	s := startServeProcess(t, map[string]string{
		"VITRINE_JWT_SECRET": "a secret of this test only, long enough", "VITRINE_UPLOAD_BURST": "100",
		"VITRINE_UPLOAD_QUEUE_TIMEOUT": "5m", "VITRINE_WORKERS": "0",
	})
	heic, _ := testheif.Photo(t, false)
	sp := s.newSupplier(t)
	before := s.PeakRSS(t)
	for _, c := range []struct {
		name   string
		file   []byte
		status int
		code   string
	}{
		{"a HEIC whose meta box ends at 1 MiB", testheif.WithMetaSize(t, heic, 1<<20-testheif.Find(t, heic, "meta").Start), 201, ""},
		{"a grid of 4095 tiles", testheif.Grid(t, heic, 65, 63), 422, "too_many_pixels"},
	} {
		form := newFileForm(c.file)
		var wg sync.WaitGroup
		answers := make(chan answer, 30)
		for range 30 {
			wg.Go(func() { answers <- s.postForm(sp, form.contentType, form.body()) })
		}
		wg.Wait()
		close(answers)
		wanted := 0
		for a := range answers {
			switch {
			case a.status == c.status && a.code == c.code:
				wanted++
			case a.status == 503 && a.code == "unavailable" && a.retryAfter != "":
			default:
				t.Errorf("%s: %v, want %d %s or 503 unavailable", c.name, a, c.status, c.code)
			}
		}
		peak := s.PeakRSS(t)
		t.Logf("%s, 30 at once: %d answered %d, peak RSS %d MiB (%d MiB before the first)", c.name, wanted, c.status, peak>>20, before>>20)
		if wanted == 0 {
			t.Errorf("%s: none answered %d", c.name, c.status)
		}
		if peak-before > 128<<20 {
			t.Errorf("peak RSS grew by %d MiB, want at most 128 MiB", (peak-before)>>20)
		}
	}
	checkEmpty(t, filepath.Join(s.dataDir, "spool"))
	checkEmpty(t, filepath.Join(s.dataDir, "objects", ".tmp"))
}
