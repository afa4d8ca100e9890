// Package imports benchmarks bulk imports against uploads on a built `vitrine serve`
// (BENCH_VITRINE_BIN, default ../../bin/vitrine), each round on fresh servers:
//
//   - upload: BENCH_IMAGES (default 2,000) real photographs (testphotos' 12, in turn) sent
//     through POST /v1/products/{id}/images by 8 clients, over 20 products;
//   - import: the same photographs as one bulk import (POST /v1/imports) of BENCH_IMAGES
//     lines over 20 products, each photograph served under BENCH_IMAGES/12 distinct URLs by
//     a local HTTP server (imports are idempotent per URL), from the POST to the import's end
//     (its progress read every 100 ms).
//
// The import is measured three times: with the defaults, at the uploads' concurrency (8 fetches
// from the one source host: VITRINE_IMPORT_PER_HOST=8, the in-flight bound and the fetch
// workers being 8 already), and with twice as many of the import's images in flight as are
// fetched (VITRINE_IMPORT_IN_FLIGHT=16 besides), so that the fetch workers find the next
// lines queued while a batch is admitted. With BENCH_VITRINE_BIN_BEFORE, another build (the
// one before a change) is measured with the defaults and at the uploads' concurrency in the
// same rounds.
//
// Each reports images a second, the server's CPU time per image and its peak RSS (VmHWM).
// Target: the import's median rate at least 0.9 × the upload's. BENCH_ROUNDS (default 3)
// rounds, the measures interleaved; BENCH_ENV adds settings (space-separated K=V) to every server,
// BENCH_POOL_MAX_CONNS sizes their database pools, BENCH_ONLY (comma-separated names: upload,
// import, import-equal, import-deep, import-before, import-before-equal) keeps only those measures. After each import, where its fetch jobs
// spent their time (waiting to be picked, working, snoozed) is logged from River's table.
// Run with `make bench-import`.
package imports

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vitrine-dev/vitrine/bench/benchserve"
	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/internal/testphotos"
	"github.com/vitrine-dev/vitrine/jwtauth"
	"github.com/vitrine-dev/vitrine/postgres/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

const (
	secret   = "a secret of this benchmark only, long enough"
	products = 20
	clients  = 8
	// poll is how often the import's progress is read: ten times as often as `vitrine import`
	// reads it, so that the end of an import is seen within a few thousandths of its time.
	poll = 100 * time.Millisecond
)

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

type server struct {
	*benchserve.Server
	token    string
	products []string
}

