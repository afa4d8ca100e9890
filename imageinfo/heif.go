package imageinfo

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/vitrine-dev/vitrine/internal/isobmff"
)

// scanHEIF checks a HEIF file (HEIC, AVIF or another HEIF) at the level of its boxes:
// an ftyp box first, then top-level boxes up to the end of the input, each lying inside
// the file. The meta box must come before any mdat box and end within the first MiB: it is
// read whole and checked by isobmff.ParseMeta, and the primary image's size and decoding
// cost are checked against the pixel limit before any media data is read. Every piece of
// item data in the file must then lie inside an mdat box, and the data of grids that lies
// there is checked as it passes. The coded images are not decoded.
func scanHEIF(s *source) error {
	var hb [isobmff.MaxHeaderLen]byte
	h, ok, err := readBox(s, hb[:])
	if err != nil {
		return err
	}
	if !ok || h.Type != "ftyp" || h.Size == 0 || h.Size > isobmff.MaxFtyp {
		return s.corrupt("bad ftyp box")
	}
	payload := make([]byte, h.Size-int64(h.Len))
	if err := s.full(payload); err != nil {
		return err
	}
	ftyp, err := isobmff.ParseFtyp(payload)
	if err != nil {
		return s.wrap(err)
	}
	s.info.MediaType = ftyp.MediaType()

	var (
		m      *isobmff.Meta
		ranges []isobmff.Range // the item data in the file, not yet found in an mdat box
		grids  *gridReader
	)
	for {
		start := s.off
		h, ok, err := readBox(s, hb[:])
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		end := int64(math.MaxInt64) // a box of size 0 extends to the end of the input
		if h.Size != 0 {
			end = start + h.Size
		}
		switch {
		case h.Type == "meta" && m != nil:
			return s.corrupt("more than one meta box")
		case h.Type == "meta":
			if end > isobmff.MaxMetaEnd {
				return s.corrupt("meta box does not end within the first MiB")
			}
			payload := make([]byte, end-s.off)
			if err := s.full(payload); err != nil {
				return err
			}
			if m, err = isobmff.ParseMeta(payload); err != nil {
				return s.wrap(err)
			}
			img, err := checkHEIFImages(s, m)
			if err != nil {
				return err
			}
			ranges = m.FileRanges()
			if len(ranges) > 0 && ranges[0].Start < s.off {
				return s.corrupt("item data outside the media data")
			}
			grids, err = newGridReader(m, img.Grids)
			if err != nil {
				return s.wrap(err)
			}
			continue
		case h.Type == "mdat" && m == nil:
			return s.corrupt("the media data comes before the meta box, which is not supported")
		case h.Size == 0 && m == nil:
			return s.corrupt("no meta box")
		}
		// Every piece of item data that starts in this box must lie inside it, and it must
		// be an mdat box.
		for len(ranges) > 0 && ranges[0].Start < end {
			r := ranges[0]
			if h.Type != "mdat" || r.Start < s.off || r.End > end {
				return s.corrupt("item data outside the media data")
			}
			ranges = ranges[1:]
		}
		if h.Type == "mdat" {
			if err := grids.read(s, end); err != nil {
				return err
			}
		}
		if h.Size == 0 {
			if err := s.drain(); err != nil {
				return err
			}
			break
		}
		if err := s.skip(end-s.off, nil); err != nil {
			return err
		}
	}
	switch {
	case m == nil:
		return s.corrupt("no meta box")
	case len(ranges) > 0 && ranges[0].End > s.off:
		return s.corrupt("item data beyond the end of the file")
	case len(ranges) > 0:
		return s.corrupt("item data outside the media data")
	}
	return grids.done(s)
}

// readBox reads a box header. At the end of the input, between boxes, it returns ok false.
func readBox(s *source, b []byte) (h isobmff.Header, ok bool, err error) {
	if _, err := s.br.Peek(1); errors.Is(err, io.EOF) {
		return h, false, nil
	}
	if err := s.full(b[:8]); err != nil {
		return h, false, err
	}
	n := isobmff.HeaderLen(b)
	if err := s.full(b[8:n]); err != nil {
		return h, false, err
	}
	h, err = isobmff.ParseHeader(b[:n])
	if err != nil {
		return h, false, s.wrap(err)
	}
	return h, true, nil
}

