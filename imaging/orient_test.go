package imaging

import (
	"bytes"
	"image"
	"image/jpeg"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/testphotos"
)

// rotate90 turns img a quarter turn clockwise, as EXIF orientation 6 asks a viewer to.
func rotate90(img image.Image) image.Image {
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dy(), b.Dx()))
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			out.Set(b.Max.Y-1-y, x-b.Min.X, img.At(x, y))
		}
	}
	return out
}

func TestOrientation6ComesOutUpright(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	photo := readFile(t, testphotos.Medium(t)) // 1680×1050, blue sky on top
	stored, err := jpeg.Decode(bytes.NewReader(photo))
	if err != nil {
		t.Fatal(err)
	}
	upright := rotate90(stored) // 1050×1680, sky on the right
	src := withSegments(t, photo, exifSegment(6, false))

	presets := DefaultPresets()
	res := b.process(t, src, presets, allFormats)
	if res.Width != 1050 || res.Height != 1680 {
		t.Fatalf("upright original is %dx%d, want 1050x1680", res.Width, res.Height)
	}
	checkSizes(t, res, presets)

	want := meanGrid(upright, 6, 10)
	wrongWay := meanGrid(rotate90(rotate90(upright)), 6, 10) // turned the other way
	for _, v := range res.Variants {
		if v.Width >= v.Height {
			t.Errorf("%s %s is %dx%d, want portrait", v.Preset, v.Format, v.Width, v.Height)
		}
		if v.Format == AVIF {
			continue
		}
		got := meanGrid(decodeVariant(t, v), 6, 10)
		d, dWrong := gridDistance(got, want), gridDistance(got, wrongWay)
		// Resizing and lossy coding move block means by a few levels (more for WebP, as
		// x/image/webp converts VP8's limited-range YUV as if it were full-range); a wrong
		// rotation moves them by tens.
		if d > 10 || dWrong < 4*d {
			t.Errorf("%s %s: distance to the upright photo %.1f levels, to it upside down %.1f", v.Preset, v.Format, d, dWrong)
		}
	}
}
