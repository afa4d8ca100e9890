package testimages

import "encoding/binary"

// SolidLosslessWebP returns a lossless (VP8L) WebP of width×height pixels of one opaque
// colour in a few dozen bytes: every prefix code has a single symbol, which takes no bits, so
// the pixels cost nothing at all. It is the shape of a decompression bomb: a tiny file that
// decodes to a huge image. width and height must be 1 to 16384.
func SolidLosslessWebP(width, height int, r, g, b byte) []byte {
	var bw bitWriter
	bw.write(0x2f, 8) // VP8L signature
	bw.write(uint32(width-1), 14)
	bw.write(uint32(height-1), 14)
	bw.write(0, 1) // no alpha in use
	bw.write(0, 3) // version 0
	bw.write(0, 1) // no transform
	bw.write(0, 1) // no colour cache
	bw.write(0, 1) // no meta prefix codes
	// Five simple prefix codes of one 8-bit symbol each: green, red, blue, alpha, distance.
	for _, sym := range []byte{g, r, b, 0xff, 0} {
		bw.write(1, 1) // simple code
		bw.write(0, 1) // one symbol
		bw.write(1, 1) // 8 bits for it
		bw.write(uint32(sym), 8)
	}
	payload := bw.bytes()
	chunk := make([]byte, 8, 8+len(payload)+1)
	copy(chunk, "VP8L")
	binary.LittleEndian.PutUint32(chunk[4:], uint32(len(payload)))
	chunk = append(chunk, payload...)
	if len(payload)%2 == 1 {
		chunk = append(chunk, 0)
	}
	out := make([]byte, 12, 12+len(chunk))
	copy(out, "RIFF")
	binary.LittleEndian.PutUint32(out[4:], uint32(4+len(chunk)))
	copy(out[8:], "WEBP")
	return append(out, chunk...)
}

// bitWriter writes bits least significant first, as VP8L reads them.
type bitWriter struct {
	buf   []byte
	nbits uint
}

func (w *bitWriter) write(v uint32, n uint) {
	for i := uint(0); i < n; i++ {
		if w.nbits%8 == 0 {
			w.buf = append(w.buf, 0)
		}
		if v>>i&1 == 1 {
			w.buf[len(w.buf)-1] |= 1 << (w.nbits % 8)
		}
		w.nbits++
	}
}

func (w *bitWriter) bytes() []byte { return w.buf }
