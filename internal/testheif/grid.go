package testheif

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// Grid returns a HEIC whose primary image is a grid of cols×rows tiles, each of them the
// image of file (a HEIC that Photo returns), whose coded data the tiles share: a file of
// (cols×Width)×(rows×Height) pixels with cols×rows+1 items, and no metadata. The grid's data
// lies in the meta box's idat, as phones write it.
func Grid(t testing.TB, file []byte, cols, rows int) []byte {
	t.Helper()
	n := cols * rows
	ftyp := Find(t, file, "ftyp")
	hdlr := Find(t, file, "meta", "hdlr")
	hvcC := Find(t, file, "meta", "iprp", "ipco", "hvcC")
	image := ilocEntry(t, file, itemID(t, file, "hvc1"))
	dataAt := int(binary.BigEndian.Uint32(file[image:]) + binary.BigEndian.Uint32(file[image+6:]))
	data := file[dataAt : dataAt+int(binary.BigEndian.Uint32(file[image+10:]))]

	u16 := func(v int) []byte { return binary.BigEndian.AppendUint16(nil, uint16(v)) }
	u32 := func(v int) []byte { return binary.BigEndian.AppendUint32(nil, uint32(v)) }
	box := func(typ string, parts ...[]byte) []byte {
		p := bytes.Join(parts, nil)
		return append(append(u32(8+len(p)), typ...), p...)
	}
	infe := func(id int, typ string, hidden bool) []byte {
		flags := []byte{2, 0, 0, 0}
		if hidden {
			flags[3] = 1
		}
		return box("infe", flags, u16(id), u16(0), []byte(typ), []byte{0})
	}
	ispe := func(w, h int) []byte { return box("ispe", u32(0), u32(w), u32(h)) }
	meta := func(mdatAt int) []byte {
		entries := [][]byte{u32(0), u16(n + 1), infe(1, "grid", false)}
		locs := [][]byte{{1, 0, 0, 0}, u16(0x4400), u16(n + 1), u16(1), u16(1), u16(0), u16(1), u32(0), u32(8)}
		refs := [][]byte{u16(1), u16(n)}
		assoc := [][]byte{u32(0), u32(n + 1), u16(1), {1, 3}}
		for id := 2; id <= n+1; id++ {
			entries = append(entries, infe(id, "hvc1", true))
			locs = append(locs, u16(id), u16(0), u16(0), u16(1), u32(mdatAt+8), u32(len(data)))
			refs = append(refs, u16(id))
			assoc = append(assoc, u16(id), []byte{2, 0x81, 2})
		}
		return box("meta", u32(0),
			file[hdlr.Start:hdlr.End],
			box("pitm", u32(0), u16(1)),
			box("iinf", entries...),
			box("iloc", locs...),
			box("iref", u32(0), box("dimg", refs...)),
			box("iprp",
				box("ipco", file[hvcC.Start:hvcC.End], ispe(Width, Height), ispe(cols*Width, rows*Height)),
				box("ipma", assoc...)),
			box("idat", []byte{0, 0, byte(rows - 1), byte(cols - 1)}, u16(cols*Width), u16(rows*Height)))
	}
	head := file[ftyp.Start:ftyp.End]
	m := meta(0)
	m = meta(len(head) + len(m)) // the same length: the offsets are fixed-size fields
	out := append(append(bytes.Clone(head), m...), box("mdat", data)...)
	return out
}
