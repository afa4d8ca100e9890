package isobmff

import (
	"cmp"
	"slices"
)

// Meta is a parsed meta box: the items of a HEIF file, where their data lies, their
// properties and the references between them.
type Meta struct {
	// Primary is the item ID of the primary image, the one that viewers show.
	Primary uint32
	// Items are the items in the order of the item information box.
	Items []Item
	// Properties are the boxes of the item property container, which associations name by
	// their 1-based index.
	Properties []Property
	// References are the item references, in the order of the item reference box.
	References []Reference

	index    map[uint32]int      // item ID to index in Items
	inputs   map[uint32][]uint32 // the dimg references from each item, in order
	fullBox  [4]byte             // the meta box's version and flags
	payload  []byte              // the meta box's payload after its version and flags
	children []child             // of payload
	idat     *child              // the item data box, if any
	iloc     ilocLayout
	ilocIDs  []uint32 // the items of the item location box, in its order
	iinfV    uint8
	iinfF    uint32
	irefV    uint8
	irefF    uint32
	ipma     ipmaLayout
	ipmaIDs  []uint32 // the items of the item property association box, in its order
}

// Item is an item of a HEIF file: an image (coded or derived from other images) or
// metadata.
type Item struct {
	ID uint32
	// Type is the item type: "hvc1", "av01", "grid", "iden", "iovl" for images; "Exif",
	// "mime" (with ContentType, such as XMP's application/rdf+xml) or "uri " for metadata.
	Type        string
	ContentType string
	Hidden      bool
	// Located reports whether the item location box lists the item. Method 0 means that
	// Extents are offsets in the file (after adding Base), 1 offsets in the item data box.
	Located    bool
	Method     uint8
	Base       uint64
	Extents    []Extent
	Properties []Association

	infe []byte // the whole item info entry box
}

// Extent is a piece of an item's data.
type Extent struct {
	Index, Offset, Length uint64
}

// Association ties an item to a property: Index is 1-based into Meta.Properties.
type Association struct {
	Index     int
	Essential bool
}

// Property is a box of the item property container, such as ispe (the image size), colr
// (colour), irot and imir (rotation and mirroring), hvcC and av1C (decoder configuration).
type Property struct {
	Type string
	Data []byte // the payload
}

// Reference is a typed reference from one item to others: dimg from a derived image to its
// inputs, thmb from a thumbnail, auxl from an alpha plane or a depth map, cdsc from metadata
// to the image it describes.
type Reference struct {
	Type string
	From uint32
	To   []uint32
}

type ilocLayout struct {
	version                                           uint8
	flags                                             uint32
	offsetSize, lengthSize, baseOffsetSize, indexSize int
}

type ipmaLayout struct {
	version uint8
	flags   uint32
}

