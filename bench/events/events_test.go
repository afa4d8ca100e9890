// Package events benchmarks the delivery of live events by `vitrine serve`, as a child process
// built from the tree (BENCH_VITRINE_BIN, default ../../bin/vitrine), on a fresh database:
//
//   - BenchmarkEventLatency: 200 open event streams on one process, 100 on one product and
//     100 spread over 10 other products (10 each), all as the supplier that owns them. One
//     writer changes an image's alt text through the API BENCH_CHANGES times (default 300),
//     every BENCH_PACE (default 50ms), alternating between the hot product and the others.
//     For every (change, stream that must see it) it records the time from the write's
//     answer to the event's receipt (0 when the event came first), and from the write's
//     request; it reports p50, p99 and max of both over all samples, every event checked to
//     arrive, plus the server's CPU time and peak RSS.
//
// Run with `make bench-events`, which builds bin/vitrine. The writes' rate limit is lifted.
package events

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/bench/benchserve"
	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/internal/sseclient"
	"github.com/vitrine-dev/vitrine/jwtauth"
	"github.com/vitrine-dev/vitrine/postgres/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

const secret = "a secret of this benchmark only, long enough"

func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s must be a positive integer", name)
	}
	return n
}

// receipt is one stream's receipt of one change.
type receipt struct {
	change int
	at     time.Time
}

func BenchmarkEventLatency(b *testing.B) {
	changes := envInt(b, "BENCH_CHANGES", 300)
	pace := 50 * time.Millisecond
	if v := os.Getenv("BENCH_PACE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatal(err)
		}
		pace = d
	}
	bin := os.Getenv("BENCH_VITRINE_BIN")
	if bin == "" {
		bin = "../../bin/vitrine"
	}
	if _, err := os.Stat(bin); err != nil {
		b.Fatalf("binary %s: %v (run make bench-events)", bin, err)
	}
	for range b.N {
		srv := benchserve.Start(b, bin, secret,
			"VITRINE_WRITES_PER_MINUTE=0", "VITRINE_UPLOADS_PER_MINUTE=0", "VITRINE_WORKERS=0")
		base := srv.Base

		supplier := uuid.New()
		token, err := jwtauth.Mint([]byte(secret), gallery.Supplier(supplier), "", "", time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		photo, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "src", "image", "testdata", "video-001.jpeg"))
		if err != nil {
			b.Fatal(err)
		}
		// Product 0 is the hot one; 1..10 the others. Each has one image.
		products := make([]string, 11)
		images := make([]string, 11)
		for i := range products {
			products[i] = post(b, base, token, "/v1/products", "application/json", strings.NewReader(`{}`))
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			fw, _ := mw.CreateFormFile("file", "photo.jpeg")
			fw.Write(photo)
			mw.Close()
			images[i] = post(b, base, token, "/v1/products/"+products[i]+"/images", mw.FormDataContentType(), &body)
		}

		// The streams: 100 on product 0, 10 on each of the others.
		var streamsOf [11][]chan receipt
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var opened sync.WaitGroup
		open := func(product int) {
			got := make(chan receipt, changes)
			streamsOf[product] = append(streamsOf[product], got)
			req, _ := http.NewRequestWithContext(ctx, "GET", base+"/v1/products/"+products[product]+"/events", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil || resp.StatusCode != 200 {
				b.Fatalf("opening a stream: %v %v", err, resp)
			}
			opened.Add(1)
			go func() {
				defer resp.Body.Close()
				first := true
				_ = sseclient.Read(resp.Body, func(ev sseclient.Event) bool {
					if first && ev.Event == "snapshot" {
						first = false
						opened.Done()
						return true
					}
					if ev.Event != "image" {
						return true
					}
					at := time.Now()
					var e struct {
						Image struct {
							Alt string `json:"alt"`
						} `json:"image"`
					}
					if json.Unmarshal([]byte(ev.Data), &e) == nil {
						if n, ok := strings.CutPrefix(e.Image.Alt, "change "); ok {
							c, _ := strconv.Atoi(n)
							got <- receipt{change: c, at: at}
						}
					}
					return true
				})
			}()
		}
		for range 100 {
			open(0)
		}
		for p := 1; p <= 10; p++ {
			for range 10 {
				open(p)
			}
		}
		opened.Wait()

		cpuBefore := srv.CPUTime(b)
		sent := make([]time.Time, changes)
		answered := make([]time.Time, changes)
		target := make([]int, changes)
		b.ResetTimer()
		for c := range changes {
			p := 0
			if c%2 == 1 {
				p = 1 + (c/2)%10
			}
			target[c] = p
			sent[c] = time.Now()
			patch(b, base, token, "/v1/images/"+images[p], fmt.Sprintf(`{"alt":"change %d"}`, c))
			answered[c] = time.Now()
			time.Sleep(pace)
		}
		// Every stream must receive every change of its product.
		var fromAnswer, fromRequest []time.Duration
		wait := time.After(time.Minute)
		for p := range streamsOf {
			for _, got := range streamsOf[p] {
				want := 0
				for c := range changes {
					if target[c] == p {
						want++
					}
				}
				for range want {
					select {
					case r := <-got:
						fromAnswer = append(fromAnswer, max(0, r.at.Sub(answered[r.change])))
						fromRequest = append(fromRequest, r.at.Sub(sent[r.change]))
					case <-wait:
						b.Fatalf("a stream of product %d missed changes", p)
					}
				}
			}
		}
		b.StopTimer()
		cpuAfter := srv.CPUTime(b)
		rss := srv.PeakRSS(b)
		slices.Sort(fromAnswer)
		slices.Sort(fromRequest)
		q := func(d []time.Duration, f float64) float64 {
			return float64(d[min(len(d)-1, int(f*float64(len(d))))].Microseconds()) / 1000
		}
		b.ReportMetric(q(fromAnswer, 0.50), "p50-ms-after-answer")
		b.ReportMetric(q(fromAnswer, 0.99), "p99-ms-after-answer")
		b.ReportMetric(q(fromAnswer, 1), "max-ms-after-answer")
		b.ReportMetric(q(fromRequest, 0.50), "p50-ms-after-request")
		b.ReportMetric(q(fromRequest, 0.99), "p99-ms-after-request")
		b.ReportMetric(float64(len(fromAnswer)), "receipts")
		b.ReportMetric((cpuAfter - cpuBefore).Seconds(), "server-cpu-s")
		b.ReportMetric(float64(rss)/(1<<20), "server-peak-rss-MiB")
		cancel()
	}
}

// post sends a POST as token and returns the created resource's id.
func post(b *testing.B, base, token, path, contentType string, body io.Reader) string {
	return request(b, "POST", base, token, path, contentType, body, http.StatusCreated)
}

func patch(b *testing.B, base, token, path, body string) {
	request(b, "PATCH", base, token, path, "application/json", strings.NewReader(body), http.StatusOK)
}

func request(b *testing.B, method, base, token, path, contentType string, body io.Reader, want int) string {
	req, _ := http.NewRequest(method, base+path, body)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct{ ID string }
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || resp.StatusCode != want {
		b.Fatalf("%s %s: %d %v", method, path, resp.StatusCode, err)
	}
	return v.ID
}