// start runs a fresh server for one measure, with its supplier and products.
func start(b *testing.B, bin string, env ...string) server {
	env = append([]string{"VITRINE_UPLOADS_PER_MINUTE=0", "VITRINE_WRITES_PER_MINUTE=0"}, env...)
	env = append(env, strings.Fields(os.Getenv("BENCH_ENV"))...)
	s := server{Server: benchserve.Start(b, bin, secret, env...)}
	id := uuid.New()
	tok, err := jwtauth.Mint([]byte(secret), gallery.Supplier(id), "", "", time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	s.token = tok
	for range products {
		var p struct{ ID string }
		s.do(b, "POST", "/v1/products", strings.NewReader(`{}`), "application/json", &p)
		s.products = append(s.products, p.ID)
	}
	return s
}

func (s server) do(b *testing.B, method, path string, body io.Reader, contentType string, out any) int {
	req, _ := http.NewRequest(method, s.Base+path, body)
	req.Header.Set("Authorization", "Bearer "+s.token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	} else {
		io.Copy(io.Discard, resp.Body)
	}
	return resp.StatusCode
}

func (s server) upload(b *testing.B, product string, photo []byte) int {
	var head, tail bytes.Buffer
	mw := multipart.NewWriter(&head)
	mw.CreateFormFile("file", "photo.jpg")
	mw2 := multipart.NewWriter(&tail)
	mw2.SetBoundary(mw.Boundary())
	mw2.Close()
	return s.do(b, "POST", "/v1/products/"+product+"/images", io.MultiReader(&head, bytes.NewReader(photo), &tail), mw.FormDataContentType(), nil)
}

// jobTimes logs where an import's fetch jobs spent their time, from River's table: waiting
// to be picked (created to last attempted), working (last attempted to finalized), snoozed.
func (s server) jobTimes(b *testing.B) {
	pool, err := pgxpool.New(context.Background(), s.Owner)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	var wait, work, wait90, work90 float64
	var snoozes, jobs int
	err = pool.QueryRow(context.Background(), `SELECT count(*),
		percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM attempted_at - created_at)),
		percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM attempted_at - created_at)),
		percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finalized_at - attempted_at)),
		percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM finalized_at - attempted_at)),
		coalesce(sum((metadata->>'snoozes')::int), 0)
		FROM river_job WHERE kind = $1 AND state = 'completed'`, gallery.ImportJobKind).Scan(&jobs, &wait, &wait90, &work, &work90, &snoozes)
	if err != nil {
		b.Fatal(err)
	}
	logf("fetch jobs: %d; created to picked: median %.0f ms, p90 %.0f ms; picked to done: median %.0f ms, p90 %.0f ms; %d snoozes",
		jobs, wait*1000, wait90*1000, work*1000, work90*1000, snoozes)
	// The jobs admitted together were inserted by one transaction, at one created_at.
	var batches int
	var size, gap, gap90 float64
	err = pool.QueryRow(context.Background(), `WITH b AS (SELECT created_at, count(*) AS n FROM river_job WHERE kind = $1 GROUP BY created_at),
		g AS (SELECT n, extract(epoch FROM created_at - lag(created_at) OVER (ORDER BY created_at)) AS gap FROM b)
		SELECT count(*), avg(n), percentile_cont(0.5) WITHIN GROUP (ORDER BY gap), percentile_cont(0.9) WITHIN GROUP (ORDER BY gap) FROM g`,
		gallery.ImportJobKind).Scan(&batches, &size, &gap, &gap90)
	if err != nil {
		b.Fatal(err)
	}
	logf("admitted in %d batches of %.1f lines on average; between two batches: median %.1f ms, p90 %.1f ms", batches, size, gap*1000, gap90*1000)
}

// logf prints a line of the benchmark's log as it happens: testing.B keeps only ten lines of
// a benchmark's own log, fewer than its rounds make.
func logf(format string, args ...any) { fmt.Printf(format+"\n", args...) }

type measure struct {
	rate, cpuMs, peakMiB float64
	busy                 float64 // the share of the machine's CPU time that was busy
}

// machineCPU reads the machine's busy and total CPU time so far, in clock ticks, from
// /proc/stat (busy: all but idle and iowait).
func machineCPU(b *testing.B) (busy, all int64) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		b.Fatal(err)
	}
	line, _, _ := strings.Cut(string(data), "\n")
	for i, f := range strings.Fields(line)[1:] {
		n, _ := strconv.ParseInt(f, 10, 64)
		all += n
		if i != 3 && i != 4 {
			busy += n
		}
	}
	return busy, all
}

func median(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	return v[len(v)/2]
}

