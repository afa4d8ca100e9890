package imagestrip

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/testheif"
)

func TestStripHEIF(t *testing.T) {
	t.Parallel()
	for _, avif := range []bool{false, true} {
		in, _ := testheif.Photo(t, avif)
		name := map[bool]string{false: "photo.heic", true: "photo.avif"}[avif]
		for _, m := range testheif.Markers {
			if !bytes.Contains(in, []byte(m)) {
				t.Fatalf("%s: the input lacks the metadata %q", name, m)
			}
		}
		out := checkStripped(t, name, in)
		for _, m := range testheif.Markers {
			if bytes.Contains(out, []byte(m)) {
				t.Errorf("%s: the output still holds %q", name, m)
			}
		}
		if len(out) >= len(in) {
			t.Errorf("%s: %d bytes stripped, %d before", name, len(out), len(in))
		}
		a, b := heifDecode(t, in), heifDecode(t, out)
		if a.Bounds() != b.Bounds() || !bytes.Equal(pixels(a), pixels(b)) {
			t.Errorf("%s: the stripped image decodes to other pixels", name)
		}
		if info := heifInfo(t, out); bytes.Contains(info, []byte("Exif")) || bytes.Contains(info, []byte("XMP")) {
			t.Errorf("%s: heif-info still sees metadata:\n%s", name, info)
		}
	}
}

// heifDecode decodes a HEIF file with libheif's heif-convert.
func heifDecode(t *testing.T, data []byte) image.Image {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.heif"), filepath.Join(dir, "out.png")
	if err := os.WriteFile(in, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command("heif-convert", in, out).CombinedOutput(); err != nil {
		t.Fatalf("heif-convert: %v\n%s", err, b)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// heifInfo returns what libheif's heif-info says of a HEIF file.
func heifInfo(t *testing.T, data []byte) []byte {
	t.Helper()
	in := filepath.Join(t.TempDir(), "in.heif")
	if err := os.WriteFile(in, data, 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := exec.Command("heif-info", in).CombinedOutput()
	if err != nil {
		t.Fatalf("heif-info: %v\n%s", err, b)
	}
	return b
}

// pixels returns the 8-bit RGBA pixels of img.
func pixels(img image.Image) []byte {
	b := img.Bounds()
	out := make([]byte, 0, 4*b.Dx()*b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			out = append(out, byte(r>>8), byte(g>>8), byte(bl>>8), byte(a>>8))
		}
	}
	return out
}
