package adopt_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/postgres/adopt"
	"github.com/vitrine-dev/vitrine/postgres/pgtest"
)

// BenchmarkAdopt adopts a generated legacy database of ADOPT_BENCH_IMAGES images (default
// 1,000,000; see bench/adopt) while 4 writers append images through the gallery's own write
// path from the moment Vitrine may serve (the normalization) to the end. It reports the total
// time, how long the maintenance flag was set, the longest time a writer saw its writes
// refused (first refusal to the next success), and the slowest write that succeeded.
func BenchmarkAdopt(b *testing.B) {
	n := 1_000_000
	if s := os.Getenv("ADOPT_BENCH_IMAGES"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		b.StopTimer()
		url := pgtest.NewLegacyDB(b, n)
		db := openURL(b, url)
		var products []uuid.UUID
		if err := db.Pool().QueryRow(context.Background(), `SELECT array_agg(id) FROM products`).Scan(&products); err != nil {
			b.Fatal(err)
		}
		var (
			stop       = make(chan struct{})
			wg         sync.WaitGroup
			mu         sync.Mutex
			refusedFor time.Duration
			slowest    time.Duration
			writes     int
			refusals   int
		)
		writer := func(w int) {
			defer wg.Done()
			ctx := gallery.WithCaller(context.Background(), gallery.Service())
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			var firstRefusal time.Time
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				t0 := time.Now()
				_, err := db.AppendImage(ctx, newImage(products[rng.IntN(len(products))], w*1_000_000_000+i), nil)
				took := time.Since(t0)
				mu.Lock()
				switch {
				case gallery.ErrorCode(err) == gallery.EUNAVAILABLE:
					refusals++
					if firstRefusal.IsZero() {
						firstRefusal = t0
					}
				case err != nil:
					mu.Unlock()
					b.Error(err)
					return
				default:
					writes++
					slowest = max(slowest, took)
					if !firstRefusal.IsZero() {
						refusedFor = max(refusedFor, time.Since(firstRefusal))
						firstRefusal = time.Time{}
					}
				}
				mu.Unlock()
				if err != nil {
					time.Sleep(50 * time.Millisecond) // as a client honouring Retry-After would, sooner
				}
			}
		}
		opts := adoptOptions()
		opts.Logger = testLogger()
		opts.BeforeStep = func(ctx context.Context, step string) error {
			if step == "normalize" {
				for w := range 4 {
					wg.Add(1)
					go writer(w)
				}
			}
			return nil
		}
		b.StartTimer()
		res, err := adopt.Run(context.Background(), db, opts)
		b.StopTimer()
		close(stop)
		wg.Wait()
		if err != nil {
			b.Fatal(err)
		}
		assertGalleryInvariants(b, db, false)
		b.ReportMetric(res.Total.Seconds(), "total-s")
		b.ReportMetric(res.WritesPaused.Seconds(), "flag-s")
		b.ReportMetric(refusedFor.Seconds(), "refused-s")
		b.ReportMetric(slowest.Seconds(), "slowest-write-s")
		b.ReportMetric(float64(writes), "writes")
		b.ReportMetric(float64(refusals), "refusals")
		for _, s := range res.Steps {
			b.Logf("step %-13s %8.3fs %v", s.Name, s.Seconds, s.Detail)
		}
		b.StartTimer()
	}
}

var _ = adopt.Options{}

// newImage is an image row of product n whose key and hash derive from n.
func newImage(productID uuid.UUID, n int) gallery.NewImage {
	sum := fmt.Sprintf("%064x", n)
	return gallery.NewImage{
		ProductID: productID, URL: "/objects/" + sum, StoragePath: "originals/" + sum,
		SHA256: sum, Bytes: 100, Width: 10, Height: 10, MediaType: "image/png",
	}
}
