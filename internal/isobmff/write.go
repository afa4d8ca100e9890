package isobmff

import "fmt"

// WithoutMetadata returns the meta box, header included, rewritten without its metadata
// items (see Item.IsMetadata): they are left out of the item information, location,
// reference and property association boxes, and their data in the idat box is zeroed. The
// other child boxes are copied byte for byte. The rewritten box is never longer than the
// original: the data of the remaining items that lies in the file moves back by the
// difference, and their offsets are rewritten to match.
//
// end is the offset in the file of the end of the original meta box, and size its length.
// All item data in the file must come after it. WithoutMetadata also returns the ranges of
// the file (as it was) that hold the metadata's data, sorted and merged: the caller must
// blank them, keeping their length, as they pass.
func (m *Meta) WithoutMetadata(end, size int64) ([]byte, []Range, error) {
	for _, r := range m.FileRanges() {
		if r.Start < end {
			return nil, nil, corrupt("item data outside the media data")
		}
	}
	first, err := m.appendWithout(nil, 0)
	if err != nil {
		return nil, nil, err
	}
	shift := size - int64(len(first))
	if shift < 0 {
		return nil, nil, fmt.Errorf("isobmff: rewritten meta box grew from %d to %d bytes", size, len(first))
	}
	box, err := m.appendWithout(first[:0], shift) // the same length, in the same memory
	if err != nil {
		return nil, nil, err
	}
	if len(box) != len(first) {
		return nil, nil, fmt.Errorf("isobmff: rewritten meta box changed size with its offsets")
	}
	return box, m.MetadataRanges(), nil
}

// appendWithout appends the meta box without its metadata items, moving the offsets in
// the file of the other items' data back by shift bytes.
func (m *Meta) appendWithout(b []byte, shift int64) ([]byte, error) {
	keep := func(id uint32) bool { it := m.Item(id); return it != nil && !it.IsMetadata() }
	var p []byte
	p = append(p, m.fullBox[:]...)
	for _, c := range m.children {
		switch c.typ {
		case "iinf":
			p = m.appendIinf(p, keep)
		case "iloc":
			var err error
			if p, err = m.appendIloc(p, keep, shift); err != nil {
				return nil, err
			}
		case "iref":
			p = m.appendIref(p, keep)
		case "iprp":
			p = m.appendIprp(p, c.payload, keep)
		case "idat":
			p = m.appendIdat(p, c.payload)
		default:
			p = append(p, m.payload[c.start:c.end]...)
		}
	}
	return append(appendHeader(b, "meta", len(p)), p...), nil
}

// box appends a box of type typ whose payload appendPayload appends.
func box(b []byte, typ string, appendPayload func([]byte) []byte) []byte {
	start := len(b)
	b = appendHeader(b, typ, 0)
	b = appendPayload(b)
	n := len(b) - start
	b[start], b[start+1], b[start+2], b[start+3] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
	return b
}

func appendFullBox(b []byte, version uint8, flags uint32) []byte {
	return appendUint(b, uint64(version)<<24|uint64(flags), 4)
}

func (m *Meta) appendIinf(b []byte, keep func(uint32) bool) []byte {
	return box(b, "iinf", func(b []byte) []byte {
		b = appendFullBox(b, m.iinfV, m.iinfF)
		n := 0
		for _, it := range m.Items {
			if keep(it.ID) {
				n++
			}
		}
		if m.iinfV == 0 {
			b = appendUint(b, uint64(n), 2)
		} else {
			b = appendUint(b, uint64(n), 4)
		}
		for _, it := range m.Items {
			if keep(it.ID) {
				b = append(b, it.infe...)
			}
		}
		return b
	})
}

