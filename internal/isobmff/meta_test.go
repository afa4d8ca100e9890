package isobmff

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/imageformat"
)

// box returns a box of type typ holding the concatenation of parts.
func mkbox(typ string, parts ...[]byte) []byte {
	p := bytes.Join(parts, nil)
	return append(appendHeader(nil, typ, len(p)), p...)
}

// full returns the version and flags of a full box.
func full(v uint8, flags uint32) []byte { return appendFullBox(nil, v, flags) }

func be(n int, v uint64) []byte { return appendUint(nil, v, n) }

func infe(id uint16, typ, extra string) []byte {
	return mkbox("infe", full(2, 0), be(2, uint64(id)), be(2, 0), []byte(typ), []byte("\x00"+extra))
}

func ispe(w, h uint32) []byte { return mkbox("ispe", full(0, 0), be(4, uint64(w)), be(4, uint64(h))) }

// metaParts are the child boxes of a meta box, by type, that tests change one at a time.
type metaParts struct {
	hdlr, pitm, iinf, iloc, iref, iprp, idat []byte
}

func (p metaParts) payload() []byte {
	return bytes.Join([][]byte{full(0, 0), p.hdlr, p.pitm, p.iinf, p.iloc, p.iref, p.iprp, p.idat}, nil)
}

// validParts describes an image (item 1, hvc1, 64×48, 100 bytes at file offset 1000), an
// Exif item (2, 20 bytes at 1100) and an XMP item (3, 10 bytes at 2 in idat). The location
// box (version 1) has no base offsets, so the extents hold offsets in the file; the reference
// box is version 1 (32-bit IDs), the association box version 1 with 16-bit indices.
func validParts() metaParts {
	return metaParts{
		hdlr: mkbox("hdlr", full(0, 0), be(4, 0), []byte("pict"), make([]byte, 13)),
		pitm: mkbox("pitm", full(0, 0), be(2, 1)),
		iinf: mkbox("iinf", full(0, 0), be(2, 3), infe(1, "hvc1", ""), infe(2, "Exif", ""),
			infe(3, "mime", "application/rdf+xml\x00")),
		iloc: mkbox("iloc", full(1, 0), be(2, 0x4400), be(2, 3),
			be(2, 1), be(2, 0), be(2, 0), be(2, 1), be(4, 1000), be(4, 100),
			be(2, 2), be(2, 0), be(2, 0), be(2, 1), be(4, 1100), be(4, 20),
			be(2, 3), be(2, 1), be(2, 0), be(2, 1), be(4, 2), be(4, 10)),
		iref: mkbox("iref", full(1, 0),
			mkbox("cdsc", be(4, 2), be(2, 1), be(4, 1)),
			mkbox("cdsc", be(4, 3), be(2, 1), be(4, 1))),
		iprp: mkbox("iprp",
			mkbox("ipco", mkbox("hvcC", []byte{1, 2, 3}), ispe(64, 48)),
			mkbox("ipma", full(1, 1), be(4, 1), be(4, 1), be(1, 2), be(2, 0x8001), be(2, 2))),
		idat: mkbox("idat", []byte("..<x:xmpmeta>..")),
	}
}

