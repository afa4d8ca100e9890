package testheif

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Decode decodes a HEIF file with libheif's heif-convert, as a check independent of libvips.
func Decode(t testing.TB, data []byte) image.Image {
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

// Info returns what libheif's heif-info says of a HEIF file.
func Info(t testing.TB, data []byte) string {
	t.Helper()
	in := filepath.Join(t.TempDir(), "in.heif")
	if err := os.WriteFile(in, data, 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := exec.Command("heif-info", in).CombinedOutput()
	if err != nil {
		t.Fatalf("heif-info: %v\n%s", err, b)
	}
	return string(b)
}

// SamePixels reports whether two images have the same bounds and the same 16-bit RGBA
// pixels.
func SamePixels(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	return bytes.Equal(rgba(a), rgba(b))
}

func rgba(img image.Image) []byte {
	r := img.Bounds()
	out := make([]byte, 0, 8*r.Dx()*r.Dy())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, ca := img.At(x, y).RGBA()
			out = append(out, byte(cr>>8), byte(cr), byte(cg>>8), byte(cg), byte(cb>>8), byte(cb), byte(ca>>8), byte(ca))
		}
	}
	return out
}

// HasMetadata reports whether heif-info lists EXIF or XMP metadata in a HEIF file.
func HasMetadata(t testing.TB, data []byte) bool {
	t.Helper()
	info := Info(t, data)
	return bytes.Contains([]byte(info), []byte("Exif")) || bytes.Contains([]byte(info), []byte("XMP"))
}
