package imaging

import (
	"bytes"
	"context"
	"image/gif"
	"image/png"
	"sync"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/testphotos"
)

// BenchmarkHEICAgainstJPEG is the job of BenchmarkOurs (the four default presets in WebP,
// one job per iteration) on one 12 MP photograph, an iPhone's 4032×3024
// (testphotos.IPhoneJPEG), in each upload type, in the same run: format=jpeg is the
// baseline, format=heic the same photograph as a HEIC, heic-grid as an iPhone stores it
// (512×512 tiles), avif an AVIF, and webp, png and gif the same pixels in those formats
// (a lossy WebP at quality 80, a PNG, a GIF quantised to 256 colours). Compare cpu-ms/op
// (medians over -count runs) and, for the JPEG and the HEIF files, MiB-job, the peak memory
// of one job in a process of its own. Run:
//
//	go test -run '^$' -bench '^BenchmarkHEICAgainstJPEG$' -benchtime 3x -count 5 ./imaging/
func BenchmarkHEICAgainstJPEG(b *testing.B) {
	bundle := setup(b, Config{MaxJobs: 1})
	originals := uploadTypeOriginals(b, bundle)
	for _, tc := range []struct{ name, key string }{
		{"format=jpeg", "jpeg"}, {"format=heic", "heic"}, {"format=heic-grid", "heic-grid"},
		{"format=avif", "avif"}, {"format=webp", "webp"}, {"format=png", "png"}, {"format=gif", "gif"},
	} {
		src := originals[tc.key]
		b.Run(tc.name, func(b *testing.B) {
			loop(b, func() error {
				_, err := bundle.p.Process(context.Background(), src, DefaultPresets(), []Format{WebP})
				return err
			})
			if path := originalPaths[tc.key]; path != nil {
				started, peak := jobPeakRSS(b, path(b), false, "webp")
				b.ReportMetric(float64(peak-started)/1024, "MiB-job")
			}
		})
	}
}

// originalPaths are the originals of BenchmarkHEICAgainstJPEG that are files, whose job's
// peak memory (peak RSS of a fresh process running it, less the process before, as
// BenchmarkPeakRSS measures) it reports too, as MiB-job.
var originalPaths = map[string]func(testing.TB) string{
	"jpeg": testphotos.IPhoneJPEG, "heic": testphotos.HEIC, "heic-grid": testphotos.HEICGrid, "avif": testphotos.AVIF,
}

// uploadTypeOriginals returns testphotos.IPhoneJPEG in every upload type, made once per test
// binary: the HEIF family from testphotos, WebP by Process itself (a 4032-pixel preset),
// PNG and GIF by Go's encoders.
var uploadTypeOriginals = func() func(testing.TB, *testBundle) map[string][]byte {
	var once sync.Once
	var out map[string][]byte
	return func(t testing.TB, bundle *testBundle) map[string][]byte {
		once.Do(func() {
			jpg := readFile(t, testphotos.IPhoneJPEG(t))
			out = map[string][]byte{
				"jpeg":      jpg,
				"heic":      readFile(t, testphotos.HEIC(t)),
				"heic-grid": readFile(t, testphotos.HEICGrid(t)),
				"avif":      readFile(t, testphotos.AVIF(t)),
			}
			full := bundle.process(t, jpg, []Preset{{"full", testphotos.IPhoneWidth}}, []Format{WebP})
			out["webp"] = full.Variants[0].Data
			img := decodeVariant(t, Variant{Preset: "full", Format: JPEG, Data: jpg})
			var p, g bytes.Buffer
			if err := png.Encode(&p, img); err != nil {
				t.Fatal(err)
			}
			if err := gif.Encode(&g, img, nil); err != nil {
				t.Fatal(err)
			}
			out["png"], out["gif"] = p.Bytes(), g.Bytes()
		})
		return out
	}
}()
