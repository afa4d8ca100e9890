package testheif

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
)

// Box is a box found in a file: its type and where it, and its payload, lie.
type Box struct {
	Type                     string
	Start, PayloadStart, End int
}

// childrenOffset is where the child boxes start in the payload of a container box: after
// the version and flags of a full box, and the entry count of iinf.
func childrenOffset(file []byte, b Box) int {
	switch b.Type {
	case "meta", "iref":
		return 4
	case "iinf":
		if file[b.PayloadStart] == 0 {
			return 6
		}
		return 8
	}
	return 0
}

// Boxes returns the boxes of file[start:end] (32-bit sizes only, as heif-enc writes).
func Boxes(file []byte, start, end int) []Box {
	var out []Box
	for off := start; off+8 <= end; {
		n := int(binary.BigEndian.Uint32(file[off:]))
		if n < 8 || off+n > end {
			break
		}
		out = append(out, Box{string(file[off+4 : off+8]), off, off + 8, off + n})
		off += n
	}
	return out
}

// Find returns the box at the path of types from the top level, such as "meta", "iprp",
// "ipco", "ispe" (the first of each type).
func Find(t testing.TB, file []byte, path ...string) Box {
	t.Helper()
	start, end := 0, len(file)
	var found Box
	for i, typ := range path {
		ok := false
		for _, b := range Boxes(file, start, end) {
			if b.Type == typ {
				found, ok = b, true
				break
			}
		}
		if !ok {
			t.Fatalf("testheif: no %v box", path[:i+1])
		}
		start, end = found.PayloadStart+childrenOffset(file, found), found.End
	}
	return found
}

// Broken returns copies of a HEIF file (one that Photo returns), each with one defect, by
// name: cut short, box lengths past their parent or past the file, a primary item that does
// not exist, an image size of 100000×100000, derived images that refer to each other in a
// loop, a meta box of 100,000 items (2 MB, past the first MiB) and one that counts 100,000
// items but holds 40,000 (840 KB), and media data before the meta box. TooManyPixels names
// those that declare too many pixels; the others are corrupt.
func Broken(t testing.TB, file []byte) map[string][]byte {
	t.Helper()
	edit := func(fn func(b []byte)) []byte {
		b := bytes.Clone(file)
		fn(b)
		return b
	}
	meta, mdat := Find(t, file, "meta"), Find(t, file, "mdat")
	setSize := func(b []byte, box Box, n int) { binary.BigEndian.PutUint32(b[box.Start:], uint32(n)) }
	out := map[string][]byte{
		"cut in the ftyp box":                     file[:20],
		"cut in the meta box":                     file[:meta.Start+(meta.End-meta.Start)/2],
		"cut in the media data":                   file[:mdat.Start+(mdat.End-mdat.Start)/2],
		"without its last byte":                   file[:len(file)-1],
		"cut just before the end of the meta box": file[:meta.End-1],
		"hdlr box past the meta box": edit(func(b []byte) {
			setSize(b, Find(t, file, "meta", "hdlr"), meta.End-meta.Start)
		}),
		"ispe box past the ipco box": edit(func(b []byte) {
			ispe := Find(t, file, "meta", "iprp", "ipco", "ispe")
			setSize(b, ispe, Find(t, file, "meta", "iprp", "ipco").End-ispe.Start+4)
		}),
		"meta box past the file's end": edit(func(b []byte) { setSize(b, meta, len(file)+100) }),
		"mdat box past the file's end": edit(func(b []byte) { setSize(b, mdat, mdat.End-mdat.Start+1) }),
		"item data past the mdat box": edit(func(b []byte) {
			length := ilocEntry(t, b, itemID(t, b, "mime")) + 10 // the XMP item's extent length
			binary.BigEndian.PutUint32(b[length:], binary.BigEndian.Uint32(b[length:])+uint32(mdat.End-mdat.Start))
		}),
		"metadata sharing the image's data": edit(func(b []byte) {
			// The Exif item's base offset becomes the coded image's.
			exif, image := ilocEntry(t, b, itemID(t, b, "Exif")), ilocEntry(t, b, itemID(t, b, "hvc1", "av01"))
			copy(b[exif:][:4], b[image:][:4])
		}),
		"primary item that does not exist": edit(func(b []byte) {
			pitm := Find(t, file, "meta", "pitm")
			binary.BigEndian.PutUint16(b[pitm.PayloadStart+4:], 999)
		}),
		"image of 100000x100000": edit(func(b []byte) {
			ispe := Find(t, file, "meta", "iprp", "ipco", "ispe")
			binary.BigEndian.PutUint32(b[ispe.PayloadStart+4:], 100000)
			binary.BigEndian.PutUint32(b[ispe.PayloadStart+8:], 100000)
		}),
		"item reference loop": edit(func(b []byte) {
			// Photo's iref holds two cdsc references (from the Exif and the XMP items to
			// the image); they become dimg references from each to the other.
			refs := Boxes(b, Find(t, file, "meta", "iref").PayloadStart+4, Find(t, file, "meta", "iref").End)
			if len(refs) < 2 {
				t.Fatalf("testheif: %d item references", len(refs))
			}
			a, c := refs[0], refs[1]
			from := func(r Box) []byte { return bytes.Clone(b[r.PayloadStart : r.PayloadStart+2]) }
			fa, fc := from(a), from(c)
			for _, r := range []Box{a, c} {
				copy(b[r.Start+4:], "dimg")
				binary.BigEndian.PutUint16(b[r.PayloadStart+2:], 1)
			}
			copy(b[a.PayloadStart+4:], fc)
			copy(b[c.PayloadStart+4:], fa)
		}),
		"100000 items":                   withItems(t, file, 100000, 100000),
		"40000 items counted as 100000":  withItems(t, file, 40000, 100000),
		"media data before the meta box": append(append(bytes.Clone(file[:meta.Start]), file[mdat.Start:mdat.End]...), file[meta.Start:meta.End]...),
	}
	return out
}

