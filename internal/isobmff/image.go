package isobmff

import (
	"encoding/binary"
	"math/bits"
)

// Image is what CheckImage learns of an image item.
type Image struct {
	// Width and Height are those of the item's ispe property: the size of the image before
	// its irot and imir transforms, and for a grid the size of the grid's output.
	Width, Height uint32
	// Decoded is how many pixels a decoder decodes to show the image: its own for a coded
	// image, its tiles' for a grid (tiles × tile size, which exceeds the grid's size when
	// its last row and column of tiles extend past it), its input's for an identity
	// transform, and the canvas's plus its inputs' for an overlay. It saturates at 2^62.
	Decoded uint64
	// ProfileBytes is the size of the ICC profiles of the item's colr properties.
	ProfileBytes int64
	// Rotation is the item's irot property: how far the image turns anti-clockwise to be
	// shown, in degrees (0, 90, 180 or 270). Mirror is its imir property: 0 to mirror about
	// a vertical axis (left and right swap), 1 about a horizontal axis, -1 for none. A
	// viewer mirrors or rotates in the order in which the properties are associated.
	Rotation int
	Mirror   int
	// Grids are the IDs of the grids that the image derives from (or is) whose data lies in
	// the file rather than in the meta box: CheckGrid can check them only once their data
	// has been read.
	Grids []uint32
}

// CheckImage checks the image item id and the images it derives from: each is an image of a
// type this package knows with a non-zero ispe size; coded images have data; a grid has
// tiles of one size that cover its output (its data is checked at once when it lies in the
// meta box, else see Image.Grid); an identity transform has one input and an overlay at
// least one. It returns the item's size and what decoding it costs.
func (m *Meta) CheckImage(id uint32) (Image, error) {
	memo := make(map[uint32]cost, len(m.Items))
	c, err := m.checkImage(id, memo)
	if err != nil {
		return Image{}, err
	}
	img := Image{Width: c.w, Height: c.h, Decoded: c.decoded}
	it := m.Item(id)
	img.ProfileBytes = m.profileBytes(it)
	img.Mirror = -1
	if p := m.Property(it, "irot"); p != nil {
		if len(p) != 1 {
			return Image{}, corruptf("bad irot property of image %d", id)
		}
		img.Rotation = 90 * int(p[0]&3)
	}
	if p := m.Property(it, "imir"); p != nil {
		if len(p) != 1 {
			return Image{}, corruptf("bad imir property of image %d", id)
		}
		img.Mirror = int(p[0] & 1)
	}
	for _, it := range m.Items { // in a stable order
		if _, ok := memo[it.ID]; ok && it.Type == "grid" && it.Method == 0 {
			img.Grids = append(img.Grids, it.ID)
		}
	}
	return img, nil
}

// Inputs returns the items that item id is derived from (its dimg references), in order.
func (m *Meta) Inputs(id uint32) []uint32 { return m.inputs[id] }

// cost is what checkImage learns of an image: its size and the pixels decoding it takes.
type cost struct {
	w, h    uint32
	decoded uint64
}

// checkImage is CheckImage for one item, remembering each item checked in memo. The
// derivations neither loop nor nest more than MaxDepth deep (ParseMeta checked), so the
// recursion ends.
func (m *Meta) checkImage(id uint32, memo map[uint32]cost) (cost, error) {
	if c, ok := memo[id]; ok {
		return c, nil
	}
	it := m.Item(id)
	if !it.IsImage() {
		return cost{}, corruptf("item %d of type %q is not an image", id, it.Type)
	}
	w, h, ok := m.Size(it)
	if !ok {
		return cost{}, corruptf("image %d has no size", id)
	}
	img := cost{w: w, h: h}
	inputs := m.Inputs(id)
	var first cost // the first input, whose size a grid's other tiles must have
	sameSize := true
	for i, in := range inputs {
		x, err := m.checkImage(in, memo)
		if err != nil {
			return cost{}, err
		}
		if i == 0 {
			first = x
		}
		sameSize = sameSize && x.w == first.w && x.h == first.h
		img.decoded = add(img.decoded, x.decoded)
	}
	switch it.Type {
	case "hvc1", "av01":
		if !it.Located {
			return cost{}, corruptf("image %d has no data", id)
		}
		img.decoded = uint64(w) * uint64(h)
	case "grid":
		if len(inputs) == 0 {
			return cost{}, corruptf("grid %d has no tiles", id)
		}
		if !it.Located {
			return cost{}, corruptf("grid %d has no data", id)
		}
		if !sameSize {
			return cost{}, corruptf("grid %d has tiles of different sizes", id)
		}
		tw, th := uint64(first.w), uint64(first.h)
		// A grid needs no more tiles than cover its output; the tiles of its last row and
		// column may extend past it, by less than a tile.
		if need := (uint64(w) + tw - 1) / tw * ((uint64(h) + th - 1) / th); uint64(len(inputs)) > need {
			return cost{}, corruptf("grid %d has more tiles than its size needs", id)
		}
		if data, ok := m.idatData(it, GridDataLen); ok {
			if err := m.CheckGrid(id, data); err != nil {
				return cost{}, err
			}
		}
	case "iden":
		if len(inputs) != 1 {
			return cost{}, corruptf("identity transform %d has %d inputs", id, len(inputs))
		}
	case "iovl":
		if len(inputs) == 0 {
			return cost{}, corruptf("overlay %d has no inputs", id)
		}
		img.decoded = add(img.decoded, uint64(w)*uint64(h))
	}
	memo[id] = img
	return img, nil
}

