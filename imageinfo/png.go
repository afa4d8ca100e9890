package imageinfo

import (
	"compress/zlib"
	"encoding/binary"
	"errors"
	"hash"
	"hash/crc32"
	"io"

	"github.com/vitrine-dev/vitrine/internal/imageformat"
)

// pngChunk is the header of a PNG chunk.
type pngChunk struct {
	length uint32
	typ    [4]byte
}

func (c pngChunk) is(typ string) bool { return string(c.typ[:]) == typ }

// pngHeader holds the IHDR fields needed after the header.
type pngHeader struct {
	width, height int64
	depth, color  byte
	interlaced    bool
}

// scanPNG checks the signature, the IHDR, the order, lengths and CRCs of all
// chunks, and the size of the decompressed image data.
func scanPNG(s *source) error {
	if err := s.skip(int64(len(imageformat.PNGSignature)), nil); err != nil {
		return err
	}
	c, err := readPNGChunk(s)
	if err != nil {
		return err
	}
	if !c.is("IHDR") {
		return s.corrupt("first chunk is not IHDR")
	}
	hdr, err := readIHDR(s, c)
	if err != nil {
		return err
	}
	if err := s.setDims(hdr.width, hdr.height); err != nil {
		return err
	}

	var seenPLTE, seenTRNS, seenIDAT bool
	var pending *pngChunk // a chunk header already read by the IDAT reader
	for {
		if pending != nil {
			c, pending = *pending, nil
		} else if c, err = readPNGChunk(s); err != nil {
			return err
		}
		crc := crc32.NewIEEE()
		crc.Write(c.typ[:])
		switch {
		case c.is("IHDR"):
			return s.corrupt("duplicate IHDR chunk")
		case c.is("PLTE"):
			switch {
			case seenPLTE:
				return s.corrupt("duplicate PLTE chunk")
			case seenTRNS || seenIDAT:
				return s.corrupt("PLTE chunk out of order")
			case hdr.color == 0 || hdr.color == 4:
				return s.corrupt("PLTE chunk in a greyscale image")
			}
			entries := c.length / 3
			if c.length%3 != 0 || entries == 0 || entries > 256 ||
				(hdr.color == 3 && entries > 1<<hdr.depth) {
				return s.corrupt("bad PLTE length")
			}
			seenPLTE = true
		case c.is("tRNS"):
			switch {
			case seenTRNS:
				return s.corrupt("duplicate tRNS chunk")
			case seenIDAT || (hdr.color == 3 && !seenPLTE):
				return s.corrupt("tRNS chunk out of order")
			case hdr.color == 4 || hdr.color == 6:
				return s.corrupt("tRNS chunk in an image with alpha")
			case (hdr.color == 0 && c.length != 2) || (hdr.color == 2 && c.length != 6) ||
				(hdr.color == 3 && c.length > 256):
				return s.corrupt("bad tRNS length")
			}
			seenTRNS = true
		case c.is("IDAT"):
			if seenIDAT {
				return s.corrupt("IDAT chunks are not consecutive")
			}
			if hdr.color == 3 && !seenPLTE {
				return s.corrupt("missing PLTE chunk")
			}
			seenIDAT = true
			next, err := checkIDAT(s, hdr, c)
			if err != nil {
				return err
			}
			pending = &next
			continue
		case c.is("IEND"):
			if !seenIDAT {
				return s.corrupt("missing IDAT chunk")
			}
			if c.length != 0 {
				return s.corrupt("bad IEND length")
			}
			if err := checkPNGCRC(s, crc); err != nil {
				return err
			}
			return s.drain()
		case c.is("iCCP"):
			s.info.ProfileBytes += int64(c.length)
		default:
			if c.typ[0]&0x20 == 0 {
				return s.corrupt("unknown critical chunk")
			}
		}
		if err := s.skip(int64(c.length), crc); err != nil {
			return err
		}
		if err := checkPNGCRC(s, crc); err != nil {
			return err
		}
	}
}

