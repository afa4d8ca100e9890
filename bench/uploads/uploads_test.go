// Package uploads benchmarks `vitrine serve` under upload load, as a child process built from
// a tree (BENCH_AFTER_BIN, default ../../bin/vitrine) and, when BENCH_BEFORE_BIN is set, from
// a baseline, measured alike and interleaved:
//
//   - BenchmarkUploadPeakRSS: the peak RSS (VmHWM) of a fresh `vitrine serve` that takes 20
//     concurrent uploads of a 25 MiB file of each accepted format, each to its own product,
//     with VITRINE_WORKERS=0 (uploads alone) and with the default workers (thumbnail jobs too).
//     Target: at most 300 MiB whatever the format.
//   - BenchmarkUploadThroughput: uploads a second of a real photograph (1 MB JPEG) by 8
//     clients for BENCH_SECONDS (default 10), BENCH_ROUNDS rounds (default 3). Target: the
//     median after at least 0.95 × the median before.
//
// The rate limit is lifted (VITRINE_UPLOADS_PER_MINUTE=0) so that it does not interfere.
// Run with `make bench-uploads`, which builds both binaries.
package uploads

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/bench/benchserve"
	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/imageinfo"
	"github.com/vitrine-dev/vitrine/imaging"
	"github.com/vitrine-dev/vitrine/internal/testimages"
	"github.com/vitrine-dev/vitrine/internal/testphotos"
	"github.com/vitrine-dev/vitrine/jwtauth"
	"github.com/vitrine-dev/vitrine/postgres/pgtest"
	"github.com/vitrine-dev/vitrine/upload"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

const (
	fileSize = 25 << 20
	secret   = "a secret of this benchmark only, long enough"
)

// binaries returns the binaries to compare, by label.
func binaries(b *testing.B) [][2]string {
	after := os.Getenv("BENCH_AFTER_BIN")
	if after == "" {
		after = "../../bin/vitrine"
	}
	bins := [][2]string{{"after", after}}
	if before := os.Getenv("BENCH_BEFORE_BIN"); before != "" {
		bins = append([][2]string{{"before", before}}, bins...)
	}
	for _, bin := range bins {
		if _, err := os.Stat(bin[1]); err != nil {
			b.Fatalf("binary %s: %v (run make bench-uploads)", bin[0], err)
		}
	}
	return bins
}

// server is a running `vitrine serve` child, with the requests these benchmarks make of it.
type server struct{ *benchserve.Server }

// startServer starts bin's serve with the uploads' rate limit off and env.
func startServer(b *testing.B, bin string, env ...string) server {
	return server{benchserve.Start(b, bin, secret, append([]string{"VITRINE_UPLOADS_PER_MINUTE=0"}, env...)...)}
}

