package imagestrip

import (
	"bytes"
	"math"

	"github.com/vitrine-dev/vitrine/internal/isobmff"
)

// heifState is what the HEIF stripper is waiting for.
type heifState int

const (
	heifWantHeader     heifState = iota // the first 8 bytes of a top-level box's header
	heifWantHeaderRest                  // the rest of the header: a 64-bit size, a UUID
	heifWantFtyp                        // the ftyp box's payload
	heifWantMeta                        // the end of the meta box's payload, gathered in meta
	heifCopying                         // a part of a payload being copied
	heifZeroing                         // a part of a payload being written as zeros (scan)
)

// heifStripper rewrites a HEIF file (HEIC, AVIF) box by box. The ftyp box is copied; the
// meta box is gathered whole (it ends within the first MiB) and written again without its
// metadata items, the offsets of the other items' data moved by the change in its size;
// mdat boxes are copied with the metadata's data zeroed; every other top-level box becomes
// a free box of the same size, full of zeros, so that nothing after the meta box moves.
type heifStripper struct {
	in        *input
	state     heifState
	mediaType string
	hdr       [isobmff.MaxHeaderLen]byte
	hlen      int
	sawFtyp   bool
	sawMeta   bool
	boxStart  int64 // the input offset where the current box starts
	end       int64 // where it ends, or math.MaxInt64 for a box that extends to the end
	mdat      bool  // whether the current box is an mdat box, else it is blanked
	meta      bytes.Buffer
	drop      []isobmff.Range // the metadata's data not yet passed
	zeroLeft  int64
	toEnd     bool // whether the part of a payload asked for extends to the end of the input
}

// zeros is written in place of blanked bytes.
var zeros [32 << 10]byte

func (h *heifStripper) start() {
	h.state = heifWantHeader
	h.in.need(8)
}

func (h *heifStripper) step(b []byte) error {
	switch h.state {
	case heifWantHeader:
		h.boxStart = h.in.off - 8
		copy(h.hdr[:], b)
		if h.hlen = isobmff.HeaderLen(b); h.hlen > 8 {
			h.state = heifWantHeaderRest
			h.in.need(h.hlen - 8)
			return nil
		}
		return h.box()
	case heifWantHeaderRest:
		copy(h.hdr[8:], b)
		return h.box()
	case heifWantFtyp:
		f, err := isobmff.ParseFtyp(b)
		if err != nil {
			return corrupt("heif", err.Error())
		}
		h.mediaType = f.MediaType()
		if err := h.in.write(h.hdr[:h.hlen]); err != nil {
			return err
		}
		if err := h.in.write(b); err != nil {
			return err
		}
		h.next()
	case heifWantMeta:
		h.in.out = h.in.dst
		m, err := isobmff.ParseMeta(h.meta.Bytes())
		if err != nil {
			return corrupt("heif", err.Error())
		}
		box, drop, err := m.WithoutMetadata(h.end, h.end-h.boxStart)
		if err != nil {
			return corrupt("heif", err.Error())
		}
		h.meta = bytes.Buffer{}
		h.drop = drop
		if err := h.in.write(box); err != nil {
			return err
		}
		h.next()
	case heifCopying:
		h.payload(h.in.off)
	}
	return nil
}

// box handles a top-level box whose header is gathered, holding the same checks as
// imageinfo's scan of a HEIF file where they matter to the rewriting.
func (h *heifStripper) box() error {
	hd, err := isobmff.ParseHeader(h.hdr[:h.hlen])
	if err != nil {
		return corrupt("heif", err.Error())
	}
	h.end = math.MaxInt64
	if hd.Size != 0 {
		h.end = h.boxStart + hd.Size
	}
	n := h.end - h.in.off // the payload's length
	switch {
	case !h.sawFtyp:
		if hd.Type != "ftyp" || hd.Size == 0 || hd.Size > isobmff.MaxFtyp {
			return corrupt("heif", "bad ftyp box")
		}
		h.sawFtyp = true
		h.state = heifWantFtyp
		h.in.need(int(n))
		return nil
	case hd.Type == "meta":
		if h.sawMeta {
			return corrupt("heif", "more than one meta box")
		}
		if h.end > isobmff.MaxMetaEnd {
			return corrupt("heif", "meta box does not end within the first MiB")
		}
		h.sawMeta = true
		h.state = heifWantMeta
		h.meta.Grow(int(n))
		h.in.out = &h.meta
		h.in.copy(n)
		return nil
	case !h.sawMeta && (hd.Type == "mdat" || hd.Size == 0):
		return corrupt("heif", "the media data comes before the meta box")
	}
	h.mdat = hd.Type == "mdat"
	hdr := h.hdr[:h.hlen]
	if !h.mdat {
		// A free box of the same size: the type changes, a UUID becomes payload, zeroed.
		copy(hdr[4:8], "free")
		if hd.Type == "uuid" {
			clear(hdr[h.hlen-16:])
		}
	}
	if err := h.in.write(hdr); err != nil {
		return err
	}
	h.payload(h.in.off)
	return nil
}

// payload asks for the next part of the current box's payload from input offset pos:
// zeros for the metadata's data or for a blanked box, a copy of the rest; or for the next
// box at the end of this one.
func (h *heifStripper) payload(pos int64) {
	for len(h.drop) > 0 && h.drop[0].End <= pos {
		h.drop = h.drop[1:]
	}
	end := h.end
	if h.mdat && len(h.drop) > 0 && h.drop[0].Start > pos {
		end = min(h.drop[0].Start, end) // copy up to the metadata
	} else if h.mdat && len(h.drop) > 0 {
		end = min(h.drop[0].End, end) // and zero it
	}
	h.toEnd = end == math.MaxInt64
	switch {
	case pos == h.end:
		h.next()
	case !h.mdat || len(h.drop) > 0 && h.drop[0].Start <= pos:
		h.zero(end - pos)
	default:
		h.state = heifCopying
		h.in.copy(end - pos)
	}
}

// zero asks for n bytes to be written as zeros.
func (h *heifStripper) zero(n int64) {
	h.state, h.zeroLeft = heifZeroing, n
	h.in.scan()
}

// next asks for the next top-level box's header.
func (h *heifStripper) next() {
	h.state = heifWantHeader
	h.in.need(8)
}

// scan writes zeros in place of the input while the stripper is zeroing.
func (h *heifStripper) scan(p []byte) (int, error) {
	if h.state != heifZeroing {
		return 0, errInternal
	}
	k := int(min(int64(len(p)), h.zeroLeft))
	for left := k; left > 0; {
		n := min(left, len(zeros))
		if err := h.in.write(zeros[:n]); err != nil {
			return 0, err
		}
		left -= n
	}
	if h.zeroLeft -= int64(k); h.zeroLeft == 0 {
		h.payload(h.in.off + int64(k))
	}
	return k, nil
}

// ended reports whether the input may end here: between two top-level boxes after the
// meta box, or in the last part of a box that extends to the end of the input.
func (h *heifStripper) ended() error {
	switch {
	case !h.sawMeta:
		return corrupt("heif", "no meta box")
	case h.state == heifWantHeader && len(h.in.got) == 0:
	case h.toEnd && (h.state == heifCopying || h.state == heifZeroing):
	default:
		return corrupt("heif", "unexpected end of data")
	}
	for len(h.drop) > 0 && h.drop[0].End <= h.in.off {
		h.drop = h.drop[1:]
	}
	if len(h.drop) > 0 {
		return corrupt("heif", "item data beyond the end of the file")
	}
	return nil
}
