package imaging

import (
	"bytes"
	"context"
	"encoding/binary"
	"github.com/vitrine-dev/vitrine/internal/testphotos"
	"image"
	"image/jpeg"
	"os"
	"testing"

	"golang.org/x/image/webp"
)

// testBundle is what most tests need: a Processor on the shared libvips.
type testBundle struct {
	p *Processor
}

func setup(t testing.TB, cfg Config) *testBundle {
	t.Helper()
	p, err := Start(cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(p.Close)
	return &testBundle{p: p}
}

var allFormats = []Format{WebP, JPEG, AVIF}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func (b *testBundle) process(t testing.TB, src []byte, presets []Preset, formats []Format) Result {
	t.Helper()
	res, err := b.p.Process(context.Background(), src, presets, formats)
	if err != nil {
		t.Fatalf("Process: %v", err)
	}
	if want := len(presets) * len(formats); len(res.Variants) != want {
		t.Fatalf("got %d variants, want %d", len(res.Variants), want)
	}
	return res
}

// variant returns the variant of res for preset and format.
func variant(t testing.TB, res Result, preset string, f Format) Variant {
	t.Helper()
	for _, v := range res.Variants {
		if v.Preset == preset && v.Format == f {
			return v
		}
	}
	t.Fatalf("no %s %s variant", preset, f)
	return Variant{}
}

// decodeVariant decodes a JPEG or WebP variant with Go's own decoders, independent of
// libvips.
func decodeVariant(t testing.TB, v Variant) image.Image {
	t.Helper()
	var (
		img image.Image
		err error
	)
	switch v.Format {
	case JPEG:
		img, err = jpeg.Decode(bytes.NewReader(v.Data))
	case WebP:
		img, err = webp.Decode(bytes.NewReader(v.Data))
	default:
		t.Fatalf("no Go decoder for %s", v.Format)
	}
	if err != nil {
		t.Fatalf("decoding %s %s: %v", v.Preset, v.Format, err)
	}
	return img
}

// avifSize reads the image size from an AVIF's 'ispe' (image spatial extents) property.
func avifSize(t testing.TB, data []byte) (width, height int) {
	t.Helper()
	i := bytes.Index(data, []byte("ispe"))
	if i < 0 || i+16 > len(data) {
		t.Fatal("AVIF has no ispe box")
	}
	return int(binary.BigEndian.Uint32(data[i+8:])), int(binary.BigEndian.Uint32(data[i+12:]))
}

// meanGrid is testphotos.MeanGrid, for comparing images loosely.
var meanGrid = testphotos.MeanGrid

// gridDistance is the mean absolute difference, in 8-bit levels, between two grids.
func gridDistance(a, b [][3]float64) float64 {
	var sum float64
	for i := range a {
		for c := range 3 {
			d := a[i][c] - b[i][c]
			if d < 0 {
				d = -d
			}
			sum += d
		}
	}
	return sum / float64(3*len(a))
}
