package testphotos

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// This file edits the box structure of the HEIF files heif-enc writes (ftyp, meta, mdat),
// to give them what heif-enc cannot: an irot rotation, and a grid of tiles as the primary
// image. It knows only the few boxes those edits touch and keeps every other box as bytes.

// box is an ISOBMFF box: a leaf with its payload, or a container with a fixed part (a full
// box's version and flags, iinf's entry count) followed by child boxes.
type box struct {
	typ      string
	data     []byte // a leaf's payload
	head     []byte // a container's bytes before its children
	children []*box
}

// containers are the boxes whose children are edited, with the length of their fixed part.
var containers = map[string]int{"meta": 4, "iprp": 0, "ipco": 0, "iinf": 6, "iref": 4}

func parseBoxes(b []byte) ([]*box, error) {
	var out []*box
	for len(b) > 0 {
		if len(b) < 8 {
			return nil, errors.New("truncated box header")
		}
		size := int(binary.BigEndian.Uint32(b))
		typ := string(b[4:8])
		if size < 8 || size > len(b) {
			return nil, fmt.Errorf("box %q of size %d in %d bytes", typ, size, len(b))
		}
		payload := b[8:size]
		bx := &box{typ: typ}
		if n, ok := containers[typ]; ok {
			if typ == "iinf" && len(payload) > 0 && payload[0] != 0 {
				n = 8 // version 1: a 32-bit entry count
			}
			if len(payload) < n {
				return nil, fmt.Errorf("box %q too short", typ)
			}
			bx.head = slices.Clone(payload[:n])
			children, err := parseBoxes(payload[n:])
			if err != nil {
				return nil, fmt.Errorf("in %q: %w", typ, err)
			}
			bx.children = children
			if bx.children == nil {
				bx.children = []*box{}
			}
		} else {
			bx.data = slices.Clone(payload)
		}
		out = append(out, bx)
		b = b[size:]
	}
	return out, nil
}

func (bx *box) bytes() []byte {
	var payload []byte
	if bx.children != nil {
		if bx.typ == "iinf" { // keep the entry count true
			if len(bx.head) == 6 {
				binary.BigEndian.PutUint16(bx.head[4:], uint16(len(bx.children)))
			} else {
				binary.BigEndian.PutUint32(bx.head[4:], uint32(len(bx.children)))
			}
		}
		payload = slices.Clone(bx.head)
		for _, c := range bx.children {
			payload = append(payload, c.bytes()...)
		}
	} else {
		payload = bx.data
	}
	out := binary.BigEndian.AppendUint32(nil, uint32(8+len(payload)))
	out = append(out, bx.typ...)
	return append(out, payload...)
}

func child(boxes []*box, typ string) *box {
	for _, b := range boxes {
		if b.typ == typ {
			return b
		}
	}
	return nil
}

// heifFile is a HEIF file as heif-enc writes it: ftyp, meta and mdat, in that order.
type heifFile struct {
	top  []*box
	meta *box
	ipco *box
	ipma ipma
	iloc iloc
}

func parseHEIF(b []byte) (*heifFile, error) {
	top, err := parseBoxes(b)
	if err != nil {
		return nil, err
	}
	f := &heifFile{top: top, meta: child(top, "meta")}
	if f.meta == nil || child(top, "mdat") == nil || slices.Index(top, f.meta) > slices.Index(top, child(top, "mdat")) {
		return nil, errors.New("not a file with meta before mdat")
	}
	iprp := child(f.meta.children, "iprp")
	if iprp == nil {
		return nil, errors.New("no iprp box")
	}
	f.ipco = child(iprp.children, "ipco")
	ipmaBox := child(iprp.children, "ipma")
	ilocBox := child(f.meta.children, "iloc")
	if f.ipco == nil || ipmaBox == nil || ilocBox == nil {
		return nil, errors.New("no ipco, ipma or iloc box")
	}
	if f.ipma, err = parseIPMA(ipmaBox.data); err != nil {
		return nil, err
	}
	if f.iloc, err = parseILOC(ilocBox.data); err != nil {
		return nil, err
	}
	return f, nil
}

// primary returns the id of the primary item (pitm version 0).
func (f *heifFile) primary() (uint32, error) {
	pitm := child(f.meta.children, "pitm")
	if pitm == nil || len(pitm.data) < 6 || pitm.data[0] != 0 {
		return 0, errors.New("no version 0 pitm box")
	}
	return uint32(binary.BigEndian.Uint16(pitm.data[4:])), nil
}

// addProperty appends a property to ipco and returns its 1-based index.
func (f *heifFile) addProperty(typ string, payload []byte) uint16 {
	f.ipco.children = append(f.ipco.children, &box{typ: typ, data: payload})
	return uint16(len(f.ipco.children))
}

// bytes writes the file back, moving the file offsets of iloc's extents by however much
// the meta box grew or shrank (mdat follows it).
func (f *heifFile) bytes(oldMetaSize int) []byte {
	iprp := child(f.meta.children, "iprp")
	child(iprp.children, "ipma").data = f.ipma.bytes()
	ilocBox := child(f.meta.children, "iloc")
	ilocBox.data = f.iloc.bytes() // its size does not depend on the offsets
	delta := int64(len(f.meta.bytes()) - oldMetaSize)
	f.iloc.shift(delta)
	ilocBox.data = f.iloc.bytes()
	var out []byte
	for _, b := range f.top {
		out = append(out, b.bytes()...)
	}
	return out
}

// ipma is the item property association box.
type ipma struct {
	version byte
	flags   uint32
	entries []ipmaEntry
}

type ipmaEntry struct {
	item  uint32
	props []uint16 // the essential bit is the top bit (of 8 or of 16)
}

