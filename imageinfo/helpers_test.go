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
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
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

var (
	gorootOnce sync.Once
	gorootDir  string
)

// goroot returns the Go installation's root, as `go env GOROOT` reports it,
// and skips the test if it cannot be found.
func goroot(t testing.TB) string {
	t.Helper()
	gorootOnce.Do(func() {
		out, err := exec.Command("go", "env", "GOROOT").Output()
		if err == nil {
			gorootDir = strings.TrimSpace(string(out))
		}
	})
	if gorootDir == "" {
		t.Skip("cannot locate GOROOT with `go env GOROOT`")
	}
	return gorootDir
}

// gorootFiles returns the files matching pattern under GOROOT/src, by base
// name, and fails the test if there are none.
func gorootFiles(t testing.TB, pattern string) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(goroot(t), "src", pattern))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatalf("no files match GOROOT/src/%s", pattern)
	}
	files := make(map[string][]byte, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Base(p)] = b
	}
	return files
}

// sortedNames returns the keys of files in order.
func sortedNames(files map[string][]byte) []string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// checkErr fails the test unless err wraps target.
func checkErr(t testing.TB, name string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got error %v, want one wrapping %q", name, err, target)
	}
}

// pattern returns a w×h image with varied colours and alpha.
func pattern(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{uint8(x * 7), uint8(y * 13), uint8(x*y + 3), uint8(255 - (x+y)%64)})
		}
	}
	return img
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
		img := pattern(w, h)
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
		files := gorootFiles(t, pat)
		for _, name := range sortedNames(files) {
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