// ParseMeta reads the payload of a meta box (its version and flags first) and checks it: a
// handler of type pict; a primary item that exists; items, extents, references and
// properties within their bounds and naming items and properties that exist; item data in
// this file (construction method 0 or 1), in the item data box for method 1; derived images
// whose references do not loop and nest at most MaxDepth deep; and metadata items whose data
// does not overlap that of other items. It does not check the images themselves: see
// CheckImage.
func ParseMeta(payload []byte) (*Meta, error) {
	if len(payload) < 4 {
		return nil, corrupt("meta box too short")
	}
	r := reader{b: payload}
	if v, _ := r.fullBox(); v != 0 {
		return nil, corruptf("meta box version %d", v)
	}
	m := &Meta{payload: payload[4:], index: map[uint32]int{}, fullBox: [4]byte(payload[:4])}
	kids, err := children(m.payload, 64, "meta")
	if err != nil {
		return nil, err
	}
	m.children = kids
	seen := map[string]bool{}
	for _, c := range kids {
		switch c.typ {
		case "hdlr", "pitm", "iinf", "iloc", "iref", "iprp", "idat", "dinf":
			if seen[c.typ] {
				return nil, corruptf("more than one %s box", c.typ)
			}
			seen[c.typ] = true
		}
	}
	// The items first: the other boxes name them, in whatever order the boxes come.
	for _, c := range kids {
		if c.typ == "iinf" {
			if err := m.parseIinf(c.payload); err != nil {
				return nil, err
			}
		}
	}
	for i := range kids {
		c := &kids[i]
		switch c.typ {
		case "hdlr":
			r := reader{b: c.payload}
			r.fullBox()
			r.u32() // pre_defined
			if h := string(r.take(4)); r.short || h != "pict" {
				return nil, corrupt("handler is not pict")
			}
		case "pitm":
			r := reader{b: c.payload}
			if v, _ := r.fullBox(); v == 0 {
				m.Primary = uint32(r.u16())
			} else {
				m.Primary = r.u32()
			}
			if r.short {
				return nil, corrupt("pitm box too short")
			}
		case "iloc":
			err = m.parseIloc(c.payload)
		case "iref":
			err = m.parseIref(c.payload)
		case "iprp":
			err = m.parseIprp(c.payload)
		case "idat":
			m.idat = c
		}
		if err != nil {
			return nil, err
		}
	}
	for _, t := range []string{"hdlr", "pitm", "iinf", "iloc", "iprp"} {
		if !seen[t] {
			return nil, corruptf("no %s box", t)
		}
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	return m, nil
}

// Item returns the item with the given ID, or nil.
func (m *Meta) Item(id uint32) *Item {
	i, ok := m.index[id]
	if !ok {
		return nil
	}
	return &m.Items[i]
}

func (m *Meta) parseIinf(b []byte) error {
	r := reader{b: b}
	v, f := r.fullBox()
	m.iinfV, m.iinfF = v, f
	var n uint64
	if v == 0 {
		n = uint64(r.u16())
	} else {
		n = uint64(r.u32())
	}
	if r.short {
		return corrupt("iinf box too short")
	}
	if n > MaxItems {
		return corruptf("more than %d items", MaxItems)
	}
	entries, err := children(b[r.off:], int(n), "iinf")
	if err != nil {
		return err
	}
	if len(entries) != int(n) {
		return corrupt("iinf box holds fewer entries than it counts")
	}
	m.Items = make([]Item, 0, n)
	for _, e := range entries {
		if e.typ != "infe" {
			return corruptf("%q box in iinf", e.typ)
		}
		it, err := parseInfe(e.payload)
		if err != nil {
			return err
		}
		it.infe = b[r.off+e.start : r.off+e.end]
		if _, dup := m.index[it.ID]; dup {
			return corruptf("item %d defined twice", it.ID)
		}
		m.index[it.ID] = len(m.Items)
		m.Items = append(m.Items, it)
	}
	return nil
}

func parseInfe(b []byte) (Item, error) {
	r := reader{b: b}
	v, flags := r.fullBox()
	var it Item
	switch v {
	case 2:
		it.ID = uint32(r.u16())
	case 3:
		it.ID = r.u32()
	default:
		return it, corruptf("infe box version %d", v)
	}
	it.Hidden = flags&1 != 0
	r.u16() // item_protection_index
	it.Type = string(r.take(4))
	if r.short {
		return it, corrupt("infe box too short")
	}
	r.cstring() // item_name
	if it.Type == "mime" {
		it.ContentType = r.cstring()
	}
	return it, nil
}

func (m *Meta) parseIloc(b []byte) error {
	r := reader{b: b}
	v, flags := r.fullBox()
	if v > 2 {
		return corruptf("iloc box version %d", v)
	}
	s := r.u16()
	l := ilocLayout{version: v, flags: flags,
		offsetSize: int(s >> 12), lengthSize: int(s >> 8 & 15), baseOffsetSize: int(s >> 4 & 15)}
	if v > 0 {
		l.indexSize = int(s & 15)
	}
	for _, n := range []int{l.offsetSize, l.lengthSize, l.baseOffsetSize, l.indexSize} {
		if n != 0 && n != 4 && n != 8 {
			return corrupt("bad field size in iloc box")
		}
	}
	m.iloc = l
	var n uint64
	if v < 2 {
		n = uint64(r.u16())
	} else {
		n = uint64(r.u32())
	}
	if n > MaxItems {
		return corruptf("more than %d item locations", MaxItems)
	}
	extents := 0
	for range n {
		var id uint32
		if v < 2 {
			id = uint32(r.u16())
		} else {
			id = r.u32()
		}
		var method uint8
		if v > 0 {
			method = uint8(r.u16() & 15)
		}
		dataRef := r.u16()
		base := r.uint(l.baseOffsetSize)
		count := int(r.u16())
		if r.short {
			return corrupt("iloc box too short")
		}
		if extents += count; extents > MaxExtents {
			return corruptf("more than %d extents", MaxExtents)
		}
		it := m.Item(id)
		switch {
		case it == nil:
			return corruptf("location of item %d, which does not exist", id)
		case it.Located:
			return corruptf("item %d located twice", id)
		case dataRef != 0:
			return corrupt("item data in another file")
		case method > 1:
			return corruptf("construction method %d", method)
		case count == 0:
			return corruptf("item %d has no extents", id)
		}
		it.Located, it.Method, it.Base = true, method, base
		it.Extents = make([]Extent, count)
		for i := range it.Extents {
			e := &it.Extents[i]
			e.Index = r.uint(l.indexSize)
			e.Offset = r.uint(l.offsetSize)
			e.Length = r.uint(l.lengthSize)
		}
		if r.short {
			return corrupt("iloc box too short")
		}
		m.ilocIDs = append(m.ilocIDs, id)
	}
	return nil
}

func (m *Meta) parseIref(b []byte) error {
	r := reader{b: b}
	v, f := r.fullBox()
	if r.short || v > 1 {
		return corrupt("bad iref box")
	}
	m.irefV, m.irefF = v, f
	idSize := 2
	if v == 1 {
		idSize = 4
	}
	boxes, err := children(b[4:], MaxReferences, "iref")
	if err != nil {
		return err
	}
	total := 0
	for _, c := range boxes {
		if c.typ == "uuid" {
			return corrupt("uuid box in iref")
		}
		r := reader{b: c.payload}
		ref := Reference{Type: c.typ, From: uint32(r.uint(idSize))}
		n := int(r.u16())
		if total += n; total > MaxReferences {
			return corruptf("more than %d item references", MaxReferences)
		}
		if r.left() != n*idSize {
			return corruptf("bad %s reference box length", c.typ)
		}
		ref.To = make([]uint32, n)
		for i := range ref.To {
			ref.To[i] = uint32(r.uint(idSize))
		}
		m.References = append(m.References, ref)
	}
	return nil
}

func (m *Meta) parseIprp(b []byte) error {
	boxes, err := children(b, 16, "iprp")
	if err != nil {
		return err
	}
	var ipco, ipma bool
	for _, c := range boxes {
		switch c.typ {
		case "ipco":
			if ipco {
				return corrupt("more than one ipco box")
			}
			ipco = true
			props, err := children(c.payload, MaxProperties, "ipco")
			if err != nil {
				return err
			}
			for _, p := range props {
				m.Properties = append(m.Properties, Property{Type: p.typ, Data: p.payload})
			}
		case "ipma":
			if ipma {
				return corrupt("more than one ipma box")
			}
			ipma = true
			if err := m.parseIpma(c.payload); err != nil {
				return err
			}
		}
	}
	if !ipco || !ipma {
		return corrupt("iprp box without ipco and ipma")
	}
	return nil
}

func (m *Meta) parseIpma(b []byte) error {
	r := reader{b: b}
	v, flags := r.fullBox()
	m.ipma = ipmaLayout{version: v, flags: flags}
	n := uint64(r.u32())
	if n > MaxItems {
		return corruptf("more than %d property associations", MaxItems)
	}
	for range n {
		var id uint32
		if v < 1 {
			id = uint32(r.u16())
		} else {
			id = r.u32()
		}
		count := int(r.u8())
		if r.short {
			return corrupt("ipma box too short")
		}
		it := m.Item(id)
		switch {
		case it == nil:
			return corruptf("properties of item %d, which does not exist", id)
		case it.Properties != nil:
			return corruptf("properties of item %d listed twice", id)
		}
		it.Properties = make([]Association, count)
		for i := range it.Properties {
			a := &it.Properties[i]
			if flags&1 != 0 {
				x := r.u16()
				a.Essential, a.Index = x&0x8000 != 0, int(x&0x7fff)
			} else {
				x := r.u8()
				a.Essential, a.Index = x&0x80 != 0, int(x&0x7f)
			}
		}
		if r.short {
			return corrupt("ipma box too short")
		}
		m.ipmaIDs = append(m.ipmaIDs, id)
	}
	return nil
}

// check checks what involves more than one box.
func (m *Meta) check() error {
	if m.Item(m.Primary) == nil {
		return corruptf("primary item %d does not exist", m.Primary)
	}
	for i := range m.Items {
		it := &m.Items[i]
		for _, a := range it.Properties {
			if a.Index > len(m.Properties) {
				return corruptf("item %d has property %d of %d", it.ID, a.Index, len(m.Properties))
			}
		}
		for _, e := range it.Extents {
			if e.Length == 0 {
				return corruptf("item %d has an extent of unknown length", it.ID)
			}
			end := it.Base + e.Offset + e.Length
			if end < it.Base || end > 1<<62 {
				return corruptf("item %d has an extent beyond any file", it.ID)
			}
			if it.Method == 1 && (m.idat == nil || end > uint64(len(m.idat.payload))) {
				return corruptf("item %d has data outside the idat box", it.ID)
			}
		}
	}
	for _, ref := range m.References {
		if m.Item(ref.From) == nil {
			return corruptf("%s reference from item %d, which does not exist", ref.Type, ref.From)
		}
		for _, to := range ref.To {
			if m.Item(to) == nil {
				return corruptf("%s reference to item %d, which does not exist", ref.Type, to)
			}
			if to == ref.From {
				return corruptf("item %d refers to itself", to)
			}
		}
	}
	if err := m.checkDerivations(); err != nil {
		return err
	}
	return m.checkMetadataOverlap()
}

// checkDerivations refuses dimg references that loop or nest more than MaxDepth deep: a
// depth-first walk that colours each item once, so it costs one visit per reference.
func (m *Meta) checkDerivations() error {
	const (
		unseen = iota
		open
		done
	)
	state := make(map[uint32]int, len(m.Items))
	depth := make(map[uint32]int, len(m.Items)) // the longest chain below a done item
	m.inputs = map[uint32][]uint32{}
	for _, ref := range m.References {
		if ref.Type == "dimg" {
			m.inputs[ref.From] = append(m.inputs[ref.From], ref.To...)
		}
	}
	inputs := m.inputs
	var visit func(id uint32) error
	visit = func(id uint32) error {
		switch state[id] {
		case open:
			return corruptf("item references loop through item %d", id)
		case done:
			return nil
		}
		state[id] = open
		d := 0
		for _, in := range inputs[id] {
			if err := visit(in); err != nil {
				return err
			}
			d = max(d, depth[in]+1)
		}
		if d > MaxDepth {
			return corruptf("images derived more than %d deep", MaxDepth)
		}
		state[id], depth[id] = done, d
		return nil
	}
	for _, it := range m.Items {
		if err := visit(it.ID); err != nil {
			return err
		}
	}
	return nil
}

// IsMetadata reports whether an item is metadata rather than an image or what images need:
// EXIF, XMP and other typed content ("mime"), and URIs.
func (it *Item) IsMetadata() bool {
	return it.Type == "Exif" || it.Type == "mime" || it.Type == "uri "
}

// IsImage reports whether an item is an image this package knows: coded with HEVC or AV1,
// or derived (a grid of tiles, an identity transform, an overlay).
func (it *Item) IsImage() bool {
	switch it.Type {
	case "hvc1", "av01", "grid", "iden", "iovl":
		return true
	}
	return false
}

// Range is a span of a file's bytes [Start, End).
type Range struct{ Start, End int64 }

// ranges returns the spans of the data of the items for which keep returns true and whose
// construction method is method: offsets in the file for 0, in the idat payload for 1.
func (m *Meta) ranges(method uint8, keep func(*Item) bool) []Range {
	var out []Range
	for i := range m.Items {
		it := &m.Items[i]
		if !it.Located || it.Method != method || !keep(it) {
			continue
		}
		for _, e := range it.Extents {
			s := int64(it.Base + e.Offset)
			out = append(out, Range{s, s + int64(e.Length)})
		}
	}
	return out
}

// FileRanges returns the spans of the file that hold item data (construction method 0),
// sorted by start. Each must lie in an mdat box after the meta box.
func (m *Meta) FileRanges() []Range {
	return merge(m.ranges(0, func(*Item) bool { return true }))
}

// MetadataRanges returns the spans of the file that hold the data of metadata items
// (construction method 0), sorted by start and merged where they touch or overlap. No other
// item's data overlaps them.
func (m *Meta) MetadataRanges() []Range {
	return merge(m.ranges(0, (*Item).IsMetadata))
}

// checkMetadataOverlap refuses metadata whose data overlaps the data of another item, as
// removing it would damage that item.
func (m *Meta) checkMetadataOverlap() error {
	notMeta := func(it *Item) bool { return !it.IsMetadata() }
	for method := range uint8(2) {
		meta := merge(m.ranges(method, (*Item).IsMetadata))
		if len(meta) == 0 {
			continue
		}
		other := merge(m.ranges(method, notMeta))
		i := 0
		for _, o := range other {
			for i < len(meta) && meta[i].End <= o.Start {
				i++
			}
			if i < len(meta) && meta[i].Start < o.End {
				return corrupt("metadata and image data overlap")
			}
		}
	}
	return nil
}

// merge sorts ranges by start and merges those that touch or overlap.
func merge(rs []Range) []Range {
	slices.SortFunc(rs, func(a, b Range) int { return cmp.Compare(a.Start, b.Start) })
	out := rs[:0]
	for _, r := range rs {
		if n := len(out); n > 0 && r.Start <= out[n-1].End {
			out[n-1].End = max(out[n-1].End, r.End)
			continue
		}
		out = append(out, r)
	}
	return out
}