// readPNGChunk reads a chunk header and checks its length and type.
func readPNGChunk(s *source) (pngChunk, error) {
	var b [8]byte
	if err := s.full(b[:]); err != nil {
		return pngChunk{}, err
	}
	c := pngChunk{length: binary.BigEndian.Uint32(b[:4])}
	copy(c.typ[:], b[4:])
	if c.length > 1<<31-1 {
		return c, s.corrupt("bad chunk length")
	}
	for _, ch := range c.typ {
		if !('A' <= ch && ch <= 'Z' || 'a' <= ch && ch <= 'z') {
			return c, s.corrupt("bad chunk type")
		}
	}
	return c, nil
}

// checkPNGCRC reads a chunk's CRC and compares it with the one computed.
func checkPNGCRC(s *source, crc hash.Hash32) error {
	var b [4]byte
	if err := s.full(b[:]); err != nil {
		return err
	}
	if binary.BigEndian.Uint32(b[:]) != crc.Sum32() {
		return s.corrupt("chunk checksum mismatch")
	}
	return nil
}

// readIHDR reads and validates the IHDR chunk whose header is c.
func readIHDR(s *source, c pngChunk) (pngHeader, error) {
	if c.length != 13 {
		return pngHeader{}, s.corrupt("bad IHDR length")
	}
	var b [13]byte
	if err := s.full(b[:]); err != nil {
		return pngHeader{}, err
	}
	crc := crc32.NewIEEE()
	crc.Write(c.typ[:])
	crc.Write(b[:])
	if err := checkPNGCRC(s, crc); err != nil {
		return pngHeader{}, err
	}
	w, h := binary.BigEndian.Uint32(b[0:4]), binary.BigEndian.Uint32(b[4:8])
	hdr := pngHeader{width: int64(w), height: int64(h), depth: b[8], color: b[9]}
	if w > 1<<31-1 || h > 1<<31-1 {
		return hdr, s.corrupt("bad dimensions")
	}
	if pngChannels(hdr.color, hdr.depth) == 0 {
		return hdr, s.corrupt("bad colour type and bit depth")
	}
	if b[10] != 0 || b[11] != 0 {
		return hdr, s.corrupt("unknown compression or filter method")
	}
	if b[12] > 1 {
		return hdr, s.corrupt("unknown interlace method")
	}
	hdr.interlaced = b[12] == 1
	return hdr, nil
}

// pngChannels returns the number of channels per pixel for a colour type, or
// 0 if the combination of colour type and bit depth is not allowed.
func pngChannels(color, depth byte) int64 {
	switch color {
	case 0: // greyscale
		if depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16 {
			return 1
		}
	case 3: // indexed
		if depth == 1 || depth == 2 || depth == 4 || depth == 8 {
			return 1
		}
	case 2: // truecolour
		if depth == 8 || depth == 16 {
			return 3
		}
	case 4: // greyscale with alpha
		if depth == 8 || depth == 16 {
			return 2
		}
	case 6: // truecolour with alpha
		if depth == 8 || depth == 16 {
			return 4
		}
	}
	return 0
}

// checkIDAT decompresses the run of consecutive IDAT chunks that starts with
// c, checking the CRCs and that the data has exactly the size the header
// requires. It returns the header of the chunk after the run.
func checkIDAT(s *source, hdr pngHeader, c pngChunk) (pngChunk, error) {
	idat := &idatReader{s: s, remaining: c.length, crc: crc32.NewIEEE()}
	idat.crc.Write(c.typ[:])
	px := newPNGPixels(hdr)

	zr, err := zlib.NewReader(idat)
	if err == nil {
		_, err = io.Copy(px, zr)
	}
	if idat.err != nil {
		return pngChunk{}, idat.err
	}
	switch {
	case err == nil:
	case errors.Is(err, errTooMuchData):
		return pngChunk{}, s.corrupt("too much image data")
	case errors.Is(err, errBadFilter):
		return pngChunk{}, s.corrupt("bad scanline filter type")
	case errors.Is(err, zlib.ErrChecksum):
		return pngChunk{}, s.corrupt("image data checksum mismatch")
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return pngChunk{}, s.corrupt("image data ends early")
	default: // zlib.ErrHeader, zlib.ErrDictionary or flate.CorruptInputError
		return pngChunk{}, s.corrupt("bad compressed image data")
	}
	if !px.complete() {
		return pngChunk{}, s.corrupt("not enough image data")
	}
	// Any bytes after the end of the zlib stream are ignored, as libpng and
	// Go's decoder do, but their chunks must still be intact.
	if _, err := io.Copy(io.Discard, idat); err != nil {
		return pngChunk{}, err // already converted by idatReader
	}
	return idat.next, nil
}

