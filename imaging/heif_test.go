package imaging

import (
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
