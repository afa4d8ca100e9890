package upload_test

import (
	"bytes"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"testing"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/internal/testimages"
	"github.com/vitrine-dev/vitrine/internal/testphotos"
)

// densityDefaults are the serve command's defaults: 1000 pixels a byte above 4 MP.
func densitySetup(t *testing.T) *bundle {
	b := setup(t, false)
	b.svc.MaxBytes, b.svc.MaxPixels = 25<<20, 50_000_000
	b.svc.MaxPixelsPerByte, b.svc.DensityFrom = 1000, 4_000_000
	return b
}

// TestTinyFileOfHugeImageIsRefused uploads a 34-byte lossless WebP declaring 7000×7000
// pixels (and a 16 MP one just past the ratio): too_many_pixels, and nothing is stored.
func TestTinyFileOfHugeImageIsRefused(t *testing.T) {
	t.Parallel()
	b := densitySetup(t)
	for _, data := range [][]byte{
		testimages.SolidLosslessWebP(7000, 7000, 200, 30, 30),
		testimages.SolidLosslessWebP(4000, 4000, 200, 30, 30),
	} {
		_, err := b.svc.Receive(t.Context(), bytes.NewReader(data))
		if gallery.ErrorCode(err) != gallery.EPIXELS {
			t.Fatalf("a %d-byte image of millions of pixels: %v, want too_many_pixels", len(data), err)
		}
	}
	if files := storedFiles(t, b.dir); len(files) != 0 {
		t.Fatalf("files left behind: %v", files)
	}
	// Below the size the ratio applies from, a tiny file is fine (a small icon).
	if _, err := b.svc.Receive(t.Context(), bytes.NewReader(testimages.SolidLosslessWebP(2000, 2000, 1, 2, 3))); err != nil {
		t.Fatalf("a 4 MP solid image: %v", err)
	}
}

// TestDensityCheckPassesPhotosAndFlatShots: real photographs (the 17.9 MP progressive JPEG
// and its 14.7 MP crop) and a flat synthetic product shot of 12 MP (white background,
// a flat red product) in 24-bit PNG at the best compression, JPEG and GIF all pass.
func TestDensityCheckPassesPhotosAndFlatShots(t *testing.T) {
	t.Parallel()
	b := densitySetup(t)
	inputs := map[string][]byte{}
	for name, path := range map[string]string{"17.9MP progressive JPEG": testphotos.LargeOriginal(t), "14.7MP JPEG": testphotos.Large(t)} {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		inputs[name] = data
	}
	for _, size := range [][2]int{{4000, 3000}} {
		im := flatShot(size[0], size[1])
		var p, j, g bytes.Buffer
		if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&p, im); err != nil {
			t.Fatal(err)
		}
		if err := jpeg.Encode(&j, im, &jpeg.Options{Quality: 50}); err != nil {
			t.Fatal(err)
		}
		if err := gif.Encode(&g, im, &gif.Options{NumColors: 2}); err != nil {
			t.Fatal(err)
		}
		inputs["flat PNG "+sizeName(size)] = p.Bytes()
		inputs["flat JPEG "+sizeName(size)] = j.Bytes()
		inputs["flat GIF "+sizeName(size)] = g.Bytes()
	}
	for name, data := range inputs {
		rec, err := b.svc.Receive(t.Context(), bytes.NewReader(data))
		if err != nil {
			t.Errorf("%s (%d bytes): %v", name, len(data), err)
			continue
		}
		rec.Discard()
	}
}

func sizeName(s [2]int) string {
	return string(rune('0'+s[0]/1000)) + "000x" + string(rune('0'+s[1]/1000)) + "000"
}

// flatShot is a synthetic product shot: white, with a flat red rectangle in the middle.
func flatShot(w, h int) *image.RGBA {
	im := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{255, 255, 255, 255}
			if x > w/4 && x < 3*w/4 && y > h/4 && y < 3*h/4 {
				c = color.RGBA{200, 30, 30, 255}
			}
			im.SetRGBA(x, y, c)
		}
	}
	return im
}
