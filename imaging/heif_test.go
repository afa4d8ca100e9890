package imaging

import (
	"context"
	"errors"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/testphotos"
)

// TestHEIFVariantsMatchTheJPEGs makes every preset from each HEIF, HEIC and AVIF photograph
// of testphotos and from the same photograph as a JPEG, and compares them: same size,
// upright, same colours in sRGB.
func TestHEIFVariantsMatchTheJPEGs(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	presets := DefaultPresets()
	want := b.process(t, readFile(t, testphotos.IPhoneJPEG(t)), presets, []Format{WebP})
	for name, path := range map[string]func(testing.TB) string{
		"heic":              testphotos.HEIC,
		"heic with gps":     testphotos.HEICWithGPS,
		"irot and exif":     testphotos.HEICRotated,
		"display p3 icc":    testphotos.HEICDisplayP3,
		"display p3 nclx":   testphotos.HEICNclxP3,
		"grid of 512 tiles": testphotos.HEICGrid,
		"avif":              testphotos.AVIF,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			res := b.process(t, readFile(t, path(t)), presets, []Format{WebP})
			if res.Width != testphotos.IPhoneWidth || res.Height != testphotos.IPhoneHeight {
				t.Fatalf("original is %dx%d upright, want %dx%d", res.Width, res.Height, testphotos.IPhoneWidth, testphotos.IPhoneHeight)
			}
			checkSizes(t, res, presets)
			for _, p := range presets {
				got, ref := decodeVariant(t, variant(t, res, p.Name, WebP)), decodeVariant(t, variant(t, want, p.Name, WebP))
				d, ok := testphotos.CellDifference(got, ref)
				if !ok {
					t.Fatalf("%s: %v, the JPEG's is %v", p.Name, got.Bounds(), ref.Bounds())
				}
				t.Logf("%s: %.2f levels from the JPEG's", p.Name, d)
				if d > testphotos.MaxCellDifference {
					t.Errorf("%s is %.2f levels from the JPEG's, over %.1f", p.Name, d, testphotos.MaxCellDifference)
				}
			}
		})
	}
}

// TestHEIFGuards checks that the guards of the other loaders hold for HEIF: the pixel limit
// is read from the header (the grid's size for a grid, before any tile is decoded), and the
// memory estimate covers libheif's whole-image decode (BenchmarkPeakRSS measured 116 MiB
// for the 12 MP HEIC, 106 for the AVIF, 82 for the grid).
func TestHEIFGuards(t *testing.T) {
	t.Parallel()
	small := setup(t, Config{MaxPixels: testphotos.IPhoneWidth*testphotos.IPhoneHeight - 1})
	for name, path := range map[string]func(testing.TB) string{
		"heic": testphotos.HEIC, "grid": testphotos.HEICGrid, "avif": testphotos.AVIF,
	} {
		_, err := small.p.Process(context.Background(), readFile(t, path(t)), DefaultPresets(), []Format{WebP})
		if !errors.Is(err, ErrTooLarge) || !errors.Is(err, ErrUndecodable) {
			t.Errorf("%s over the pixel limit: %v, want ErrTooLarge and ErrUndecodable", name, err)
		}
		hdr, err := source{path: path(t)}.readHeader()
		if err != nil {
			t.Fatal(err)
		}
		if est := hdr.memoryEstimate(); est < 116<<20 {
			t.Errorf("%s: memory estimate %d MiB, under the 116 MiB measured for a 12 MP HEIC", name, est>>20)
		}
	}
}
