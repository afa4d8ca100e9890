package imagestrip

import (
	"bytes"
	"errors"
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
	heic, _ := testheif.Photo(t, false)
	avif, _ := testheif.Photo(t, true)
	// small.heic is a grid of one tile whose data lies in the meta box's idat.
	for name, in := range map[string][]byte{"photo.heic": heic, "photo.avif": avif, "small.heic": testheif.Small(t, false)} {
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

// TestStripHEIFBroken checks that broken HEIF files are refused with a sentinel error, or
// come out with none of their metadata where the stripper need not look as far as
// imageinfo.Scan, which refuses them all.
func TestStripHEIFBroken(t *testing.T) {
	t.Parallel()
	heic, _ := testheif.Photo(t, false)
	broken := testheif.Broken(t, heic)
	for name, data := range testheif.Broken(t, testheif.Small(t, false)) {
		broken["small.heic "+name] = data
	}
	for name, data := range broken {
		out, err := stripChunked(data, 1000)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		for _, m := range testheif.Markers {
			if bytes.Contains(out, []byte(m)) {
				t.Errorf("%s: accepted, and the output holds %q", name, m)
			}
		}
	}
}