func TestParseMetaValid(t *testing.T) {
	t.Parallel()
	m, err := ParseMeta(validParts().payload())
	if err != nil {
		t.Fatal(err)
	}
	img, err := m.CheckImage(m.Primary)
	if err != nil || img.Width != 64 || img.Height != 48 || img.Decoded != 64*48 {
		t.Fatalf("CheckImage: %+v, %v", img, err)
	}
	if got := m.MetadataRanges(); len(got) != 1 || got[0] != (Range{1100, 1120}) {
		t.Errorf("metadata ranges %v", got)
	}
	if a := m.Item(1).Properties; len(a) != 2 || !a[0].Essential || a[0].Index != 1 || a[1].Index != 2 {
		t.Errorf("associations %+v", a)
	}
	if img.Rotation != 0 || img.Mirror != -1 {
		t.Errorf("rotation %d, mirror %d without irot and imir", img.Rotation, img.Mirror)
	}

	// A quarter turn and a mirror, and an ICC profile of 5 bytes.
	p := validParts()
	p.iprp = mkbox("iprp", mkbox("ipco", ispe(4, 5), mkbox("irot", []byte{1}), mkbox("imir", []byte{1}), mkbox("colr", []byte("prof12345"))),
		mkbox("ipma", full(0, 0), be(4, 1), be(2, 1), be(1, 4), be(1, 1), be(1, 0x82), be(1, 0x83), be(1, 4)))
	if m, err = ParseMeta(p.payload()); err != nil {
		t.Fatal(err)
	}
	if img, err = m.CheckImage(1); err != nil || img.Rotation != 90 || img.Mirror != 1 || img.ProfileBytes != 5 {
		t.Errorf("with irot, imir and colr: %+v, %v", img, err)
	}
}

// TestWithoutMetadata rewrites validParts' meta box, which ends at offset 900 of its file,
// and checks what remains: the image alone, its data moved back by what the box lost, the
// XMP's bytes in idat zeroed, and the Exif's range in the file to blank.
func TestWithoutMetadata(t *testing.T) {
	t.Parallel()
	payload := validParts().payload()
	m, err := ParseMeta(payload)
	if err != nil {
		t.Fatal(err)
	}
	size := int64(8 + len(payload))
	box, drop, err := m.WithoutMetadata(900, size)
	if err != nil {
		t.Fatal(err)
	}
	if len(drop) != 1 || drop[0] != (Range{1100, 1120}) {
		t.Errorf("ranges to blank: %v", drop)
	}
	shift := size - int64(len(box))
	if shift <= 0 {
		t.Fatalf("the meta box went from %d to %d bytes", size, len(box))
	}
	if bytes.Contains(box, []byte("xmpmeta")) || bytes.Contains(box, []byte("Exif")) || bytes.Contains(box, []byte("rdf+xml")) {
		t.Errorf("the rewritten box still names the metadata: %q", box)
	}
	h, err := ParseHeader(box)
	if err != nil || h.Type != "meta" || h.Size != int64(len(box)) {
		t.Fatalf("header %+v, %v", h, err)
	}
	n, err := ParseMeta(box[8:])
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Items) != 1 || n.Items[0].ID != 1 || len(n.References) != 0 {
		t.Fatalf("items %+v, references %+v", n.Items, n.References)
	}
	if got := n.FileRanges(); len(got) != 1 || got[0] != (Range{1000 - shift, 1100 - shift}) {
		t.Errorf("the image's data is at %v, want [%d, %d)", got, 1000-shift, 1100-shift)
	}
	if a := n.Item(1).Properties; len(a) != 2 || !a[0].Essential || a[0].Index != 1 || a[1].Index != 2 {
		t.Errorf("associations %+v", a)
	}
	if img, err := n.CheckImage(1); err != nil || img.Width != 64 {
		t.Errorf("CheckImage after: %+v, %v", img, err)
	}
	// Rewriting again changes nothing.
	again, drop, err := n.WithoutMetadata(900-shift, int64(len(box)))
	if err != nil || !bytes.Equal(again, box) || len(drop) != 0 {
		t.Errorf("second rewrite: %v, changed %t, %v", err, !bytes.Equal(again, box), drop)
	}
	// Item data before the meta box's end cannot move back.
	if _, _, err := m.WithoutMetadata(1050, size); !errors.Is(err, imageformat.ErrCorrupt) {
		t.Errorf("data inside the meta box: %v", err)
	}
}

