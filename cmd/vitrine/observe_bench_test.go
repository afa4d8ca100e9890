package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/testphotos"
)

// BenchmarkUploadObservability measures the upload path (POST of a photo, to its 201) with
// metrics, tracing (spans exported by OTLP/HTTP to an endpoint in the process), or both on,
// against both off, in the same run: `vitrine serve` processes without workers, each on its
// own database, uploaded to in alternation, one upload each per iteration. It reports the
// median latency of each and their ratio.
//
//	go test ./cmd/vitrine -run '^$' -bench UploadObservability -benchtime 300x
func BenchmarkUploadObservability(b *testing.B) {
	// Spans are received and dropped: a collector's own work is not the server's.
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	b.Cleanup(collector.Close)
	common := map[string]string{"VITRINE_WORKERS": "0", "VITRINE_UPLOADS_PER_MINUTE": "0", "VITRINE_WRITES_PER_MINUTE": "0",
		"VITRINE_METRICS_ADDR": "off"}
	with := func(extra map[string]string) map[string]string {
		m := maps.Clone(common)
		maps.Copy(m, extra)
		return m
	}
	photo := readPhoto(b)
	for _, c := range []struct {
		name string
		env  map[string]string
	}{
		{"metrics", map[string]string{"VITRINE_METRICS_ADDR": freeAddr(b)}},
		{"tracing", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL}},
		{"metrics+tracing", map[string]string{"VITRINE_METRICS_ADDR": freeAddr(b), "OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL}},
	} {
		// A fresh pair each time: a server whose database has grown is slower.
		off, on := startServe(b, common), startServe(b, with(c.env))
		b.Run(c.name, func(b *testing.B) { compareUploads(b, off, on, photo) })
	}
}

// compareUploads uploads photo to off and on in alternation, b.N times each, and reports
// the median latency of each and their ratio.
func compareUploads(b *testing.B, off, on *served, photo []byte) {
	upload := func(s *served) time.Duration {
		d, err := timeUpload(s, photo)
		if err != nil {
			b.Fatal(err)
		}
		return d
	}
	for range 10 { // warm both up
		upload(off)
		upload(on)
	}
	var dOff, dOn []time.Duration
	b.ResetTimer()
	for i := range b.N {
		if i%2 == 0 {
			dOff = append(dOff, upload(off))
			dOn = append(dOn, upload(on))
		} else {
			dOn = append(dOn, upload(on))
			dOff = append(dOff, upload(off))
		}
	}
	b.StopTimer()
	median := func(ds []time.Duration) time.Duration {
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	mOff, mOn := median(dOff), median(dOn)
	b.ReportMetric(float64(mOff.Microseconds())/1000, "ms-median-off")
	b.ReportMetric(float64(mOn.Microseconds())/1000, "ms-median-on")
	b.ReportMetric(float64(mOn)/float64(mOff), "ratio-on/off")
}

// timeUpload creates a product on s and uploads photo to it, and returns the latency of the
// upload (its POST to its 201); product creation is not timed. It may run on any goroutine.
func timeUpload(s *served, photo []byte) (time.Duration, error) {
	req, _ := http.NewRequest("POST", s.base+"/v1/products", strings.NewReader(`{"supplier_id":"7d6f4a0e-8a6b-4c1e-9a55-3f1f6f0c2a11"}`))
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	var p struct{ ID string }
	err = json.NewDecoder(resp.Body).Decode(&p)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusCreated {
		return 0, fmt.Errorf("creating a product: %d %v", resp.StatusCode, err)
	}
	body, ctype := uploadForm(photo)
	req, _ = http.NewRequest("POST", s.base+"/v1/products/"+p.ID+"/images", body)
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", ctype)
	start := time.Now()
	resp, err = http.DefaultClient.Do(req)
	d := time.Since(start)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return 0, fmt.Errorf("uploading: %d", resp.StatusCode)
	}
	return d, nil
}

// BenchmarkUploadConcurrency measures upload latency against the number of concurrent
// clients, for the chart of docs/BENCHMARKS.md (`make bench`): one `vitrine serve`
// without workers (thumbnails are not made during the run), rate limits off, a real
// 1680×1050 photograph (testphotos.Medium, 1 MB). Each iteration, every client uploads
// once, all at the same time, each to a product of its own. It reports the median and p99
// latency and the uploads per second of the iterations.
//
//	go test ./cmd/vitrine -run '^$' -bench UploadConcurrency -benchtime 20x
func BenchmarkUploadConcurrency(b *testing.B) {
	s := startServe(b, map[string]string{"VITRINE_WORKERS": "0", "VITRINE_UPLOADS_PER_MINUTE": "0",
		"VITRINE_WRITES_PER_MINUTE": "0", "VITRINE_METRICS_ADDR": "off"})
	photo, err := os.ReadFile(testphotos.Medium(b))
	if err != nil {
		b.Fatal(err)
	}
	for range 5 { // warm up
		if _, err := timeUpload(s, photo); err != nil {
			b.Fatal(err)
		}
	}
	for _, clients := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			var all []time.Duration
			var mu sync.Mutex
			var failed error
			start := time.Now()
			for b.Loop() {
				var wg sync.WaitGroup
				for range clients {
					wg.Go(func() {
						d, err := timeUpload(s, photo)
						mu.Lock()
						all = append(all, d)
						failed = cmp.Or(failed, err)
						mu.Unlock()
					})
				}
				wg.Wait()
				if failed != nil {
					b.Fatal(failed)
				}
			}
			elapsed := time.Since(start)
			slices.Sort(all)
			b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(all[(len(all)*99)/100].Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(len(all))/elapsed.Seconds(), "uploads/s")
		})
	}
}
