package jobs_test

import (
	"os"
	"slices"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/internal/testphotos"
)

// BenchmarkUploadToReady measures, with idle workers, the time from an upload's response (its
// transaction committed) to its thumbnails being recorded, and the queue's share of it: the
// pick-up delay from the commit to a worker starting the job (River's attempted_at). Each
// iteration uploads a real photograph to a new product and waits for it. Run it with
// -benchtime=Nx; it reports medians and 99th percentiles.
func BenchmarkUploadToReady(b *testing.B) {
	for _, c := range []struct {
		name string
		path func(testing.TB) string
	}{{"medium", testphotos.Medium}, {"large", testphotos.Large}} {
		b.Run(c.name, func(b *testing.B) {
			bu := setup(b, gallery.ThumbnailsForMain)
			data, err := os.ReadFile(c.path(b))
			if err != nil {
				b.Fatal(err)
			}
			bu.start(b)
			ctx := serviceCtx
			var total, pickup []float64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				im := bu.upload(b, bu.product(b), data)
				responded := time.Now()
				for {
					var attempted, recorded *time.Time
					err := bu.db.Pool().QueryRow(ctx, `SELECT j.attempted_at,
							CASE WHEN i.thumbnail_url IS NOT NULL THEN i.updated_at END
						FROM product_images i JOIN river_job j ON j.args @> jsonb_build_object('image_id', i.id)
						WHERE i.id = $1`, im.ID).Scan(&attempted, &recorded)
					if err != nil {
						b.Fatal(err)
					}
					if recorded != nil {
						total = append(total, float64(recorded.Sub(responded).Microseconds())/1000)
						pickup = append(pickup, float64(attempted.Sub(responded).Microseconds())/1000)
						break
					}
					time.Sleep(2 * time.Millisecond)
				}
			}
			b.StopTimer()
			b.ReportMetric(percentile(total, 50), "ready-p50-ms")
			b.ReportMetric(percentile(total, 99), "ready-p99-ms")
			b.ReportMetric(percentile(pickup, 50), "pickup-p50-ms")
			b.ReportMetric(percentile(pickup, 99), "pickup-p99-ms")
		})
	}
}

func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p / 100)
	return s[i]
}
