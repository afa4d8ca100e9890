package imaging

import (
	"bytes"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/testimages"
)

// heavyOriginals writes originals that cost a job much more memory than their size: a 34-byte
// lossless WebP of 7000×7000 pixels, a 12 MP 16-bit PNG, a 12 MP 8-bit PNG and a 12 MP GIF
// (smooth gradients, so the files are small), and returns their paths by name.
func heavyOriginals(t testing.TB) map[string]string {
	t.Helper()
	dir := t.TempDir()
	const w, h = 4000, 3000
	rgb64 := image.NewNRGBA64(image.Rect(0, 0, w, h))
	rgb := image.NewNRGBA(image.Rect(0, 0, w, h))
	pal := image.NewPaletted(image.Rect(0, 0, w, h), palette256())
	for y := range h {
		for x := range w {
			r, g := uint16(x*65535/w), uint16(y*65535/h)
			rgb64.SetNRGBA64(x, y, color.NRGBA64{r, g, 30000, 65535})
			rgb.SetNRGBA(x, y, color.NRGBA{uint8(r >> 8), uint8(g >> 8), 120, 255})
			pal.SetColorIndex(x, y, uint8((x/16+y/16)%256))
		}
	}
	out := map[string]string{}
	write := func(name string, data []byte) {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		out[name] = path
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, rgb64); err != nil {
		t.Fatal(err)
	}
	write("png16", bytes.Clone(buf.Bytes()))
	buf.Reset()
	if err := png.Encode(&buf, rgb); err != nil {
		t.Fatal(err)
	}
	write("png8", bytes.Clone(buf.Bytes()))
	buf.Reset()
	if err := gif.Encode(&buf, pal, nil); err != nil {
		t.Fatal(err)
	}
	write("gif", bytes.Clone(buf.Bytes()))
	write("webp", testimages.SolidLosslessWebP(7000, 7000, 200, 30, 30))
	return out
}

func palette256() color.Palette {
	p := make(color.Palette, 256)
	for i := range p {
		p[i] = color.RGBA{uint8(i), uint8(255 - i), uint8(i * 7), 255}
	}
	return p
}
