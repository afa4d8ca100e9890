package imagestrip

import (
	"bytes"
	"errors"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/testheif"
)

func TestStripHEIF(t *testing.T) {
	t.Parallel()
	heic, _ := testheif.Photo(t, false)
	avif, _ := testheif.Photo(t, true)
	// small.heic is a grid of one tile whose data lies in the meta box's idat, and in mdat
	// after a move.
	small := testheif.Small(t, false)
	for name, in := range map[string][]byte{"photo.heic": heic, "photo.avif": avif, "small.heic": small,
		"small.heic with its grid's data in mdat": testheif.GridInMediaData(t, small, 32, 24)} {
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
		if !testheif.SamePixels(testheif.Decode(t, in), testheif.Decode(t, out)) {
			t.Errorf("%s: the stripped image decodes to other pixels", name)
		}
		if !testheif.HasMetadata(t, in) || testheif.HasMetadata(t, out) {
			t.Errorf("%s: heif-info sees metadata in the input: %t, in the output: %t", name,
				testheif.HasMetadata(t, in), testheif.HasMetadata(t, out))
		}
	}
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
