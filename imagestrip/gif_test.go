package imagestrip

import (
	"bytes"
	"image"
	"image/color"
	"image/gif"
	"reflect"
	"strings"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/testimages"
)

// gifExtension returns an extension block with the label and the data in sub-blocks. An
// application extension's identifier is passed as the first element of data.
func gifExtension(label byte, data ...[]byte) []byte {
	b := []byte{0x21, label}
	for _, d := range data {
		for len(d) > 0 {
			n := min(len(d), 255)
			b = append(b, byte(n))
			b = append(b, d[:n]...)
			d = d[n:]
		}
	}
	return append(b, 0)
}

// animatedGIF returns a three-frame animation made by Go's encoder, which writes a
// NETSCAPE2.0 extension for the loop count.
func animatedGIF(t *testing.T) []byte {
	t.Helper()
	a := &gif.GIF{LoopCount: 3}
	for i := range 3 {
		p := image.NewPaletted(image.Rect(0, 0, 23, 11), color.Palette{color.Black, color.White, color.RGBA{200, 0, 0, 255}})
		for y := range 11 {
			for x := range 23 {
				p.SetColorIndex(x, y, uint8((x+y+i)%3))
			}
		}
		a.Image, a.Delay = append(a.Image, p), append(a.Delay, 10*(i+1))
	}
	a.Config = image.Config{ColorModel: a.Image[0].Palette, Width: 23, Height: 11}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, a); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func decodeGIF(t *testing.T, name string, b []byte) *gif.GIF {
	t.Helper()
	g, err := gif.DecodeAll(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: gif.DecodeAll: %v", name, err)
	}
	return g
}

func TestGIFMetadataIsStripped(t *testing.T) {
	t.Parallel()
	base := animatedGIF(t)
	if !bytes.Contains(base, []byte("NETSCAPE2.0")) {
		t.Fatal("Go's encoder wrote no NETSCAPE2.0 extension")
	}
	screenEnd := 13 + int(gifTableSize(base[10]))
	firstFrame := bytes.Index(base[screenEnd:], []byte{0x21, 0xf9}) + screenEnd // its graphic control

	icc := gifExtension(0xff, []byte("ICCRGBG1012"), []byte(strings.Repeat("icc profile ", 30)))
	dropped := [][]byte{
		gifExtension(0xfe, []byte("a comment")),
		gifExtension(0xff, []byte("XMP DataXMP"), []byte(xmpPacket)),
		gifExtension(0xff, []byte("MGK8BIM0000"), []byte("Photoshop 3.0\x008BIM")),
	}
	var in []byte
	in = append(in, base[:screenEnd]...)
	in = append(in, dropped[0]...)
	in = append(in, icc...)
	in = append(in, dropped[1]...)
	in = append(in, base[screenEnd:firstFrame]...)
	in = append(in, dropped[2]...)
	in = append(in, base[firstFrame:]...)
	in = append(in, junk...)

	want := append(append(bytes.Clone(base[:screenEnd]), icc...), base[screenEnd:]...)
	out := checkStripped(t, "anim.gif", in)
	if !bytes.Equal(out, want) {
		t.Fatalf("got\n%q\nwant\n%q", head(out), head(want))
	}
	checkNoLeaks(t, "anim.gif", out)
	a, b := decodeGIF(t, "in", in), decodeGIF(t, "out", out)
	if len(b.Image) != 3 || b.LoopCount != 3 || !reflect.DeepEqual(a, b) {
		t.Errorf("stripped GIF decodes differently: %d frames, loop count %d", len(b.Image), b.LoopCount)
	}
}

// TestGIFGoTestImages strips Go's GIF test images; one has a comment.
func TestGIFGoTestImages(t *testing.T) {
	t.Parallel()
	files := testimages.GoRootFiles(t, "image/testdata/*.gif")
	for _, name := range testimages.SortedNames(files) {
		in := files[name]
		out := checkStripped(t, name, in)
		if hasComment := bytes.Contains(in, []byte{0x21, 0xfe}); !hasComment && !bytes.Equal(out, in) {
			t.Errorf("%s: a GIF without metadata changed", name)
		}
		if len(out) > len(in) {
			t.Errorf("%s: output is larger than input", name)
		}
		if a, b := decodeGIF(t, name, in), decodeGIF(t, name+" stripped", out); !reflect.DeepEqual(a, b) {
			t.Errorf("%s: stripped GIF decodes differently", name)
		}
	}
}

func TestGIFCorrupt(t *testing.T) {
	t.Parallel()
	base := animatedGIF(t)
	for name, in := range map[string][]byte{
		"truncated":     base[:len(base)/2],
		"no trailer":    base[:len(base)-1],
		"unknown block": append(bytes.Clone(base[:len(base)-1]), 0x99, 0x3b),
		"screen only":   base[:13],
	} {
		_, err := stripChunked(in, 10)
		checkErr(t, name, err, ErrCorrupt)
	}
}
