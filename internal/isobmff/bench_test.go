package isobmff

import (
	"bytes"
	"testing"
)

// largestGrid returns the payload of a meta box at the bounds: a grid (item 1) of 4095 tiles
// of 256×256, each with its data in the file, 4096 items, 4096 locations, 4095 references.
func largestGrid() []byte {
	const tiles = MaxItems - 1
	entries := [][]byte{full(1, 0), be(4, MaxItems), infe(1, "grid", "")}
	locs := [][]byte{full(1, 0), be(2, 0x4400), be(2, MaxItems), be(2, 1), be(2, 1), be(2, 0), be(2, 1), be(4, 0), be(4, 8)}
	refs := [][]byte{be(2, 1), be(2, tiles)}
	assoc := [][]byte{full(0, 0), be(4, MaxItems), be(2, 1), be(1, 1), be(1, 1)}
	for i := 2; i <= MaxItems; i++ {
		entries = append(entries, infe(uint16(i), "hvc1", ""))
		locs = append(locs, be(2, uint64(i)), be(2, 0), be(2, 0), be(2, 1), be(4, uint64(1<<20+100*i)), be(4, 100))
		refs = append(refs, be(2, uint64(i)))
		assoc = append(assoc, be(2, uint64(i)), be(1, 2), be(1, 0x83), be(1, 2))
	}
	p := validParts()
	p.pitm = mkbox("pitm", full(0, 0), be(2, 1))
	p.iinf = mkbox("iinf", entries...)
	p.iloc = mkbox("iloc", locs...)
	p.iref = mkbox("iref", full(0, 0), mkbox("dimg", refs...))
	// ImageGrid: 64 rows of 64 columns would be 4096 tiles; 4095 cannot fill a rectangle,
	// so the grid's data (in idat) is not checked here: CheckImage checks the tiles.
	p.iprp = mkbox("iprp", mkbox("ipco", ispe(64*256, 64*256), ispe(256, 256), mkbox("hvcC", nil)), mkbox("ipma", assoc...))
	p.idat = mkbox("idat", []byte{0, 0, 63, 63, 0x40, 0, 0x40, 0})
	return p.payload()
}

// BenchmarkParseMetaLargest measures what reading and checking the largest meta box costs
// (4096 items, a grid of 4095 tiles), before any media data is read.
func BenchmarkParseMetaLargest(b *testing.B) {
	payload := largestGrid()
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		m, err := ParseMeta(payload)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.CheckImage(m.Primary); err != nil && !bytes.Contains([]byte(err.Error()), []byte("tiles")) {
			b.Fatal(err)
		}
	}
}