func parseIPMA(b []byte) (ipma, error) {
	r := reader{b: b}
	var p ipma
	vf := r.u32()
	p.version, p.flags = byte(vf>>24), vf&0xffffff
	n := r.u32()
	for range n {
		var e ipmaEntry
		if p.version < 1 {
			e.item = uint32(r.u16())
		} else {
			e.item = r.u32()
		}
		k := r.u8()
		for range k {
			if p.flags&1 != 0 {
				e.props = append(e.props, r.u16())
			} else {
				e.props = append(e.props, uint16(r.u8()))
			}
		}
		p.entries = append(p.entries, e)
	}
	return p, r.err
}

func (p ipma) bytes() []byte {
	out := binary.BigEndian.AppendUint32(nil, uint32(p.version)<<24|p.flags)
	out = binary.BigEndian.AppendUint32(out, uint32(len(p.entries)))
	for _, e := range p.entries {
		if p.version < 1 {
			out = binary.BigEndian.AppendUint16(out, uint16(e.item))
		} else {
			out = binary.BigEndian.AppendUint32(out, e.item)
		}
		out = append(out, byte(len(e.props)))
		for _, a := range e.props {
			if p.flags&1 != 0 {
				out = binary.BigEndian.AppendUint16(out, a)
			} else {
				out = append(out, byte(a))
			}
		}
	}
	return out
}

// associate adds property index prop (1-based) to item, as essential or not.
func (p *ipma) associate(item uint32, prop uint16, essential bool) {
	a := prop
	if essential {
		if p.flags&1 != 0 {
			a |= 0x8000
		} else {
			a |= 0x80
		}
	}
	for i := range p.entries {
		if p.entries[i].item == item {
			p.entries[i].props = append(p.entries[i].props, a)
			return
		}
	}
	p.entries = append(p.entries, ipmaEntry{item: item, props: []uint16{a}})
}

// iloc is the item location box, versions 0 and 1.
type iloc struct {
	version                                     byte
	offsetSize, lengthSize, baseSize, indexSize int
	items                                       []ilocItem
}

type ilocItem struct {
	id      uint32
	method  uint16
	dref    uint16
	base    uint64
	extents []ilocExtent
}

type ilocExtent struct{ index, offset, length uint64 }

func parseILOC(b []byte) (iloc, error) {
	r := reader{b: b}
	var l iloc
	l.version = byte(r.u32() >> 24)
	if l.version > 1 {
		return l, fmt.Errorf("iloc version %d", l.version)
	}
	s := r.u16()
	l.offsetSize, l.lengthSize, l.baseSize = int(s>>12), int(s>>8&15), int(s>>4&15)
	if l.version == 1 {
		l.indexSize = int(s & 15)
	}
	n := int(r.u16())
	for range n {
		it := ilocItem{id: uint32(r.u16())}
		if l.version == 1 {
			it.method = r.u16() & 15
		}
		it.dref = r.u16()
		it.base = r.uint(l.baseSize)
		k := int(r.u16())
		for range k {
			e := ilocExtent{index: r.uint(l.indexSize)}
			e.offset = r.uint(l.offsetSize)
			e.length = r.uint(l.lengthSize)
			it.extents = append(it.extents, e)
		}
		l.items = append(l.items, it)
	}
	return l, r.err
}

func (l iloc) bytes() []byte {
	out := binary.BigEndian.AppendUint32(nil, uint32(l.version)<<24)
	out = binary.BigEndian.AppendUint16(out, uint16(l.offsetSize<<12|l.lengthSize<<8|l.baseSize<<4|l.indexSize))
	out = binary.BigEndian.AppendUint16(out, uint16(len(l.items)))
	for _, it := range l.items {
		out = binary.BigEndian.AppendUint16(out, uint16(it.id))
		if l.version == 1 {
			out = binary.BigEndian.AppendUint16(out, it.method)
		}
		out = binary.BigEndian.AppendUint16(out, it.dref)
		out = appendUint(out, it.base, l.baseSize)
		out = binary.BigEndian.AppendUint16(out, uint16(len(it.extents)))
		for _, e := range it.extents {
			out = appendUint(out, e.index, l.indexSize)
			out = appendUint(out, e.offset, l.offsetSize)
			out = appendUint(out, e.length, l.lengthSize)
		}
	}
	return out
}

// shift moves every extent stored in the file itself (construction method 0) by delta.
func (l *iloc) shift(delta int64) {
	for i := range l.items {
		it := &l.items[i]
		if it.method != 0 || it.dref != 0 {
			continue
		}
		if l.baseSize > 0 && it.base > 0 {
			it.base = uint64(int64(it.base) + delta)
			continue
		}
		for j := range it.extents {
			it.extents[j].offset = uint64(int64(it.extents[j].offset) + delta)
		}
	}
}

func appendUint(out []byte, v uint64, size int) []byte {
	switch size {
	case 4:
		return binary.BigEndian.AppendUint32(out, uint32(v))
	case 8:
		return binary.BigEndian.AppendUint64(out, v)
	}
	return out
}

// reader reads big-endian integers, remembering the first overrun.
type reader struct {
	b   []byte
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil || len(r.b) < n {
		r.err = errors.New("truncated box")
		return make([]byte, n)
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u8() byte    { return r.take(1)[0] }
func (r *reader) u16() uint16 { return binary.BigEndian.Uint16(r.take(2)) }
func (r *reader) u32() uint32 { return binary.BigEndian.Uint32(r.take(4)) }

func (r *reader) uint(size int) uint64 {
	switch size {
	case 4:
		return uint64(r.u32())
	case 8:
		return binary.BigEndian.Uint64(r.take(8))
	}
	return 0
}
