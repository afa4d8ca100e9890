package imageinfo

import (
	"bytes"
	"encoding/binary"
)

// webpChunk is a RIFF chunk header with the offsets where its payload ends
// and where the chunk ends, after the padding byte of an odd-sized payload.
type webpChunk struct {
	fourcc          string
	size            uint32
	payloadEnd, end int64
}

// scanWebP checks the RIFF container and the chunk layout of a simple (VP8 or
// VP8L) or extended (VP8X) WebP. The RIFF size must be covered by the input
// and every chunk must lie inside it. The VP8 and VP8L bitstreams are not
// decoded beyond their headers.
func scanWebP(s *source) error {
	var h [12]byte // "RIFF", size, "WEBP"
	if err := s.full(h[:]); err != nil {
		return err
	}
	size := binary.LittleEndian.Uint32(h[4:8])
	if size < 4+8 {
		return s.corrupt("RIFF size too small")
	}
	end := 8 + int64(size)

	c, err := readWebPChunk(s, end)
	if err != nil {
		return err
	}
	switch c.fourcc {
	case "VP8 ", "VP8L":
		w, h, err := readWebPBitstreamHeader(s, c)
		if err != nil {
			return err
		}
		if err := s.setDims(w, h); err != nil {
			return err
		}
		if err := s.skip(c.end-s.off, nil); err != nil {
			return err
		}
		// Whatever follows the image in a simple file is ignored by
		// decoders, but it must still fit in the RIFF container.
		for s.off < end {
			c, err := readWebPChunk(s, end)
			if err != nil {
				return err
			}
			if err := s.skip(c.end-s.off, nil); err != nil {
				return err
			}
		}
	case "VP8X":
		if err := scanWebPExtended(s, c, end); err != nil {
			return err
		}
	default:
		return s.corrupt("first chunk is not VP8, VP8L or VP8X")
	}
	return s.drain()
}

// readWebPChunk reads a chunk header and checks that the chunk, with its
// padding, ends by limit.
func readWebPChunk(s *source, limit int64) (webpChunk, error) {
	if limit-s.off < 8 {
		return webpChunk{}, s.corrupt("chunk extends beyond its container")
	}
	var b [8]byte
	if err := s.full(b[:]); err != nil {
		return webpChunk{}, err
	}
	c := webpChunk{fourcc: string(b[:4]), size: binary.LittleEndian.Uint32(b[4:])}
	c.payloadEnd = s.off + int64(c.size)
	c.end = c.payloadEnd + int64(c.size&1)
	if c.end > limit {
		return c, s.corrupt("chunk extends beyond its container")
	}
	return c, nil
}

// readWebPBitstreamHeader reads the header of a VP8 or VP8L chunk's payload
// and returns the image dimensions. The rest of the payload is left unread.
func readWebPBitstreamHeader(s *source, c webpChunk) (w, h int64, err error) {
	if c.fourcc == "VP8L" {
		var b [5]byte
		if c.size < uint32(len(b)) {
			return 0, 0, s.corrupt("VP8L chunk too short")
		}
		if err := s.full(b[:]); err != nil {
			return 0, 0, err
		}
		bits := binary.LittleEndian.Uint32(b[1:])
		if b[0] != 0x2f {
			return 0, 0, s.corrupt("bad VP8L signature")
		}
		if bits>>29 != 0 {
			return 0, 0, s.corrupt("bad VP8L version")
		}
		return int64(bits&0x3fff) + 1, int64(bits>>14&0x3fff) + 1, nil
	}

	var b [10]byte // frame tag, start code, width and height
	if c.size < uint32(len(b)) {
		return 0, 0, s.corrupt("VP8 chunk too short")
	}
	if err := s.full(b[:]); err != nil {
		return 0, 0, err
	}
	tag := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16
	switch {
	case tag&1 != 0:
		return 0, 0, s.corrupt("VP8 data is not a key frame")
	case tag>>1&7 > 3:
		return 0, 0, s.corrupt("bad VP8 version")
	case tag>>4&1 == 0:
		return 0, 0, s.corrupt("VP8 frame is not shown")
	case tag>>5 > c.size-uint32(len(b)):
		return 0, 0, s.corrupt("bad VP8 partition size")
	case !bytes.Equal(b[3:6], []byte{0x9d, 0x01, 0x2a}):
		return 0, 0, s.corrupt("missing VP8 start code")
	}
	w = int64(binary.LittleEndian.Uint16(b[6:8]) & 0x3fff)
	h = int64(binary.LittleEndian.Uint16(b[8:10]) & 0x3fff)
	if w == 0 || h == 0 {
		return 0, 0, s.corrupt("zero width or height")
	}
	return w, h, nil
}