// checkHEIFImages checks the primary image of m, and the size of every other image item,
// against the pixel limit, and records the primary image's size and colour profile.
func checkHEIFImages(s *source, m *isobmff.Meta) (isobmff.Image, error) {
	img, err := m.CheckImage(m.Primary)
	if err != nil {
		return img, s.wrap(err)
	}
	w, h := int64(img.Width), int64(img.Height)
	if w > math.MaxInt32 || h > math.MaxInt32 {
		return img, fmt.Errorf("%s: %dx%d exceeds the pixel limit: %w", s.name, w, h, ErrTooManyPixels)
	}
	if err := s.setDims(w, h); err != nil {
		return img, err
	}
	if img.Decoded > uint64(s.maxPixels) {
		return img, fmt.Errorf("%s: decoding takes %d pixels, more than the pixel limit: %w", s.name, img.Decoded, ErrTooManyPixels)
	}
	for i := range m.Items {
		it := &m.Items[i]
		if iw, ih, ok := m.Size(it); ok && it.IsImage() && uint64(iw)*uint64(ih) > uint64(s.maxPixels) {
			return img, fmt.Errorf("%s: image %d of %dx%d exceeds the pixel limit: %w", s.name, it.ID, iw, ih, ErrTooManyPixels)
		}
	}
	s.info.ProfileBytes = img.ProfileBytes
	return img, nil
}

// wrap adds the format's name to an error of package isobmff, which wraps ErrCorrupt.
func (s *source) wrap(err error) error { return fmt.Errorf("%s: %w", s.name, err) }

// gridReader reads the data of grids that lies in mdat boxes (at most
// isobmff.GridDataLen bytes each) as the input passes, and checks each grid once its data
// is complete.
type gridReader struct {
	m      *isobmff.Meta
	pieces []gridPiece // sorted by offset, not overlapping
	data   map[uint32][]byte
	left   map[uint32]int // pieces still to read, by grid
}

// gridPiece is a span of the file that holds part of a grid's data.
type gridPiece struct {
	off  int64
	n    int
	grid uint32
	at   int // where the piece goes in the grid's data
}

func newGridReader(m *isobmff.Meta, grids []uint32) (*gridReader, error) {
	g := &gridReader{m: m, data: map[uint32][]byte{}, left: map[uint32]int{}}
	for _, id := range grids {
		it := m.Item(id)
		n := 0
		for _, e := range it.Extents {
			k := int(min(e.Length, uint64(isobmff.GridDataLen-n)))
			if k == 0 {
				break
			}
			g.pieces = append(g.pieces, gridPiece{off: int64(it.Base + e.Offset), n: k, grid: id, at: n})
			g.left[id]++
			n += k
		}
		g.data[id] = make([]byte, n)
	}
	slices.SortFunc(g.pieces, func(a, b gridPiece) int { return cmp.Compare(a.off, b.off) })
	for i := 1; i < len(g.pieces); i++ {
		if p := g.pieces[i-1]; p.off+int64(p.n) > g.pieces[i].off {
			return nil, fmt.Errorf("grids share their data: %w", ErrCorrupt)
		}
	}
	return g, nil
}

// read reads the pieces that start before end, the end of the current mdat box, which
// hold them whole: scanHEIF has checked that every piece of item data that starts in an
// mdat box ends there.
func (g *gridReader) read(s *source, end int64) error {
	for len(g.pieces) > 0 && g.pieces[0].off < end {
		p := g.pieces[0]
		g.pieces = g.pieces[1:]
		if err := s.skip(p.off-s.off, nil); err != nil {
			return err
		}
		if err := s.full(g.data[p.grid][p.at : p.at+p.n]); err != nil {
			return err
		}
		if g.left[p.grid]--; g.left[p.grid] == 0 {
			if err := g.m.CheckGrid(p.grid, g.data[p.grid]); err != nil {
				return s.wrap(err)
			}
		}
	}
	return nil
}

// done checks that every grid's data was read.
func (g *gridReader) done(s *source) error {
	if len(g.pieces) > 0 {
		return s.corrupt("grid data outside the media data")
	}
	return nil
}