func BenchmarkBulkImportVsUpload(b *testing.B) {
	bin := os.Getenv("BENCH_VITRINE_BIN")
	if bin == "" {
		bin = "../../bin/vitrine"
	}
	if _, err := os.Stat(bin); err != nil {
		b.Fatalf("binary %s: %v (run make bench-import)", bin, err)
	}
	paths, err := testphotos.Photographs()
	if err != nil {
		b.Fatal(err)
	}
	var photos [][]byte
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		photos = append(photos, data)
	}
	n, rounds := envInt("BENCH_IMAGES", 2000), envInt("BENCH_ROUNDS", 3)
	var served atomic.Int64
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/p/"))
		if err != nil || i < 0 {
			http.NotFound(w, r)
			return
		}
		served.Add(1)
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write(photos[i%len(photos)])
	}))
	defer src.Close()
	allow := "VITRINE_IMPORT_ALLOW_HOSTS=" + strings.TrimPrefix(src.URL, "http://")

	type run struct {
		name, bin string
		env       []string
	}
	equal := "VITRINE_IMPORT_PER_HOST=8"
	runs := []run{{"upload", bin, nil}, {"import", bin, nil}, {"import-equal", bin, []string{equal}},
		{"import-deep", bin, []string{equal, "VITRINE_IMPORT_IN_FLIGHT=16"}}}
	if before := os.Getenv("BENCH_VITRINE_BIN_BEFORE"); before != "" {
		runs = append(runs, run{"import-before", before, nil}, run{"import-before-equal", before, []string{equal}})
	}
	if only := strings.Fields(strings.ReplaceAll(os.Getenv("BENCH_ONLY"), ",", " ")); len(only) > 0 {
		runs = slices.DeleteFunc(runs, func(r run) bool { return !slices.Contains(only, r.name) })
	}
	results := map[string][]measure{}
	for round := range rounds {
		for _, r := range runs {
			kind := r.name
			s := start(b, r.bin, append([]string{allow}, r.env...)...)
			cpu0 := s.CPUTime(b)
			busy0, all0 := machineCPU(b)
			t0 := time.Now()
			var failed atomic.Int64
			switch {
			case kind == "upload":
				var next atomic.Int64
				var wg sync.WaitGroup
				for range clients {
					wg.Go(func() {
						for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
							if s.upload(b, s.products[i%products], photos[i%len(photos)]) != http.StatusCreated {
								failed.Add(1)
							}
						}
					})
				}
				wg.Wait()
			default:
				var feed bytes.Buffer
				for i := range n {
					fmt.Fprintf(&feed, `{"product_id": %q, "source_url": "%s/p/%d"}`+"\n", s.products[i%products], src.URL, i)
				}
				var imp struct {
					ID         string
					Done       int
					Failed     int
					FinishedAt *time.Time `json:"finished_at"`
				}
				if st := s.do(b, "POST", "/v1/imports", &feed, "application/x-ndjson", &imp); st != http.StatusAccepted {
					b.Fatalf("POST /v1/imports: %d", st)
				}
				for imp.FinishedAt == nil {
					time.Sleep(poll)
					s.do(b, "GET", "/v1/imports/"+imp.ID, nil, "", &imp)
				}
				failed.Store(int64(imp.Failed))
				s.jobTimes(b)
			}
			elapsed := time.Since(t0)
			busy1, all1 := machineCPU(b)
			m := measure{
				rate:    float64(n) / elapsed.Seconds(),
				cpuMs:   float64((s.CPUTime(b) - cpu0).Microseconds()) / 1000 / float64(n),
				peakMiB: float64(s.PeakRSS(b)) / (1 << 20),
				busy:    float64(busy1-busy0) / float64(all1-all0),
			}
			s.Stop()
			results[kind] = append(results[kind], m)
			logf("round %d %s: %d images in %s: %.1f images/s, %.2f CPU-ms of the server per image, peak RSS %.0f MiB, machine %.0f%% busy, %d failed",
				round+1, kind, n, elapsed.Round(time.Millisecond), m.rate, m.cpuMs, m.peakMiB, 100*m.busy, failed.Load())
		}
	}
	med := map[string]measure{}
	for kind, ms := range results {
		var rates, cpus, peaks, busy []float64
		for _, m := range ms {
			rates, cpus, peaks, busy = append(rates, m.rate), append(cpus, m.cpuMs), append(peaks, m.peakMiB), append(busy, m.busy)
		}
		med[kind] = measure{median(rates), median(cpus), median(peaks), median(busy)}
		b.ReportMetric(med[kind].rate, kind+"-images/s")
		b.ReportMetric(med[kind].cpuMs, kind+"-CPU-ms/image")
		b.ReportMetric(med[kind].peakMiB, kind+"-peakMiB")
	}
	up, ok := med["upload"]
	if !ok {
		return
	}
	logf("median upload: %.1f images/s, %.2f CPU-ms per image, peak RSS %.0f MiB, machine %.0f%% busy", up.rate, up.cpuMs, up.peakMiB, 100*up.busy)
	for _, r := range runs {
		if r.name == "upload" {
			continue
		}
		m := med[r.name]
		b.ReportMetric(m.rate/up.rate, r.name+"/upload")
		logf("median %s: %.1f images/s: %.3f × the upload's (target >= 0.9); %.2f CPU-ms per image, peak RSS %.0f MiB, machine %.0f%% busy",
			r.name, m.rate, m.rate/up.rate, m.cpuMs, m.peakMiB, 100*m.busy)
	}
}
