package main

import (
	"bytes"
	"fmt"
	"image/jpeg"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vitrine-dev/vitrine/internal/testphotos"
)

// BenchmarkUIUploadToVariantShown measures, for 20 uploads of real photographs, the time from
// an upload's answer (201, through the API, as another client would upload) to the moment the
// supplier's page, open on the product, has loaded the image's variant: the thumbnail job
// runs, its event reaches the page through the stream, and the browser fetches the variant
// from srcset. Every image gets thumbnails (VITRINE_THUMBNAILS_FOR=all). The moment of the load
// is taken in the page (a load listener on the gallery's shadow root, in epoch milliseconds),
// so no polling interval is counted. Run it once: make bench-ui.
func BenchmarkUIUploadToVariantShown(b *testing.B) {
	const uploads = 20
	for b.Loop() {
		durations := uploadToVariant(b, uploads)
		slices.Sort(durations)
		p := func(q float64) time.Duration { return durations[int(q*float64(len(durations)-1)+0.5)] }
		b.ReportMetric(float64(p(0.5).Milliseconds()), "p50-ms")
		b.ReportMetric(float64(p(0.99).Milliseconds()), "p99-ms")
		b.Logf("upload answered → variant loaded in the page, %d uploads: p50 %v, p99 %v, min %v, max %v",
			uploads, p(0.5), p(0.99), durations[0], durations[len(durations)-1])
	}
}

func uploadToVariant(b *testing.B, n int) []time.Duration {
	s, sp := uiServe(b, map[string]string{"VITRINE_THUMBNAILS_FOR": "all", "VITRINE_WORKERS": "2"})
	// n different files of one real photograph: re-encoded at n qualities.
	src, err := os.Open(testphotos.Medium(b))
	if err != nil {
		b.Fatal(err)
	}
	img, err := jpeg.Decode(src)
	src.Close()
	if err != nil {
		b.Fatal(err)
	}
	files := make([]string, n)
	for i := range files {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 70 + i}); err != nil {
			b.Fatal(err)
		}
		files[i] = fmt.Sprintf("%s/photo-%d.jpg", b.TempDir(), i)
		if err := os.WriteFile(files[i], buf.Bytes(), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	tb := openTab(b, startBrowser(b), false)
	// Tall enough that every image is on screen: the gallery loads pictures lazily.
	tb.do(chromedp.EmulateViewport(1280, 8000))
	tb.openProduct(s.base, sp.token, sp.product, 0)
	eval[bool](tb, `(window.__loaded = {}, `+shadow+`.addEventListener("load", e => {
		const li = e.target.closest("li[data-id]");
		if (li && e.target.classList.contains("picture") && e.target.currentSrc.includes("/objects/variants/") && !window.__loaded[li.dataset.id])
			window.__loaded[li.dataset.id] = performance.timeOrigin + performance.now();
	}, true), true)`)
	var out []time.Duration
	for _, f := range files {
		id := uploadFiles(b, s, sp, f)[0]
		answered := time.Now()
		tb.waitFor("the variant of "+id+" loaded", fmt.Sprintf(`!!window.__loaded[%q]`, id))
		at := eval[float64](tb, fmt.Sprintf(`window.__loaded[%q]`, id))
		out = append(out, time.UnixMicro(int64(at*1000)).Sub(answered))
	}
	tb.noProblems()
	return out
}
