package imageinfo

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/testimages"
)

// sample is a valid image with its expected Info.
type sample struct {
	name      string
	data      []byte
	mediaType string
	w, h      int
}

// noLimit is a pixel limit that no test image reaches.
const noLimit = 1 << 40

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// followedBy returns a reader of data followed by n zero bytes.
func followedBy(data []byte, n int) *countingReader {
	return &countingReader{r: io.MultiReader(bytes.NewReader(data), bytes.NewReader(make([]byte, n)))}
}

// checkErr fails the test unless err wraps target.
func checkErr(t testing.TB, name string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got error %v, want one wrapping %q", name, err, target)
	}
}

// encodedSamples returns images made with Go's PNG, JPEG and GIF encoders.
func encodedSamples(t testing.TB) []sample {
	t.Helper()
	var out []sample
	add := func(name, mediaType string, w, h int, encode func(io.Writer) error) {
		var buf bytes.Buffer
		if err := encode(&buf); err != nil {
			t.Fatalf("encoding %s: %v", name, err)
		}
		out = append(out, sample{name, buf.Bytes(), mediaType, w, h})
	}
	for _, sz := range [][2]int{{1, 1}, {3, 2}, {17, 9}, {64, 33}} {
		w, h := sz[0], sz[1]
		img := testimages.Pattern(w, h)
		gray := image.NewGray(img.Bounds())
		gray16 := image.NewGray16(img.Bounds())
		rgba64 := image.NewRGBA64(img.Bounds())
		pal := image.NewPaletted(img.Bounds(), color.Palette{color.Black, color.White, color.Opaque})
		for y := range h {
			for x := range w {
				gray.Set(x, y, img.At(x, y))
				gray16.Set(x, y, img.At(x, y))
				rgba64.Set(x, y, img.At(x, y))
				pal.SetColorIndex(x, y, uint8((x+y)%3))
			}
		}
		name := func(kind string) string { return kind + "-" + strconv.Itoa(w) + "x" + strconv.Itoa(h) }
		for kind, m := range map[string]image.Image{"nrgba": img, "gray": gray, "gray16": gray16, "rgba64": rgba64, "paletted": pal} {
			add(name(kind)+".png", "image/png", w, h, func(wr io.Writer) error { return png.Encode(wr, m) })
		}
		add(name("nocompress")+".png", "image/png", w, h, func(wr io.Writer) error {
			return (&png.Encoder{CompressionLevel: png.NoCompression}).Encode(wr, img)
		})
		for _, q := range []int{1, 75, 100} {
			add(name("q"+strconv.Itoa(q))+".jpeg", "image/jpeg", w, h, func(wr io.Writer) error {
				return jpeg.Encode(wr, img, &jpeg.Options{Quality: q})
			})
		}
		add(name("gray")+".jpeg", "image/jpeg", w, h, func(wr io.Writer) error { return jpeg.Encode(wr, gray, nil) })
		add(name("still")+".gif", "image/gif", w, h, func(wr io.Writer) error { return gif.Encode(wr, img, nil) })
		add(name("anim")+".gif", "image/gif", w, h, func(wr io.Writer) error {
			a := &gif.GIF{}
			for i := range 3 {
				p := image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{color.Black, color.White})
				for y := range h {
					for x := range w {
						p.SetColorIndex(x, y, uint8((x+y+i)%2))
					}
				}
				a.Image, a.Delay = append(a.Image, p), append(a.Delay, 10)
			}
			return gif.EncodeAll(wr, a)
		})
	}
	return out
}

// gorootSamples returns the valid images in Go's image test data, with the
// dimensions that image.DecodeConfig reports.
func gorootSamples(t testing.TB) []sample {
	t.Helper()
	var out []sample
	for _, pat := range []string{"image/testdata/*", "image/png/testdata/*.png", "image/png/testdata/pngsuite/*.png"} {
		files := testimages.GoRootFiles(t, pat)
		for _, name := range testimages.SortedNames(files) {
			data := files[name]
			if strings.HasPrefix(name, "x") || strings.HasPrefix(name, "invalid-") ||
				name == "video-001.progressive.truncated.jpeg" {
				continue // corrupt on purpose; see the corruption tests
			}
			cfg, kind, err := image.DecodeConfig(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("%s: image.DecodeConfig: %v", name, err)
			}
			out = append(out, sample{name, data, "image/" + kind, cfg.Width, cfg.Height})
		}
	}
	return out
}

// allSamples returns every valid test image.
func allSamples(t testing.TB) []sample {
	t.Helper()
	s := encodedSamples(t)
	s = append(s, gorootSamples(t)...)
	return append(s, webpSamples(t)...)
}
