package imagestrip

import (
	"bytes"
	"encoding/binary"

	"github.com/vitrine-dev/vitrine/internal/imageformat"
)

// jpegState is what the JPEG stripper is waiting for.
type jpegState int

const (
	jpegWantSOI     jpegState = iota // the first two bytes
	jpegWantLength                   // the length of the segment of marker
	jpegWantSegment                  // the rest of that segment
)

// jpegStripper follows the marker segments and the entropy-coded data up to EOI, as
// imageinfo.Scan does, and writes what it keeps.
type jpegStripper struct {
	in      *input
	state   jpegState
	marker  byte
	entropy bool // scanning entropy-coded data, rather than looking for a marker
	fill    int  // marker search: 1 after 0xFF, 2 after more than one 0xFF
	ffs     int  // entropy-coded data: 0xFF bytes seen just now, the next byte will tell what they are
	held    int  // how many of those came in an earlier Write and are not written yet
	sawEXIF bool // the first EXIF segment has been seen
}

func (j *jpegStripper) start() {
	j.state = jpegWantSOI
	j.in.need(2)
}

func (j *jpegStripper) step(b []byte) error {
	switch j.state {
	case jpegWantSOI:
		if b[0] != 0xff || b[1] != imageformat.MarkerSOI {
			return corrupt("jpeg", "missing SOI marker")
		}
		if err := j.in.write(b); err != nil {
			return err
		}
		j.in.scan()
	case jpegWantLength:
		n := int(binary.BigEndian.Uint16(b))
		if n < 2 {
			return corrupt("jpeg", "bad segment length")
		}
		j.state = jpegWantSegment
		j.in.need(n - 2)
	case jpegWantSegment:
		if err := j.segment(b); err != nil {
			return err
		}
		j.entropy = j.marker == imageformat.MarkerSOS
		j.in.scan()
	}
	return nil
}

func (j *jpegStripper) scan(p []byte) (int, error) {
	if j.entropy {
		return j.scanEntropy(p)
	}
	return j.scanMarker(p)
}

// scanMarker looks for the next marker between segments. Like decoders and imageinfo.Scan,
// it skips stray bytes before the marker, including "\xff\x00", and fill bytes within it;
// they are not written. A zero after fill bytes is taken as marker 0, which is refused.
func (j *jpegStripper) scanMarker(p []byte) (int, error) {
	for i, c := range p {
		switch {
		case j.fill == 0:
			if c == 0xff {
				j.fill = 1
			}
		case c == 0xff:
			j.fill = 2
		case c == 0 && j.fill == 1:
			j.fill = 0
		default:
			j.fill = 0
			return i + 1, j.atMarker(c)
		}
	}
	return len(p), nil
}

// scanEntropy copies entropy-coded data up to the next marker that is neither byte stuffing
// ("\xff\x00", possibly with fill bytes) nor a restart marker, as imageinfo.Scan does. The
// fill bytes before that marker are dropped. The data in p is written in one piece, after the
// 0xFF bytes held back from the end of the previous p, if any: the byte after them shows
// whether they start a marker.
func (j *jpegStripper) scanEntropy(p []byte) (int, error) {
	i := 0
	for i < len(p) {
		c := p[i]
		if j.ffs == 0 && c != 0xff {
			k := bytes.IndexByte(p[i:], 0xff)
			if k < 0 {
				i = len(p)
				break
			}
			i += k
			continue
		}
		i++
		switch {
		case c == 0xff:
			j.ffs++
		case c == 0 || 0xd0 <= c && c <= 0xd7: // stuffed byte or restart marker: data
			if err := j.writeHeld(); err != nil {
				return 0, err
			}
			j.ffs = 0
		default: // a marker ends the data
			inP := j.ffs - j.held
			if err := j.in.write(p[:i-1-inP]); err != nil {
				return 0, err
			}
			j.ffs, j.held, j.entropy = 0, 0, false
			return i, j.atMarker(c)
		}
	}
	inP := j.ffs - j.held
	if err := j.in.write(p[:len(p)-inP]); err != nil {
		return 0, err
	}
	j.held = j.ffs
	return len(p), nil
}

// writeHeld writes the 0xFF bytes held back from an earlier Write.
func (j *jpegStripper) writeHeld() error {
	if j.held == 0 {
		return nil
	}
	var fill [64]byte
	for i := range fill {
		fill[i] = 0xff
	}
	for j.held > 0 {
		k := min(j.held, len(fill))
		if err := j.in.write(fill[:k]); err != nil {
			return err
		}
		j.held -= k
	}
	return nil
}

// atMarker handles a marker found by scan.
func (j *jpegStripper) atMarker(m byte) error {
	switch {
	case m == imageformat.MarkerEOI:
		if err := j.in.emit(0xff, m); err != nil {
			return err
		}
		j.in.discard()
		return nil
	case 0xd0 <= m && m <= 0xd7:
		// A restart marker outside entropy-coded data is ignored by decoders; it is kept.
		return j.in.emit(0xff, m)
	case m == imageformat.MarkerSOI:
		return corrupt("jpeg", "unexpected SOI marker")
	case m < 0xc0:
		return corrupt("jpeg", "unknown marker")
	}
	j.marker = m
	j.state = jpegWantLength
	j.in.need(2)
	return nil
}

// segment writes the segment of j.marker whose contents, after the length, are b, unless it
// is metadata.
func (j *jpegStripper) segment(b []byte) error {
	if j.marker == imageformat.MarkerAPP1 && !j.sawEXIF && bytes.HasPrefix(b, []byte(exifHeader)) {
		j.sawEXIF = true
		if o := orientation(b[len(exifHeader):]); keepsOrientation(o) {
			tiff := orientationTIFF(o)
			return j.writeSegment(imageformat.MarkerAPP1, []byte(exifHeader), tiff)
		}
		return nil
	}
	switch {
	case j.marker == imageformat.MarkerAPP0:
		const jfifLen = 14 // "JFIF\0", version, units, densities, thumbnail width and height
		if !bytes.HasPrefix(b, []byte("JFIF\x00")) {
			return nil
		}
		if len(b) >= jfifLen {
			// Drop the thumbnail: it may show what was cropped out of the picture.
			jfif := bytes.Clone(b[:jfifLen])
			jfif[12], jfif[13] = 0, 0
			b = jfif
		}
	case j.marker == imageformat.MarkerAPP2:
		if !bytes.HasPrefix(b, []byte(imageformat.ICCProfileSignature)) {
			return nil
		}
	case j.marker == imageformat.MarkerAPPE:
		if !bytes.HasPrefix(b, []byte("Adobe")) {
			return nil
		}
	case imageformat.MarkerAPP0 <= j.marker && j.marker <= imageformat.MarkerAPPF, j.marker == imageformat.MarkerCOM:
		return nil
	}
	return j.writeSegment(j.marker, b)
}

// writeSegment writes a marker segment made of the concatenated parts, which are short
// enough for its length field.
func (j *jpegStripper) writeSegment(marker byte, parts ...[]byte) error {
	n := 2
	for _, p := range parts {
		n += len(p)
	}
	if err := j.in.emit(0xff, marker, byte(n>>8), byte(n)); err != nil {
		return err
	}
	for _, p := range parts {
		if err := j.in.write(p); err != nil {
			return err
		}
	}
	return nil
}