func TestParseMetaRefuses(t *testing.T) {
	t.Parallel()
	many := func(n int, b []byte) []byte { return bytes.Repeat(b, n) }
	chain := func(n int) metaParts { // n identity transforms, each of the next, ending at item 1
		p := validParts()
		var entries, refs, assoc [][]byte
		entries = append(entries, be(2, uint64(n+1)), infe(1, "hvc1", ""))
		assoc = append(assoc, be(2, 1), be(1, 1), be(1, 2))
		for i := 2; i <= n+1; i++ {
			entries = append(entries, infe(uint16(i), "iden", ""))
			refs = append(refs, mkbox("dimg", be(2, uint64(i)), be(2, 1), be(2, uint64(i-1))))
			assoc = append(assoc, be(2, uint64(i)), be(1, 1), be(1, 2))
		}
		p.pitm = mkbox("pitm", full(0, 0), be(2, uint64(n+1)))
		p.iinf = mkbox("iinf", append([][]byte{full(0, 0)}, entries...)...)
		p.iloc = mkbox("iloc", full(0, 0), be(2, 0x4400), be(2, 1), be(2, 1), be(2, 0), be(2, 1), be(4, 1000), be(4, 100))
		p.iref = mkbox("iref", append([][]byte{full(0, 0)}, refs...)...)
		p.iprp = mkbox("iprp", mkbox("ipco", mkbox("hvcC", nil), ispe(64, 48)),
			mkbox("ipma", append([][]byte{full(0, 0), be(4, uint64(n+1))}, assoc...)...))
		p.idat = nil
		return p
	}
	if _, err := ParseMeta(chain(MaxDepth).payload()); err != nil {
		t.Fatalf("a chain of %d derivations: %v", MaxDepth, err)
	}
	for name, c := range map[string]struct {
		edit func(*metaParts)
		want string
	}{
		"handler not pict": {func(p *metaParts) { p.hdlr = bytes.Replace(p.hdlr, []byte("pict"), []byte("vide"), 1) }, "handler"},
		"no pitm":          {func(p *metaParts) { p.pitm = nil }, "no pitm"},
		"primary missing":  {func(p *metaParts) { p.pitm = mkbox("pitm", full(0, 0), be(2, 7)) }, "primary item 7"},
		"5000 items":       {func(p *metaParts) { p.iinf = mkbox("iinf", full(1, 0), be(4, 5000)) }, "more than 4096 items"},
		"item defined twice": {func(p *metaParts) {
			p.iinf = mkbox("iinf", full(0, 0), be(2, 2), infe(1, "hvc1", ""), infe(1, "Exif", ""))
		}, "defined twice"},
		"old infe": {func(p *metaParts) {
			p.iinf = mkbox("iinf", full(0, 0), be(2, 1), mkbox("infe", full(1, 0), be(2, 1), be(2, 0)))
		}, "infe box version 1"},
		"fewer entries than counted": {func(p *metaParts) { p.iinf = mkbox("iinf", full(0, 0), be(2, 3), infe(1, "hvc1", "")) }, "fewer entries"},
		"too many extents": {func(p *metaParts) {
			p.iloc = mkbox("iloc", full(0, 0), be(2, 0x0000), be(2, 1), be(2, 1), be(2, 0), be(2, 0xffff))
		}, "more than 16384 extents"},
		"construction method 2": {func(p *metaParts) {
			p.iloc = mkbox("iloc", full(1, 0), be(2, 0x4400), be(2, 1), be(2, 1), be(2, 2), be(2, 0), be(2, 1), be(4, 1000), be(4, 100))
		}, "construction method 2"},
		"data in another file": {func(p *metaParts) {
			p.iloc = mkbox("iloc", full(0, 0), be(2, 0x4400), be(2, 1), be(2, 1), be(2, 1), be(2, 1), be(4, 1000), be(4, 100))
		}, "another file"},
		"extent of length 0": {func(p *metaParts) {
			p.iloc = mkbox("iloc", full(0, 0), be(2, 0x4400), be(2, 1), be(2, 1), be(2, 0), be(2, 1), be(4, 1000), be(4, 0))
		}, "unknown length"},
		"extent past idat": {func(p *metaParts) { p.idat = mkbox("idat", []byte("short")) }, "outside the idat"},
		"bad field size": {func(p *metaParts) {
			p.iloc = mkbox("iloc", full(0, 0), be(2, 0x3400), be(2, 0))
		}, "bad field size"},
		"reference to a missing item": {func(p *metaParts) {
			p.iref = mkbox("iref", full(0, 0), mkbox("cdsc", be(2, 2), be(2, 1), be(2, 9)))
		}, "item 9, which does not exist"},
		"self reference": {func(p *metaParts) {
			p.iref = mkbox("iref", full(0, 0), mkbox("thmb", be(2, 2), be(2, 1), be(2, 2)))
		}, "refers to itself"},
		"too many references": {func(p *metaParts) {
			p.iref = mkbox("iref", full(0, 0), mkbox("cdsc", be(2, 2), be(2, 0xffff), many(0xffff, be(2, 1))))
		}, "more than 16384 item references"},
		"loop": {func(p *metaParts) {
			p.iref = mkbox("iref", full(0, 0), mkbox("dimg", be(2, 1), be(2, 1), be(2, 2)), mkbox("dimg", be(2, 2), be(2, 1), be(2, 1)))
		}, "loop"},
		"property index past ipco": {func(p *metaParts) {
			p.iprp = mkbox("iprp", mkbox("ipco", ispe(1, 1)), mkbox("ipma", full(0, 0), be(4, 1), be(2, 1), be(1, 1), be(1, 5)))
		}, "property 5 of 1"},
		"no ipma": {func(p *metaParts) { p.iprp = mkbox("iprp", mkbox("ipco", ispe(1, 1))) }, "without ipco and ipma"},
		"properties of a missing item": {func(p *metaParts) {
			p.iprp = mkbox("iprp", mkbox("ipco", ispe(1, 1)), mkbox("ipma", full(0, 0), be(4, 1), be(2, 8), be(1, 0)))
		}, "item 8, which does not exist"},
		"child past its parent": {func(p *metaParts) { binary.BigEndian.PutUint32(p.hdlr, 1000) }, "extends beyond its container"},
		"metadata over image data": {func(p *metaParts) {
			p.iloc = mkbox("iloc", full(0, 0), be(2, 0x4400), be(2, 2),
				be(2, 1), be(2, 0), be(2, 1), be(4, 1000), be(4, 100),
				be(2, 2), be(2, 0), be(2, 1), be(4, 1050), be(4, 100))
		}, "overlap"},
		"derivations too deep": {func(p *metaParts) { *p = chain(MaxDepth + 1) }, "more than 8 deep"},
	} {
		p := validParts()
		c.edit(&p)
		_, err := ParseMeta(p.payload())
		if !errors.Is(err, imageformat.ErrCorrupt) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error saying %q", name, err, c.want)
		}
	}
}