func (m *Meta) appendIloc(b []byte, keep func(uint32) bool, shift int64) ([]byte, error) {
	l := m.iloc
	idSize := 2
	if l.version == 2 {
		idSize = 4
	}
	var err error
	b = box(b, "iloc", func(b []byte) []byte {
		b = appendFullBox(b, l.version, l.flags)
		b = appendUint(b, uint64(l.offsetSize<<12|l.lengthSize<<8|l.baseOffsetSize<<4|l.indexSize), 2)
		n := 0
		for _, id := range m.ilocIDs {
			if keep(id) {
				n++
			}
		}
		b = appendUint(b, uint64(n), idSize)
		for _, id := range m.ilocIDs {
			if !keep(id) {
				continue
			}
			it := m.Item(id)
			b = appendUint(b, uint64(id), idSize)
			if l.version > 0 {
				b = appendUint(b, uint64(it.Method), 2)
			}
			b = appendUint(b, 0, 2) // data_reference_index: this file
			base, moveExtents := it.Base, int64(0)
			if it.Method == 0 {
				if base >= uint64(shift) {
					base -= uint64(shift)
				} else {
					// The extents' offsets hold the rest of the move, and the base if
					// there is one; the data lies after the meta box, so they stay positive.
					moveExtents = shift - int64(base)
					base = 0
				}
			}
			b = appendUint(b, base, l.baseOffsetSize)
			b = appendUint(b, uint64(len(it.Extents)), 2)
			for _, e := range it.Extents {
				off := e.Offset
				if moveExtents != 0 {
					if l.offsetSize == 0 || off < uint64(moveExtents) {
						err = corrupt("item data outside the media data")
					}
					off -= uint64(moveExtents)
				}
				b = appendUint(b, e.Index, l.indexSize)
				b = appendUint(b, off, l.offsetSize)
				b = appendUint(b, e.Length, l.lengthSize)
			}
		}
		return b
	})
	return b, err
}

func (m *Meta) appendIref(b []byte, keep func(uint32) bool) []byte {
	idSize := 2
	if m.irefV == 1 {
		idSize = 4
	}
	return box(b, "iref", func(b []byte) []byte {
		b = appendFullBox(b, m.irefV, m.irefF)
		for _, ref := range m.References {
			if !keep(ref.From) {
				continue
			}
			var to []uint32
			for _, id := range ref.To {
				if keep(id) {
					to = append(to, id)
				}
			}
			if len(to) == 0 {
				continue
			}
			b = box(b, ref.Type, func(b []byte) []byte {
				b = appendUint(b, uint64(ref.From), idSize)
				b = appendUint(b, uint64(len(to)), 2)
				for _, id := range to {
					b = appendUint(b, uint64(id), idSize)
				}
				return b
			})
		}
		return b
	})
}

func (m *Meta) appendIprp(b []byte, payload []byte, keep func(uint32) bool) []byte {
	kids, _ := children(payload, 16, "iprp") // ParseMeta has read them
	return box(b, "iprp", func(b []byte) []byte {
		for _, c := range kids {
			if c.typ != "ipma" {
				b = append(b, payload[c.start:c.end]...)
				continue
			}
			b = box(b, "ipma", func(b []byte) []byte {
				b = appendFullBox(b, m.ipma.version, m.ipma.flags)
				n := 0
				for _, id := range m.ipmaIDs {
					if keep(id) {
						n++
					}
				}
				b = appendUint(b, uint64(n), 4)
				for _, id := range m.ipmaIDs {
					if !keep(id) {
						continue
					}
					if m.ipma.version < 1 {
						b = appendUint(b, uint64(id), 2)
					} else {
						b = appendUint(b, uint64(id), 4)
					}
					props := m.Item(id).Properties
					b = append(b, byte(len(props)))
					for _, a := range props {
						if m.ipma.flags&1 != 0 {
							v := uint64(a.Index)
							if a.Essential {
								v |= 0x8000
							}
							b = appendUint(b, v, 2)
						} else {
							v := uint64(a.Index)
							if a.Essential {
								v |= 0x80
							}
							b = appendUint(b, v, 1)
						}
					}
				}
				return b
			})
		}
		return b
	})
}

// appendIdat appends the idat box with the metadata's data zeroed.
func (m *Meta) appendIdat(b []byte, payload []byte) []byte {
	return box(b, "idat", func(b []byte) []byte {
		start := len(b)
		b = append(b, payload...)
		for _, r := range merge(m.ranges(1, (*Item).IsMetadata)) {
			clear(b[start+int(r.Start) : start+int(r.End)])
		}
		return b
	})
}
