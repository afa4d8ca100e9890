// Package isobmff reads and rewrites the boxes of HEIF images (HEIC, AVIF and other HEIF
// files, ISO/IEC 23008-12 over the ISO base media file format of ISO/IEC 14496-12) without
// decoding them. imageinfo checks an upload with it and imagestrip removes its metadata with
// it, so the two always agree on what a HEIF file holds.
//
// A HEIF file is a sequence of top-level boxes: ftyp first, then a meta box that describes
// the images (their items, where their data lies, their properties such as the size, and the
// references between them), and mdat boxes that hold the coded data. ParseHeader reads the
// header of any box; ParseFtyp and ParseMeta read the two boxes that matter, from memory: a
// meta box is held whole, up to MaxMetaEnd bytes into the file. Everything they return has
// been checked: every box lies inside its parent, the counts of items, extents, references
// and properties are bounded, and the references between images neither loop nor nest deeply.
//
// Errors about the data wrap imageformat.ErrCorrupt and carry a short reason.
package isobmff

import (
	"encoding/binary"
	"fmt"

	"github.com/vitrine-dev/vitrine/internal/imageformat"
)

// Limits that hold for every file, whatever its size.
const (
	// MaxMetaEnd is how far into the file the meta box must end. It is held whole in memory.
	MaxMetaEnd = 1 << 20
	// MaxFtyp is the largest ftyp box accepted: 4096 bytes is room for a thousand brands.
	MaxFtyp = 4096
	// MaxItems is the most items a file may have. A grid of 4096 tiles of 256×256 pixels
	// is 268 megapixels; phones write fewer than 300 items.
	MaxItems = 4096
	// MaxExtents is the most extents (pieces of item data) all items may have together.
	MaxExtents = 4 * MaxItems
	// MaxReferences is the most item references all reference boxes may hold together.
	MaxReferences = 4 * MaxItems
	// MaxProperties is the most properties a file may have.
	MaxProperties = MaxItems
	// MaxDepth is the longest chain of derived images (an identity of a grid of tiles is 2).
	MaxDepth = 8
)

// MaxHeaderLen is the longest box header: size, type, a 64-bit size and a 16-byte UUID.
const MaxHeaderLen = 32

// Header is the header of a box.
type Header struct {
	Type string // the four-character type
	// Size is the length of the whole box, header included, or 0 for a box that extends
	// to the end of the file (only the last top-level box may).
	Size int64
	// Len is the length of the header: 8, 16 with a 64-bit size, 8 or 16 more for a uuid box.
	Len int
}

// HeaderLen returns the length of the header whose first 8 bytes are b.
func HeaderLen(b []byte) int {
	n := 8
	if binary.BigEndian.Uint32(b[0:4]) == 1 {
		n += 8
	}
	if string(b[4:8]) == "uuid" {
		n += 16
	}
	return n
}

// ParseHeader reads the box header that b (HeaderLen(b) bytes at least) starts with. The
// size must cover the header.
func ParseHeader(b []byte) (Header, error) {
	h := Header{Type: string(b[4:8]), Size: int64(binary.BigEndian.Uint32(b[0:4])), Len: HeaderLen(b)}
	if len(b) < h.Len {
		return h, corrupt("box header cut short")
	}
	if h.Size == 1 {
		large := binary.BigEndian.Uint64(b[8:16])
		if large > 1<<62 {
			return h, corrupt("box size too large")
		}
		h.Size = int64(large)
	}
	if h.Size != 0 && h.Size < int64(h.Len) {
		return h, corrupt("box smaller than its header")
	}
	return h, nil
}

// corrupt returns an error wrapping imageformat.ErrCorrupt with a short reason.
func corrupt(reason string) error { return fmt.Errorf("%s: %w", reason, imageformat.ErrCorrupt) }

// corruptf is corrupt with a format.
func corruptf(format string, args ...any) error { return corrupt(fmt.Sprintf(format, args...)) }

// reader reads big-endian fields from a box's payload. Reading past the end sets short and
// yields zeros, so that a parser checks once, at the end.
type reader struct {
	b     []byte
	off   int
	short bool
}

// take returns the next n bytes, or nil if there are fewer.
func (r *reader) take(n int) []byte {
	if n < 0 || n > len(r.b)-r.off {
		r.short = true
		r.off = len(r.b)
		return nil
	}
	p := r.b[r.off : r.off+n]
	r.off += n
	return p
}

// uint reads an n-byte unsigned integer, n being 0, 1, 2, 4 or 8; 0 bytes read as 0.
func (r *reader) uint(n int) uint64 {
	p := r.take(n)
	if p == nil {
		return 0
	}
	var v uint64
	for _, c := range p {
		v = v<<8 | uint64(c)
	}
	return v
}

func (r *reader) u8() uint8   { return uint8(r.uint(1)) }
func (r *reader) u16() uint16 { return uint16(r.uint(2)) }
func (r *reader) u32() uint32 { return uint32(r.uint(4)) }

// fullBox reads the version and flags of a full box.
func (r *reader) fullBox() (version uint8, flags uint32) {
	v := r.u32()
	return uint8(v >> 24), v & 0xffffff
}

// cstring reads a null-terminated UTF-8 string; a string cut by the end of the box counts
// as ending there, as some writers omit the last terminator.
func (r *reader) cstring() string {
	rest := r.b[r.off:]
	for i, c := range rest {
		if c == 0 {
			r.off += i + 1
			return string(rest[:i])
		}
	}
	r.off = len(r.b)
	return string(rest)
}

// left returns the number of bytes not yet read.
func (r *reader) left() int { return len(r.b) - r.off }

// child is a box inside a payload: its type, where it starts and ends in the payload, and
// its own payload.
type child struct {
	typ        string
	start, end int
	payload    []byte
}

// children splits b, the payload of a container box, into its boxes. Each must lie inside
// b; a box may not extend "to the end of the file" inside a container. At most max boxes are
// accepted.
func children(b []byte, max int, container string) ([]child, error) {
	out := make([]child, 0, min(max, len(b)/8))
	for off := 0; off < len(b); {
		if len(b)-off < 8 {
			return nil, corruptf("%s: box header extends beyond its container", container)
		}
		if len(out) == max {
			return nil, corruptf("%s: more than %d boxes", container, max)
		}
		hl := HeaderLen(b[off:])
		if len(b)-off < hl {
			return nil, corruptf("%s: box header extends beyond its container", container)
		}
		h, err := ParseHeader(b[off:])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", container, err)
		}
		if h.Size == 0 || h.Size > int64(len(b)-off) {
			return nil, corruptf("%s: %q box extends beyond its container", container, h.Type)
		}
		end := off + int(h.Size)
		out = append(out, child{typ: h.Type, start: off, end: end, payload: b[off+h.Len : end]})
		off = end
	}
	return out, nil
}

// appendHeader appends a box header for a box of type typ with n bytes of payload.
func appendHeader(b []byte, typ string, n int) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(8+n))
	return append(b, typ...)
}

// appendUint appends v as an n-byte big-endian integer (n being 0, 1, 2, 4 or 8).
func appendUint(b []byte, v uint64, n int) []byte {
	for i := n - 1; i >= 0; i-- {
		b = append(b, byte(v>>(8*i)))
	}
	return b
}
