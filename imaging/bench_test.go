package imaging

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/image/draw"

	"github.com/vitrine-dev/vitrine/internal/testphotos"
)

// The benchmarks of the performance targets: the four default presets in WebP from a
// 14.7 MP photograph (testphotos.Large), one job per iteration. Run them on one core:
//
//	go test -c -o imaging.test ./imaging
//	taskset -c 0 ./imaging.test -test.run='^$' -test.bench=. -test.benchtime=5x -test.count=5 -test.cpu=1
//
// libvips runs with Concurrency 1 (the default) and no operation cache. Besides wall time,
// each benchmark reports cpu-ms/op, the CPU time of the whole process (Go and libvips
// threads) per job, which other load on the machine barely disturbs.

func benchSetup(b *testing.B) (*testBundle, []byte) {
	b.Helper()
	bundle := setup(b, Config{MaxJobs: 1})
	return bundle, readFile(b, testphotos.Large(b))
}

// warmup is how many untimed jobs run first: a worker process runs job after job, and
// the first few are slower while glibc's malloc raises its mmap threshold and the heap
// grows to the job's size, so that later jobs reuse memory instead of faulting in pages.
const warmup = 3

// loop runs job warmup times, then b.N times timed, and reports the process's CPU time
// per timed job.
func loop(b *testing.B, job func() error) {
	b.Helper()
	for range warmup {
		if err := job(); err != nil {
			b.Fatal(err)
		}
	}
	start := cpuTime(b)
	for b.Loop() {
		if err := job(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime(b)-start).Milliseconds())/float64(b.N), "cpu-ms/op")
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkOurs is Process: one decode with shrink-on-load, every preset from it, plus
// the ThumbHash and dominant colour.
func BenchmarkOurs(b *testing.B) {
	bundle, src := benchSetup(b)
	loop(b, func() error {
		_, err := bundle.p.Process(context.Background(), src, DefaultPresets(), []Format{WebP})
		return err
	})
}

// BenchmarkNaiveThumbnailPerPreset calls libvips' thumbnail once per preset, decoding the
// original four times, with the same WebP settings.
func BenchmarkNaiveThumbnailPerPreset(b *testing.B) {
	_, src := benchSetup(b)
	loop(b, func() error {
		_, err := naiveThumbnails(src, DefaultPresets(), defaultTuning)
		return err
	})
}

// BenchmarkPureGo decodes with image/jpeg once and scales to each preset with
// x/image/draw's CatmullRom. Go has no WebP encoder, so it writes JPEG (quality 82) with
// image/jpeg, which is several times faster than WebP encoding: the comparison favours it.
// It also skips what Process does besides (orientation, colour management, placeholders).
func BenchmarkPureGo(b *testing.B) {
	_, src := benchSetup(b)
	loop(b, func() error { return pureGoThumbnails(src) })
}

