package isobmff

import (
	"bytes"
	"errors"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/imageformat"
	"github.com/vitrine-dev/vitrine/internal/testheif"
)

// FuzzParseMeta checks that ParseMeta and CheckImage never panic and refuse only with
// ErrCorrupt, and that a meta box they accept can be written again without its metadata
// into one that they accept too, with the same images, and that does not change when
// written again.
func FuzzParseMeta(f *testing.F) {
	f.Add(validParts().payload())
	for _, avif := range []bool{false, true} {
		for _, file := range [][]byte{testheif.Small(f, avif), testheif.Encode(f, testheif.JPEGWithMetadata(f, 64, 40), avif)} {
			meta := testheif.Find(f, file, "meta")
			f.Add(bytes.Clone(file[meta.PayloadStart:meta.End]))
		}
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		m, err := ParseMeta(payload)
		if err != nil {
			if !errors.Is(err, imageformat.ErrCorrupt) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		img, imgErr := m.CheckImage(m.Primary)
		if imgErr != nil && !errors.Is(imgErr, imageformat.ErrCorrupt) {
			t.Fatalf("CheckImage: error wraps no sentinel: %v", imgErr)
		}
		// The meta box as if it ended at offset 1 << 40, before all item data.
		const end = 1 << 40
		box, _, err := m.WithoutMetadata(end, int64(8+len(payload)))
		if err != nil || imgErr != nil {
			return // a file that imageinfo refuses too
		}
		n, err := ParseMeta(box[8:])
		if err != nil {
			t.Fatalf("the rewritten meta box is refused: %v", err)
		}
		for _, it := range n.Items {
			if it.IsMetadata() {
				t.Fatalf("item %d of type %q is left", it.ID, it.Type)
			}
		}
		again, err := n.CheckImage(n.Primary)
		if err != nil || again.Width != img.Width || again.Height != img.Height || again.Decoded != img.Decoded {
			t.Fatalf("the image was %+v, is %+v, %v", img, again, err)
		}
		shift := int64(8+len(payload)) - int64(len(box))
		twice, drop, err := n.WithoutMetadata(end-shift, int64(len(box)))
		if err != nil || !bytes.Equal(twice, box) || len(drop) != 0 {
			t.Fatalf("writing again: %v, changed %t, %v", err, !bytes.Equal(twice, box), drop)
		}
	})
}