// idatReader yields the data of consecutive IDAT chunks, checking each
// chunk's CRC, and stops at the first chunk of another type.
type idatReader struct {
	s         *source
	remaining uint32
	crc       hash.Hash32
	next      pngChunk // the chunk after the run, once done
	done      bool
	err       error // the first error, which the zlib reader may hide
}

func (r *idatReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	for r.remaining == 0 {
		if r.done {
			return 0, io.EOF
		}
		if r.err = checkPNGCRC(r.s, r.crc); r.err != nil {
			return 0, r.err
		}
		c, err := readPNGChunk(r.s)
		if err != nil {
			r.err = err
			return 0, err
		}
		if !c.is("IDAT") {
			r.next, r.done = c, true
			return 0, io.EOF
		}
		r.remaining = c.length
		r.crc.Reset()
		r.crc.Write(c.typ[:])
	}
	if uint64(len(p)) > uint64(r.remaining) {
		p = p[:r.remaining]
	}
	n, err := r.s.br.Read(p)
	r.crc.Write(p[:n])
	r.remaining -= uint32(n)
	r.s.off += int64(n)
	if err != nil {
		r.err = r.s.fail(err)
		return n, r.err
	}
	return n, nil
}

var (
	errTooMuchData = errors.New("too much data")
	errBadFilter   = errors.New("bad filter type")
)

// pngPass is one pass of the image: rows scanlines of rowBytes bytes each,
// including the filter-type byte.
type pngPass struct {
	rows, rowBytes int64
}

// pngPixels counts the decompressed image data against the size the header
// requires and checks the filter-type byte at the start of every scanline.
type pngPixels struct {
	passes   []pngPass
	pass     int
	row, col int64
}

// adam7 lists the x0, y0, dx and dy of the seven Adam7 passes.
var adam7 = [7][4]int64{
	{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4},
	{0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2},
}

func newPNGPixels(hdr pngHeader) *pngPixels {
	bpp := pngChannels(hdr.color, hdr.depth) * int64(hdr.depth)
	px := &pngPixels{}
	add := func(cols, rows int64) {
		if cols > 0 && rows > 0 {
			px.passes = append(px.passes, pngPass{rows: rows, rowBytes: 1 + (cols*bpp+7)/8})
		}
	}
	if !hdr.interlaced {
		add(hdr.width, hdr.height)
		return px
	}
	for _, p := range adam7 {
		add((hdr.width-p[0]+p[2]-1)/p[2], (hdr.height-p[1]+p[3]-1)/p[3])
	}
	return px
}

func (px *pngPixels) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if px.pass >= len(px.passes) {
			return n, errTooMuchData
		}
		ps := px.passes[px.pass]
		if px.col == 0 && p[0] > 4 {
			return n, errBadFilter
		}
		k := min(int64(len(p)), ps.rowBytes-px.col)
		p = p[k:]
		n += int(k)
		px.col += k
		if px.col == ps.rowBytes {
			px.col = 0
			px.row++
			if px.row == ps.rows {
				px.row = 0
				px.pass++
			}
		}
	}
	return n, nil
}

// complete reports whether every scanline of every pass has been seen.
func (px *pngPixels) complete() bool { return px.pass == len(px.passes) }