// supplier mints a supplier's token and creates n products for it.
func (s server) supplier(b *testing.B, n int) (string, []string) {
	id := uuid.New()
	token, err := jwtauth.Mint([]byte(secret), gallery.Caller{Role: gallery.RoleAuthenticated, UserID: id}, "", "", time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	var products []string
	for range n {
		req, _ := http.NewRequest("POST", s.Base+"/v1/products", strings.NewReader(fmt.Sprintf(`{"supplier_id":%q}`, id)))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		var p struct{ ID string }
		json.NewDecoder(resp.Body).Decode(&p)
		resp.Body.Close()
		products = append(products, p.ID)
	}
	return token, products
}

// waitThumbnails waits until no image of the products waits for its thumbnails.
func (s server) waitThumbnails(b *testing.B, token string, products []string) {
	deadline := time.Now().Add(10 * time.Minute)
	for _, p := range products {
		for {
			req, _ := http.NewRequest("GET", s.Base+"/v1/products/"+p+"/images", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var g struct{ Images []struct{ Status string } }
			err = json.NewDecoder(resp.Body).Decode(&g)
			resp.Body.Close()
			if err != nil {
				b.Fatal(err)
			}
			busy := false
			for _, im := range g.Images {
				busy = busy || im.Status == "pending" || im.Status == "processing"
			}
			if !busy {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("thumbnails of product %s not done after 10 minutes", p)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// upload posts file to product and returns the status.
func (s server) upload(token, product string, file []byte) (int, error) {
	var head, tail bytes.Buffer
	mw := multipart.NewWriter(&head)
	mw.CreateFormFile("file", "image")
	mw2 := multipart.NewWriter(&tail)
	mw2.SetBoundary(mw.Boundary())
	mw2.Close()
	req, _ := http.NewRequest("POST", s.Base+"/v1/products/"+product+"/images",
		io.MultiReader(&head, bytes.NewReader(file), &tail))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// files returns a valid 25 MiB file of each accepted format, each from the same real
// photograph (1680×1050): JPEG, PNG, GIF and WebP padded with metadata or trailing bytes
// that the stripper drops, an extended WebP with the largest ICC profile accepted (kept)
// and XMP (dropped), and an extended WebP whose ICC profile chunk fills it (refused).
func files(b *testing.B) map[string][]byte {
	path := testphotos.Medium(b)
	photo, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	img, err := jpeg.Decode(bytes.NewReader(photo))
	if err != nil {
		b.Fatal(err)
	}
	var pngb, gifb bytes.Buffer
	png.Encode(&pngb, img)
	gif.Encode(&gifb, img, nil)
	p, err := imaging.Start(imaging.Config{MaxJobs: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	res, err := p.ProcessFile(context.Background(), path, []imaging.Preset{{Name: "full", LongSide: 1680}}, []imaging.Format{imaging.WebP})
	if err != nil {
		b.Fatal(err)
	}
	webp := res.Variants[0]
	out := map[string][]byte{}
	add := func(name string, f []byte, err error) {
		if err != nil {
			b.Fatalf("%s: %v", name, err)
		}
		if _, err := imageinfo.Scan(bytes.NewReader(f), 1<<30); err != nil || len(f) != fileSize {
			b.Fatalf("%s: %d bytes, %v", name, len(f), err)
		}
		out[name] = f
	}
	f, err := testimages.PaddedJPEG(photo, fileSize)
	add("jpeg", f, err)
	f, err = testimages.PaddedPNG(pngb.Bytes(), fileSize)
	add("png", f, err)
	f, err = testimages.PaddedGIF(gifb.Bytes(), fileSize)
	add("gif", f, err)
	f, err = testimages.PaddedWebP(webp.Data, fileSize)
	add("webp", f, err)
	// The largest profile accepted (upload.MaxProfileBytes), and XMP for the rest.
	f, err = testimages.ExtendedWebPWithXMP(webp.Data, webp.Width, webp.Height, fileSize, fileSize-upload.MaxProfileBytes)
	add("webp-extended", f, err)
	// The hostile file: a profile of nearly 25 MiB, refused (413) since profiles are bounded.
	f, err = testimages.ExtendedWebP(webp.Data, webp.Width, webp.Height, fileSize)
	add("webp-extended-icc25MiB", f, err)
	return out
}

func BenchmarkUploadPeakRSS(b *testing.B) {
	bins := binaries(b)
	all := files(b)
	formats := []string{"jpeg", "png", "gif", "webp", "webp-extended", "webp-extended-icc25MiB"}
	for _, workers := range []string{"0", ""} {
		for _, format := range formats {
			for _, bin := range bins {
				name := fmt.Sprintf("%s/%s/workers=%s", bin[0], format, cmp(workers, "default"))
				b.Run(name, func(b *testing.B) {
					for range b.N {
						env := []string{}
						if workers != "" {
							env = append(env, "VITRINE_WORKERS="+workers)
						}
						s := startServer(b, bin[1], env...)
						token, products := s.supplier(b, 20)
						base := s.PeakRSS(b)
						var wg sync.WaitGroup
						var ok, refused, tooLarge, failed atomic.Int64
						for i := range 20 {
							wg.Go(func() {
								switch st, err := s.upload(token, products[i], all[format]); {
								case err == nil && st == 201:
									ok.Add(1)
								case err == nil && st == 503:
									refused.Add(1)
								case err == nil && st == 413:
									tooLarge.Add(1)
								default:
									failed.Add(1)
								}
							})
						}
						wg.Wait()
						// Let the thumbnail jobs run, if any, before reading the peak.
						if workers == "" {
							s.waitThumbnails(b, token, products)
						}
						peak := s.PeakRSS(b)
						s.Stop()
						b.ReportMetric(float64(peak)/(1<<20), "peakMiB")
						b.ReportMetric(float64(base)/(1<<20), "idleMiB")
						b.ReportMetric(float64(ok.Load()), "stored")
						b.ReportMetric(float64(refused.Load()), "503s")
						b.ReportMetric(float64(tooLarge.Load()), "413s")
						b.ReportMetric(float64(failed.Load()), "failed")
					}
				})
			}
		}
	}
}

func cmp(a, b string) string {
	if a == "" {
		return b
	}
	return a
}

func BenchmarkUploadThroughput(b *testing.B) {
	bins := binaries(b)
	photo, err := os.ReadFile(testphotos.Medium(b))
	if err != nil {
		b.Fatal(err)
	}
	seconds, _ := strconv.Atoi(cmp(os.Getenv("BENCH_SECONDS"), "10"))
	rounds, _ := strconv.Atoi(cmp(os.Getenv("BENCH_ROUNDS"), "3"))
	rates, cpus := map[string][]float64{}, map[string][]float64{}
	for round := range rounds {
		for _, bin := range bins {
			s := startServer(b, bin[1])
			token, products := s.supplier(b, 1)
			var n, bad atomic.Int64
			cpuBefore := s.CPUTime(b)
			end := time.Now().Add(time.Duration(seconds) * time.Second)
			start := time.Now()
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					for time.Now().Before(end) {
						if st, err := s.upload(token, products[0], photo); err == nil && st == 201 {
							n.Add(1)
						} else {
							bad.Add(1)
						}
					}
				})
			}
			wg.Wait()
			rate := float64(n.Load()) / time.Since(start).Seconds()
			cpu := float64((s.CPUTime(b) - cpuBefore).Microseconds()) / 1000 / float64(max(n.Load(), 1))
			s.Stop()
			rates[bin[0]] = append(rates[bin[0]], rate)
			cpus[bin[0]] = append(cpus[bin[0]], cpu)
			b.Logf("round %d %s: %.1f uploads/s, %.2f CPU-ms of the server per upload (%d failed)", round+1, bin[0], rate, cpu, bad.Load())
		}
	}
	median := func(v []float64) float64 {
		v = slices.Clone(v)
		slices.Sort(v)
		return v[len(v)/2]
	}
	for _, bin := range bins {
		b.ReportMetric(median(rates[bin[0]]), bin[0]+"-uploads/s")
		b.ReportMetric(median(cpus[bin[0]]), bin[0]+"-CPU-ms/upload")
		b.Logf("%s: median %.1f uploads/s of %.1f; median %.2f CPU-ms per upload of %.2f", bin[0],
			median(rates[bin[0]]), rates[bin[0]], median(cpus[bin[0]]), cpus[bin[0]])
	}
	if len(bins) == 2 {
		b.Logf("after/before: throughput %.3f (target >= 0.95), CPU per upload %.3f",
			median(rates["after"])/median(rates["before"]), median(cpus["after"])/median(cpus["before"]))
	}
}