// CheckGrid checks the data of grid item id (an ImageGrid structure): its rows × columns
// are its tiles, its output size is its ispe size, and its tiles cover the output, by less
// than one tile more in each direction.
func (m *Meta) CheckGrid(id uint32, data []byte) error {
	it := m.Item(id)
	if it == nil || it.Type != "grid" {
		return corruptf("item %d is not a grid", id)
	}
	r := reader{b: data}
	version, flags := r.u8(), r.u8()
	rows, cols := int(r.u8())+1, int(r.u8())+1
	n := 2
	if flags&1 != 0 {
		n = 4
	}
	ow, oh := r.uint(n), r.uint(n)
	if r.short || version != 0 {
		return corruptf("bad data of grid %d", id)
	}
	w, h, _ := m.Size(it)
	tiles := m.Inputs(id)
	if rows*cols != len(tiles) {
		return corruptf("grid %d of %dx%d has %d tiles", id, cols, rows, len(tiles))
	}
	if ow != uint64(w) || oh != uint64(h) {
		return corruptf("grid %d is %dx%d but its size is %dx%d", id, ow, oh, w, h)
	}
	tw, th, _ := m.Size(m.Item(tiles[0]))
	if uint64(cols)*uint64(tw) < ow || uint64(cols-1)*uint64(tw) >= ow ||
		uint64(rows)*uint64(th) < oh || uint64(rows-1)*uint64(th) >= oh {
		return corruptf("the tiles of grid %d do not fit its size", id)
	}
	return nil
}

// GridDataLen is how many bytes of a grid's data CheckGrid reads at most.
const GridDataLen = 12

// idatData returns the first max bytes at most of the data of an item whose data lies in
// the idat box.
func (m *Meta) idatData(it *Item, max int) ([]byte, bool) {
	if it.Method != 1 {
		return nil, false
	}
	var out []byte
	for _, e := range it.Extents {
		s := it.Base + e.Offset
		out = append(out, m.idat.payload[s:s+min(e.Length, uint64(max-len(out)))]...)
		if len(out) == max {
			break
		}
	}
	return out, true
}

// Property returns the payload of the first property of type typ associated with it, or nil.
func (m *Meta) Property(it *Item, typ string) []byte {
	for _, a := range it.Properties {
		if a.Index > 0 && m.Properties[a.Index-1].Type == typ {
			return m.Properties[a.Index-1].Data
		}
	}
	return nil
}

// Size returns the width and height of the item's ispe property, if it has one that is
// well formed and not zero.
func (m *Meta) Size(it *Item) (w, h uint32, ok bool) {
	p := m.Property(it, "ispe")
	if len(p) < 12 {
		return 0, 0, false
	}
	w, h = binary.BigEndian.Uint32(p[4:8]), binary.BigEndian.Uint32(p[8:12])
	return w, h, w > 0 && h > 0
}

// profileBytes returns the size of the ICC profiles of the item's colr properties.
func (m *Meta) profileBytes(it *Item) int64 {
	var n int64
	for _, a := range it.Properties {
		if a.Index == 0 {
			continue
		}
		p := m.Properties[a.Index-1]
		if p.Type == "colr" && len(p.Data) >= 4 && (string(p.Data[:4]) == "prof" || string(p.Data[:4]) == "rICC") {
			n += int64(len(p.Data) - 4)
		}
	}
	return n
}

// add returns a+b, or 2^62 if that is more.
func add(a, b uint64) uint64 {
	s, carry := bits.Add64(a, b, 0)
	if carry != 0 || s > 1<<62 {
		return 1 << 62
	}
	return s
}