func TestCheckImageRefuses(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct {
		edit func(*metaParts)
		want string
	}{
		"not an image": {func(p *metaParts) { p.pitm = mkbox("pitm", full(0, 0), be(2, 2)) }, `type "Exif" is not an image`},
		"no size": {func(p *metaParts) {
			p.iprp = mkbox("iprp", mkbox("ipco", mkbox("hvcC", nil)), mkbox("ipma", full(0, 0), be(4, 1), be(2, 1), be(1, 1), be(1, 1)))
		}, "has no size"},
		"bad irot": {func(p *metaParts) {
			p.iprp = mkbox("iprp", mkbox("ipco", ispe(4, 5), mkbox("irot", nil)), mkbox("ipma", full(0, 0), be(4, 1), be(2, 1), be(1, 2), be(1, 1), be(1, 2)))
		}, "bad irot"},
		"zero size": {func(p *metaParts) {
			p.iprp = mkbox("iprp", mkbox("ipco", ispe(0, 5)), mkbox("ipma", full(0, 0), be(4, 1), be(2, 1), be(1, 1), be(1, 1)))
		}, "has no size"},
	} {
		p := validParts()
		c.edit(&p)
		m, err := ParseMeta(p.payload())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		_, err = m.CheckImage(m.Primary)
		if !errors.Is(err, imageformat.ErrCorrupt) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error saying %q", name, err, c.want)
		}
	}
}