// scanWebPExtended checks an extended WebP whose VP8X chunk header is c: a
// still image needs exactly one VP8 or VP8L chunk of the canvas size, an
// animation needs ANIM and then at least one ANMF frame inside the canvas.
func scanWebPExtended(s *source, c webpChunk, end int64) error {
	var b [10]byte
	if c.size != uint32(len(b)) {
		return s.corrupt("bad VP8X length")
	}
	if err := s.full(b[:]); err != nil {
		return err
	}
	animated := b[0]&0x02 != 0
	cw, ch := int64(le24(b[4:7]))+1, int64(le24(b[7:10]))+1
	if cw*ch > 1<<32-1 {
		return s.corrupt("canvas too large")
	}
	if err := s.setDims(cw, ch); err != nil {
		return err
	}

	var sawANIM, sawImage bool
	frames := 0
	for s.off < end {
		c, err := readWebPChunk(s, end)
		if err != nil {
			return err
		}
		switch c.fourcc {
		case "ICCP":
			s.info.ProfileBytes += int64(c.size)
		case "ANIM":
			if !animated {
				return s.corrupt("ANIM chunk in a still image")
			}
			if c.size < 6 {
				return s.corrupt("ANIM chunk too short")
			}
			sawANIM = true
		case "ANMF":
			if !sawANIM {
				return s.corrupt("ANMF chunk without ANIM chunk")
			}
			frames++
			if frames > maxFrames {
				return s.tooManyFrames()
			}
			if err := scanWebPFrame(s, c, cw, ch); err != nil {
				return err
			}
		case "ALPH", "VP8 ", "VP8L":
			if animated {
				return s.corrupt("image chunk outside an animation frame")
			}
			if c.fourcc == "ALPH" {
				break
			}
			if sawImage {
				return s.corrupt("more than one image chunk")
			}
			sawImage = true
			w, h, err := readWebPBitstreamHeader(s, c)
			if err != nil {
				return err
			}
			if w != cw || h != ch {
				return s.corrupt("image size differs from canvas size")
			}
		}
		// Skip the rest of the chunk, including chunks such as ICCP, EXIF
		// and XMP that are not checked.
		if err := s.skip(c.end-s.off, nil); err != nil {
			return err
		}
	}
	if animated && frames == 0 {
		return s.corrupt("animation without frames")
	}
	if !animated && !sawImage {
		return s.corrupt("missing image chunk")
	}
	return nil
}

// scanWebPFrame checks an ANMF chunk: the frame must lie inside the cw×ch
// canvas and hold one VP8 or VP8L chunk of the frame's size.
func scanWebPFrame(s *source, c webpChunk, cw, ch int64) error {
	var b [16]byte
	if c.size < uint32(len(b)) {
		return s.corrupt("ANMF chunk too short")
	}
	if err := s.full(b[:]); err != nil {
		return err
	}
	x, y := 2*int64(le24(b[0:3])), 2*int64(le24(b[3:6]))
	fw, fh := int64(le24(b[6:9]))+1, int64(le24(b[9:12]))+1
	if x+fw > cw || y+fh > ch {
		return s.corrupt("animation frame outside the canvas")
	}
	sawImage := false
	for s.off < c.payloadEnd {
		sc, err := readWebPChunk(s, c.payloadEnd)
		if err != nil {
			return err
		}
		if sc.fourcc == "VP8 " || sc.fourcc == "VP8L" {
			if sawImage {
				return s.corrupt("more than one image chunk in a frame")
			}
			sawImage = true
			w, h, err := readWebPBitstreamHeader(s, sc)
			if err != nil {
				return err
			}
			if w != fw || h != fh {
				return s.corrupt("image size differs from frame size")
			}
		}
		if err := s.skip(sc.end-s.off, nil); err != nil {
			return err
		}
	}
	if !sawImage {
		return s.corrupt("animation frame without image")
	}
	return nil
}

// le24 decodes a 24-bit little-endian integer.
func le24(b []byte) uint32 { return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 }
