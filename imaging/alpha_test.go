package imaging

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/testphotos"
)

// TestTransparency cuts a real photograph out (left half opaque, right half transparent,
// as a product on a removed background) and checks WebP keeps the transparency while
// JPEG, which has none, shows white there.
func TestTransparency(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	photo, err := jpeg.Decode(bytes.NewReader(readFile(t, testphotos.Medium(t))))
	if err != nil {
		t.Fatal(err)
	}
	bounds := photo.Bounds()
	cut := image.NewNRGBA(bounds)
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			c := color.NRGBAModel.Convert(photo.At(x, y)).(color.NRGBA)
			if x >= bounds.Dx()/2 {
				c.A = 0
			}
			cut.SetNRGBA(x, y, c)
		}
	}
	var src bytes.Buffer
	if err := png.Encode(&src, cut); err != nil {
		t.Fatal(err)
	}

	res := b.process(t, src.Bytes(), []Preset{{"p", 400}}, allFormats)
	checkSizes(t, res, []Preset{{"p", 400}})

	webp := decodeVariant(t, variant(t, res, "p", WebP))
	w, h := webp.Bounds().Dx(), webp.Bounds().Dy()
	if _, _, _, a := webp.At(w/4, h/2).RGBA(); a>>8 != 255 {
		t.Errorf("WebP: opaque half has alpha %d", a>>8)
	}
	if _, _, _, a := webp.At(3*w/4, h/2).RGBA(); a>>8 != 0 {
		t.Errorf("WebP: transparent half has alpha %d", a>>8)
	}
	jpg := decodeVariant(t, variant(t, res, "p", JPEG))
	if r, g, bl, _ := jpg.At(3*w/4, h/2).RGBA(); r>>8 < 250 || g>>8 < 250 || bl>>8 < 250 {
		t.Errorf("JPEG: transparent half is %d,%d,%d, want white", r>>8, g>>8, bl>>8)
	}
	// The ThumbHash records the transparency.
	if _, _, _, a, err := thumbHashAverageRGBA(res.ThumbHash); err != nil || a > 0.75 || a < 0.25 {
		t.Errorf("ThumbHash average alpha %.2f (%v), want about 0.5", a, err)
	}
}