// TooManyPixels names the files of Broken that declare too many pixels.
var TooManyPixels = map[string]bool{"image of 100000x100000": true}

// withItems returns file with n items added to its meta box (hidden hvc1 items without
// data) and an item count of count. The item data's offsets are left as they were: the file
// is refused before they matter.
func withItems(t testing.TB, file []byte, n, count int) []byte {
	t.Helper()
	meta, iinf := Find(t, file, "meta"), Find(t, file, "meta", "iinf")
	entries := file[iinf.PayloadStart+childrenOffset(file, iinf) : iinf.End]
	var added []byte
	for i := range n {
		// infe version 2, hidden: item ID, protection index, type, an empty name.
		e := []byte{0, 0, 0, 21, 'i', 'n', 'f', 'e', 2, 0, 0, 1}
		e = binary.BigEndian.AppendUint16(e, uint16(1000+i%60000))
		e = append(e, 0, 0, 'h', 'v', 'c', '1', 0)
		added = append(added, e...)
	}
	payload := binary.BigEndian.AppendUint32([]byte{1, 0, 0, 0}, uint32(count)) // version 1
	payload = append(append(payload, entries...), added...)
	newIinf := binary.BigEndian.AppendUint32(nil, uint32(8+len(payload)))
	newIinf = append(append(newIinf, "iinf"...), payload...)
	metaPayload := append(append(bytes.Clone(file[meta.PayloadStart:iinf.Start]), newIinf...), file[iinf.End:meta.End]...)
	out := bytes.Clone(file[:meta.Start])
	out = binary.BigEndian.AppendUint32(out, uint32(8+len(metaPayload)))
	out = append(append(out, "meta"...), metaPayload...)
	if len(out) < 1000 {
		panic(fmt.Sprint("testheif: bad meta box", len(out)))
	}
	return append(out, file[meta.End:]...)
}

// itemID returns the ID of the first item of one of the given types.
func itemID(t testing.TB, file []byte, types ...string) uint16 {
	t.Helper()
	for _, typ := range types {
		if id, ok := findItem(file, typ); ok {
			return id
		}
	}
	t.Fatalf("testheif: no item of type %v", types)
	return 0
}

// findItem returns the ID of the first item of type typ, if any.
func findItem(file []byte, typ string) (uint16, bool) {
	meta := Boxes(file, 0, len(file))
	for _, m := range meta {
		if m.Type != "meta" {
			continue
		}
		for _, c := range Boxes(file, m.PayloadStart+4, m.End) {
			if c.Type != "iinf" {
				continue
			}
			for _, e := range Boxes(file, c.PayloadStart+childrenOffset(file, c), c.End) {
				if p := file[e.PayloadStart:e.End]; p[0] == 2 && string(p[8:12]) == typ {
					return binary.BigEndian.Uint16(p[4:6]), true
				}
			}
		}
	}
	return 0, false
}