// pureGoThumbnails is BenchmarkPureGo's job: every default preset from src with the
// standard library and x/image only.
func pureGoThumbnails(src []byte) error {
	img, err := jpeg.Decode(bytes.NewReader(src))
	if err != nil {
		return err
	}
	sb := img.Bounds()
	for _, p := range DefaultPresets() {
		w, h := fitLongSide(sb.Dx(), sb.Dy(), p.LongSide)
		dst := image.NewRGBA(image.Rect(0, 0, w, h))
		draw.CatmullRom.Scale(dst, dst.Bounds(), img, sb, draw.Src, nil)
		var out bytes.Buffer
		if err := jpeg.Encode(&out, dst, &jpeg.Options{Quality: jpegQuality}); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkDesigns measures alternatives to Process's choices on the same job, and the
// naive baseline with the same encoder settings as each.
func BenchmarkDesigns(b *testing.B) {
	bundle, src := benchSetup(b)
	ours := func(tune tuning, formats []Format, src []byte) func(*testing.B) {
		return func(b *testing.B) {
			p := bundle.p
			saved := p.tune
			p.tune = tune
			defer func() { p.tune = saved }()
			loop(b, func() error {
				_, err := p.Process(context.Background(), src, DefaultPresets(), formats)
				return err
			})
		}
	}
	baseline := func(design func([]byte, []Preset, tuning) ([][]byte, error), tune tuning, src []byte) func(*testing.B) {
		return func(b *testing.B) {
			loop(b, func() error {
				_, err := design(src, DefaultPresets(), tune)
				return err
			})
		}
	}
	webp := []Format{WebP}
	with := func(change func(*tuning)) tuning {
		t := defaultTuning
		change(&t)
		return t
	}
	for _, effort := range []int{4, 3, 2, 0} {
		tune := with(func(t *tuning) { t.webpEffort = effort })
		name := fmt.Sprintf("webp-effort=%d", effort)
		b.Run("ours/"+name, ours(tune, webp, src))
		b.Run("naive/"+name, baseline(naiveThumbnails, tune, src))
		b.Run("thumbnail-then-resize/"+name, baseline(thumbnailThenResize, tune, src))
	}
	b.Run("ours/shrink=thumbnail-margin", ours(with(func(t *tuning) { t.shrinkMargin = true }), webp, src))
	b.Run("ours/each-preset-from-base", ours(with(func(t *tuning) { t.cascade = false }), webp, src))
	b.Run("ours/kernel=cubic", ours(with(func(t *tuning) { t.kernel = kernelCubic }), webp, src))
	b.Run("ours/kernel=linear", ours(with(func(t *tuning) { t.kernel = kernelLinear }), webp, src))
	b.Run("ours/file", func(b *testing.B) {
		path := testphotos.Large(b)
		loop(b, func() error {
			_, err := bundle.p.ProcessFile(context.Background(), path, DefaultPresets(), webp)
			return err
		})
	})
	b.Run("ours/jpeg-output", ours(defaultTuning, []Format{JPEG}, src))
	b.Run("ours/all-formats", ours(defaultTuning, allFormats, src))
	progressive := readFile(b, testphotos.LargeOriginal(b))
	b.Run("ours/progressive-17.9MP", ours(defaultTuning, webp, progressive))
	b.Run("naive/progressive-17.9MP", baseline(naiveThumbnails, defaultTuning, progressive))
}

// BenchmarkThumbnailSizes runs the job of BenchmarkOurs, BenchmarkNaiveThumbnailPerPreset
// and BenchmarkPureGo on the same photograph at several sizes, for the CPU time against
// image size chart of docs/BENCHMARKS.md (`make bench`). Sub-benchmarks are named
// size=<megapixels>MP/impl=<ours|naive|purego>.
func BenchmarkThumbnailSizes(b *testing.B) {
	bundle := setup(b, Config{MaxJobs: 1})
	photos, err := photoSizes(readFile(b, testphotos.Large(b)))
	if err != nil {
		b.Fatal(err)
	}
	for _, ph := range photos {
		b.Run("size="+ph.name+"/impl=ours", func(b *testing.B) {
			loop(b, func() error {
				_, err := bundle.p.Process(context.Background(), ph.jpeg, DefaultPresets(), []Format{WebP})
				return err
			})
		})
		b.Run("size="+ph.name+"/impl=naive", func(b *testing.B) {
			loop(b, func() error {
				_, err := naiveThumbnails(ph.jpeg, DefaultPresets(), defaultTuning)
				return err
			})
		})
		b.Run("size="+ph.name+"/impl=purego", func(b *testing.B) {
			loop(b, func() error { return pureGoThumbnails(ph.jpeg) })
		})
	}
}

type sizedPhoto struct {
	name string
	jpeg []byte
}

// photoSizes returns large (testphotos.Large, 5120×2880) scaled down to 1280×720,
// 2560×1440 and 3840×2160 (the same scene, re-encoded as Large is: baseline JPEG, quality
// 92, 4:2:0), and large itself. It is computed once per test binary: -count runs the
// benchmark again.
var photoSizes = func() func([]byte) ([]sizedPhoto, error) {
	var once sync.Once
	var photos []sizedPhoto
	var err error
	return func(large []byte) ([]sizedPhoto, error) {
		once.Do(func() {
			var img image.Image
			if img, err = jpeg.Decode(bytes.NewReader(large)); err != nil {
				return
			}
			for _, w := range []int{1280, 2560, 3840} {
				h := w * img.Bounds().Dy() / img.Bounds().Dx()
				dst := image.NewRGBA(image.Rect(0, 0, w, h))
				draw.CatmullRom.Scale(dst, dst.Bounds(), img, img.Bounds(), draw.Src, nil)
				var buf bytes.Buffer
				if err = jpeg.Encode(&buf, dst, &jpeg.Options{Quality: 92}); err != nil {
					return
				}
				photos = append(photos, sizedPhoto{fmt.Sprintf("%.1fMP", float64(w*h)/1e6), buf.Bytes()})
			}
			b := img.Bounds()
			photos = append(photos, sizedPhoto{fmt.Sprintf("%.1fMP", float64(b.Dx()*b.Dy())/1e6), large})
		})
		return photos, err
	}
}()
