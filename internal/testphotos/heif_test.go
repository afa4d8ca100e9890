package testphotos

import (
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestHEIFPhotographs decodes each HEIF with libheif's own heif-convert and checks what it
// shows: IPhoneJPEG's size, upright, and (for those without a P3 colour space) its pixels
// within compression's error; heif-info checks the structure each one is made to have.
func TestHEIFPhotographs(t *testing.T) {
	t.Parallel()
	want := meanCells(everyFourth(mustDecode(t, IPhoneJPEG(t))))
	for name, tc := range map[string]struct {
		path func(testing.TB) string
		info []string // what heif-info must print
		p3   bool     // the numbers are Display P3, not sRGB
	}{
		"heic":    {HEIC, []string{"image/heic", "4032x3024"}, false},
		"gps":     {HEICWithGPS, []string{"Exif:"}, false},
		"irot":    {HEICRotated, []string{"4032x3024", "Exif:"}, false},
		"p3 icc":  {HEICDisplayP3, []string{"color profile: prof"}, true},
		"p3 nclx": {HEICNclxP3, []string{"color profile: nclx"}, true},
		"grid":    {HEICGrid, []string{"4032x3024"}, false},
		"avif":    {AVIF, []string{"image/avif", "4032x3024"}, false},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := tc.path(t)
			out, err := exec.Command("heif-info", path).CombinedOutput()
			if err != nil {
				t.Fatalf("heif-info: %v\n%s", err, out)
			}
			for _, s := range tc.info {
				if !strings.Contains(string(out), s) {
					t.Errorf("heif-info does not say %q:\n%s", s, out)
				}
			}
			png := filepath.Join(t.TempDir(), "out.png")
			if out, err := exec.Command("heif-convert", path, png).CombinedOutput(); err != nil {
				t.Fatalf("heif-convert: %v\n%s", err, out)
			}
			img := mustDecode(t, png)
			if b := img.Bounds(); b.Dx() != IPhoneWidth || b.Dy() != IPhoneHeight {
				t.Fatalf("decoded %dx%d, want %dx%d", b.Dx(), b.Dy(), IPhoneWidth, IPhoneHeight)
			}
			img = everyFourth(img) // cell means need no more, and the test runs faster
			got := meanCells(img)
			d := gridDifference(got, want)
			// Lossy coding moves 8×6 cell means by about one level; a quarter turn or a
			// misplaced tile moves them by tens. P3 numbers differ from sRGB's by several.
			if tc.p3 {
				if d < 2 {
					t.Errorf("P3 pixels are %.2f levels from the sRGB ones: not converted", d)
				}
				got = meanCells(toSRGBForTest(img))
				d = gridDifference(got, want)
			}
			if d > 3 {
				t.Errorf("cell means are %.2f levels from the JPEG's", d)
			}
		})
	}
}

// toSRGBForTest converts Display P3 pixels back to sRGB (the inverse of toDisplayP3).
func toSRGBForTest(img image.Image) image.Image {
	return linearMatrix(img, [3][3]float64{
		{1.2249401, -0.2249404, 0},
		{-0.0420569, 1.0420571, 0},
		{-0.0196376, -0.0786361, 1.0982735},
	})
}

func TestDisplayP3ProfileIsWellFormed(t *testing.T) {
	t.Parallel()
	p := displayP3Profile()
	if len(p) < 128 || string(p[36:40]) != "acsp" || int(p[0])<<24|int(p[1])<<16|int(p[2])<<8|int(p[3]) != len(p) {
		t.Fatalf("not an ICC profile of its declared size")
	}
}

// everyFourth returns every fourth pixel of every fourth row of img.
func everyFourth(img image.Image) image.Image {
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx()/4, b.Dy()/4))
	for y := range out.Rect.Dy() {
		for x := range out.Rect.Dx() {
			out.Set(x, y, img.At(b.Min.X+4*x, b.Min.Y+4*y))
		}
	}
	return out
}

func mustDecode(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
	return img
}

var _ = png.Decode // registers PNG with image.Decode

// meanCells is the 8×6 MeanGrid of img.
func meanCells(img image.Image) [][3]float64 { return MeanGrid(img, 8, 6) }
