package imagestrip

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/testheif"
)

func TestStripHEIF(t *testing.T) {
	t.Parallel()
	heic, _ := testheif.Photo(t, false)
	avif, _ := testheif.Photo(t, true)
	// small.heic is a grid of one tile whose data lies in the meta box's idat, and in mdat
	// after a move. The grid of 3x2 tiles has no metadata: it must come out unchanged.
	small := testheif.Small(t, false)
	for name, in := range map[string][]byte{"photo.heic": heic, "photo.avif": avif, "small.heic": small,
		"small.heic with its grid's data in mdat":    testheif.GridInMediaData(t, small, 32, 24),
		"photo.heic with a meta box ending at 1 MiB": testheif.WithMetaSize(t, heic, 1<<20-testheif.Find(t, heic, "meta").Start),
		"a grid of 3x2 tiles":                        testheif.Grid(t, heic, 3, 2)} {
		hasMetadata := testheif.HasMetadata(t, in)
		for _, m := range testheif.Markers {
			if hasMetadata != bytes.Contains(in, []byte(m)) {
				t.Fatalf("%s: heif-info sees metadata: %t, but the input holds %q: %t", name, hasMetadata, m, !hasMetadata)
			}
		}
		out := checkStripped(t, name, in)
		for _, m := range testheif.Markers {
			if bytes.Contains(out, []byte(m)) {
				t.Errorf("%s: the output still holds %q", name, m)
			}
		}
		if hasMetadata && len(out) >= len(in) || !hasMetadata && !bytes.Equal(out, in) {
			t.Errorf("%s: %d bytes stripped, %d before", name, len(out), len(in))
		}
		if !testheif.SamePixels(testheif.Decode(t, in), testheif.Decode(t, out)) {
			t.Errorf("%s: the stripped image decodes to other pixels", name)
		}
		if testheif.HasMetadata(t, out) {
			t.Errorf("%s: heif-info sees metadata in the output", name)
		}
	}
}

// TestHEIFGridDecodes checks that the grid testheif.Grid makes is what it says: libheif
// decodes a grid of 3x2 tiles of a photograph to that photograph six times over.
func TestHEIFGridDecodes(t *testing.T) {
	t.Parallel()
	heic, _ := testheif.Photo(t, false)
	tile, grid := testheif.Decode(t, heic), testheif.Decode(t, testheif.Grid(t, heic, 3, 2))
	if grid.Bounds() != image.Rect(0, 0, 3*testheif.Width, 2*testheif.Height) {
		t.Fatalf("the grid decodes to %v", grid.Bounds())
	}
	for y := range 2 {
		for x := range 3 {
			r := image.Rect(x*testheif.Width, y*testheif.Height, (x+1)*testheif.Width, (y+1)*testheif.Height)
			part := grid.(interface {
				SubImage(image.Rectangle) image.Image
			}).SubImage(r)
			if !testheif.SamePixels(tile, translated{part, r.Min}) {
				t.Errorf("the tile at %v differs from the photograph", r.Min)
			}
		}
	}
}

// translated is an image moved so that its bounds start at the origin.
type translated struct {
	image.Image
	min image.Point
}

func (t translated) Bounds() image.Rectangle { return t.Image.Bounds().Sub(t.min) }
func (t translated) At(x, y int) color.Color { return t.Image.At(x+t.min.X, y+t.min.Y) }

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

// TestStripHEIFOtherBoxes checks that top-level boxes other than ftyp, meta and mdat (here a
// uuid box and a free box after the media data, holding a location) become free boxes of
// zeros of the same size.
func TestStripHEIFOtherBoxes(t *testing.T) {
	t.Parallel()
	heic, _ := testheif.Photo(t, false)
	box := func(typ string, payload string) []byte {
		return append(binary.BigEndian.AppendUint32(nil, uint32(8+len(payload))), typ+payload...)
	}
	in := append(bytes.Clone(heic), box("uuid", "0123456789abcdef<x:xmpmeta lat=48.85>")...)
	in = append(in, box("free", "Exif\x00\x00MM\x00*\x00\x00\x00\x08")...)
	out := checkStripped(t, "photo.heic with a uuid and a free box", in)
	plain := strip(t, heic)
	want := append(bytes.Clone(plain), box("free", string(make([]byte, 16+21)))...)
	want = append(want, box("free", string(make([]byte, 14)))...)
	if !bytes.Equal(out, want) {
		t.Errorf("the boxes after the media data were not blanked: % x", out[len(plain):])
	}
}