// ilocEntry returns where the base offset of item id's entry in the item location box
// starts, for the layouts heif-enc writes: version 0 or 1, 4-byte offsets, lengths and base
// offsets, one extent per item. The extent's offset and length follow 6 and 10 bytes later.
func ilocEntry(t testing.TB, file []byte, id uint16) int {
	t.Helper()
	iloc := Find(t, file, "meta", "iloc")
	p := file[iloc.PayloadStart:iloc.End]
	if p[0] > 1 || p[4] != 0x44 || p[5]&0xf0 != 0x40 {
		t.Fatalf("testheif: unexpected iloc layout % x", p[:8])
	}
	size := 18 + 2*int(p[0]) // version 1 adds the construction method
	for off := 8; off+size <= len(p); off += size {
		if binary.BigEndian.Uint16(p[off:]) == id {
			return iloc.PayloadStart + off + size - 14
		}
	}
	t.Fatalf("testheif: item %d has no location", id)
	return 0
}

// GridInMediaData returns file, a grid whose data lies in its meta box's idat (as Small's
// HEIC), with the grid's data moved to the end of its mdat box (the last box), where
// libavif puts it: construction method 0, at the file's end. The grid's data says its size
// is width×height (the real one leaves it valid).
func GridInMediaData(t testing.TB, file []byte, width, height uint16) []byte {
	t.Helper()
	b := bytes.Clone(file)
	mdat := Find(t, b, "mdat")
	if mdat.End != len(b) {
		t.Fatal("testheif: the mdat box is not the last")
	}
	grid := ilocEntry(t, b, itemID(t, b, "grid"))
	// Version 1: the construction method precedes the data reference index and the base.
	if binary.BigEndian.Uint16(b[grid-4:]) != 1 || binary.BigEndian.Uint16(b[grid+4:]) != 1 {
		t.Fatalf("testheif: the grid's data is not one extent in idat")
	}
	idat := Find(t, b, "meta", "idat")
	at := idat.PayloadStart + int(binary.BigEndian.Uint32(b[grid:])+binary.BigEndian.Uint32(b[grid+6:]))
	data := bytes.Clone(b[at : at+int(binary.BigEndian.Uint32(b[grid+10:]))])
	if len(data) != 8 {
		t.Fatalf("testheif: grid data of %d bytes", len(data))
	}
	binary.BigEndian.PutUint16(data[4:], width)
	binary.BigEndian.PutUint16(data[6:], height)
	b[grid-3] = 0                                        // construction method 0
	binary.BigEndian.PutUint32(b[grid:], uint32(len(b))) // base offset: the end of the file
	binary.BigEndian.PutUint32(b[grid+6:], 0)
	binary.BigEndian.PutUint32(b[mdat.Start:], uint32(mdat.End-mdat.Start+len(data)))
	return append(b, data...)
}

// WithMetaSize returns file (one that Photo returns) with its meta box grown to size bytes by
// a free box inside it, and its items' data offsets moved to match: a valid file whose meta
// box, which readers hold whole, is as large as wanted.
func WithMetaSize(t testing.TB, file []byte, size int) []byte {
	t.Helper()
	meta := Find(t, file, "meta")
	n := size - (meta.End - meta.Start)
	if n < 8 {
		t.Fatalf("testheif: the meta box is %d bytes already", meta.End-meta.Start)
	}
	b := bytes.Clone(file)
	for _, typ := range []string{"hvc1", "av01", "Exif", "mime"} {
		if id, ok := findItem(b, typ); ok {
			base := ilocEntry(t, b, id)
			binary.BigEndian.PutUint32(b[base:], binary.BigEndian.Uint32(b[base:])+uint32(n))
		}
	}
	binary.BigEndian.PutUint32(b[meta.Start:], uint32(size))
	b = binary.BigEndian.AppendUint32(b[:meta.End:meta.End], uint32(n))
	b = append(append(b, "free"...), make([]byte, n-8)...)
	return append(b, file[meta.End:]...)
}
