package imageinfo

import (
	"bytes"
	"encoding/binary"

	"github.com/vitrine-dev/vitrine/internal/imageformat"
)

// jpegState is what the scanner remembers between segments.
type jpegState struct {
	sof         byte      // the SOF marker, or 0 before it
	progressive bool      // the frame is progressive (SOF2, SOF6, SOF10, SOF14)
	ncomp       int       // number of frame components
	ids         [255]byte // component identifiers, in frame order
	scanned     [255]bool // component has appeared in a scan
	// coef holds, for each component of a progressive frame and each of its
	// 64 coefficients, the point transform (Al) of the last scan that coded
	// it: 0xff before any scan, 0 once its last bit has been coded.
	coef  [4][64]byte
	scans int
}

// scanJPEG walks the marker segments and the entropy-coded data up to EOI.
// The frame header (SOF) must precede the first scan, and at EOI every
// component must have been coded completely: in a progressive frame, every
// coefficient down to the last bit.
func scanJPEG(s *source) error {
	if err := s.skip(2, nil); err != nil { // SOI
		return err
	}
	st := &jpegState{}
	var marker byte
	pending := false // marker was found at the end of entropy-coded data
	for {
		if !pending {
			m, err := nextJPEGMarker(s)
			if err != nil {
				return err
			}
			marker = m
		}
		pending = false

		switch {
		case marker == imageformat.MarkerEOI:
			if err := st.checkComplete(s); err != nil {
				return err
			}
			return s.drain()
		case 0xd0 <= marker && marker <= 0xd7:
			// A restart marker outside entropy-coded data is harmless; libjpeg
			// and Go's decoder ignore it too.
			continue
		case marker == imageformat.MarkerSOI:
			return s.corrupt("unexpected SOI marker")
		case marker < 0xc0:
			return s.corrupt("unknown marker")
		}

		var lb [2]byte
		if err := s.full(lb[:]); err != nil {
			return err
		}
		length := int(binary.BigEndian.Uint16(lb[:]))
		if length < 2 {
			return s.corrupt("bad segment length")
		}
		n := length - 2
		switch {
		case isJPEGSOF(marker):
			if err := st.readSOF(s, marker, n); err != nil {
				return err
			}
		case marker == imageformat.MarkerSOS:
			if err := st.readSOS(s, n); err != nil {
				return err
			}
			m, err := skipEntropyData(s)
			if err != nil {
				return err
			}
			marker, pending = m, true
		case marker == imageformat.MarkerDRI && n != 2:
			return s.corrupt("bad DRI length")
		case marker == imageformat.MarkerAPP2 && n >= len(imageformat.ICCProfileSignature):
			if err := readJPEGAPP2(s, n); err != nil {
				return err
			}
		default: // DHT, DQT, DRI, APPn, COM and other segments with a length
			if err := s.skip(int64(n), nil); err != nil {
				return err
			}
		}
	}
}

// readJPEGAPP2 consumes an APP2 segment of n bytes, counting its data as
// profile data when it holds a part of an ICC profile (after the signature, a
// sequence number and a count).
func readJPEGAPP2(s *source, n int) error {
	var sig [len(imageformat.ICCProfileSignature)]byte
	if err := s.full(sig[:]); err != nil {
		return err
	}
	if string(sig[:]) == imageformat.ICCProfileSignature {
		s.info.ProfileBytes += int64(max(n-len(sig)-2, 0))
	}
	return s.skip(int64(n-len(sig)), nil)
}

// isJPEGSOF reports whether m is a start-of-frame marker. 0xc4 (DHT), 0xc8
// (JPG) and 0xcc (DAC) are not.
func isJPEGSOF(m byte) bool {
	return 0xc0 <= m && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc
}

// nextJPEGMarker finds the next marker between segments. Like Go's decoder
// (and libjpeg, with a warning), it skips extraneous bytes before a marker,
// including "\xff\x00", and fill bytes (0xff) within it. A zero after fill
// bytes is returned as marker 0, which the caller rejects, as Go does.
func nextJPEGMarker(s *source) (byte, error) {
	for {
		c, err := s.byte()
		if err != nil {
			return 0, err
		}
		if c != 0xff {
			continue
		}
		if c, err = s.byte(); err != nil {
			return 0, err
		}
		if c == 0 {
			continue
		}
		for c == 0xff {
			if c, err = s.byte(); err != nil {
				return 0, err
			}
		}
		return c, nil
	}
}

// readSOF reads a frame header of n bytes and records the dimensions and the
// components.
func (st *jpegState) readSOF(s *source, marker byte, n int) error {
	if st.sof != 0 {
		return s.corrupt("multiple SOF markers")
	}
	var b [6 + 3*255]byte
	if n < 6 || n > len(b) {
		return s.corrupt("bad SOF length")
	}
	if err := s.full(b[:n]); err != nil {
		return err
	}
	precision := b[0]
	height := int64(binary.BigEndian.Uint16(b[1:3]))
	width := int64(binary.BigEndian.Uint16(b[3:5]))
	nf := int(b[5])
	lossless := marker&3 == 3 // SOF3, SOF7, SOF11, SOF15
	st.sof = marker
	st.progressive = marker&3 == 2 // SOF2, SOF6, SOF10, SOF14
	switch {
	case n != 6+3*nf || nf == 0:
		return s.corrupt("bad SOF length")
	case st.progressive && nf > 4:
		return s.corrupt("too many components")
	case lossless && (precision < 2 || precision > 16),
		!lossless && precision != 8 && precision != 12:
		return s.corrupt("bad sample precision")
	}
	st.ncomp = nf
	for i := range nf {
		c := b[6+3*i : 9+3*i]
		if bytes.IndexByte(st.ids[:i], c[0]) >= 0 {
			return s.corrupt("repeated component identifier")
		}
		st.ids[i] = c[0]
		if h, v := c[1]>>4, c[1]&15; h < 1 || h > 4 || v < 1 || v > 4 {
			return s.corrupt("bad sampling factors")
		}
		if c[2] > 3 {
			return s.corrupt("bad quantisation table")
		}
	}
	for i := range st.coef {
		for k := range st.coef[i] {
			st.coef[i][k] = 0xff
		}
	}
	return s.setDims(width, height)
}

// readSOS reads a scan header of n bytes and updates which components and
// coefficients have been coded.
func (st *jpegState) readSOS(s *source, n int) error {
	if st.sof == 0 {
		return s.corrupt("SOS before SOF")
	}
	var b [4 + 2*4]byte
	if n < 1 || n > len(b) {
		return s.corrupt("bad SOS length")
	}
	if err := s.full(b[:n]); err != nil {
		return err
	}
	ns := int(b[0])
	if ns < 1 || ns > 4 || n != 4+2*ns {
		return s.corrupt("bad SOS length")
	}
	ss, se, ah, al := b[1+2*ns], b[2+2*ns], b[3+2*ns]>>4, b[3+2*ns]&15
	if st.progressive {
		switch {
		case ss > se || se > 63, ss == 0 && se != 0, ss > 0 && ns != 1:
			return s.corrupt("bad progressive spectral selection")
		case ah != 0 && al != ah-1, al > 13:
			return s.corrupt("bad progressive successive approximation")
		}
	}
	var inScan [4]int
	for i := range ns {
		ci := bytes.IndexByte(st.ids[:st.ncomp], b[1+2*i])
		if ci < 0 {
			return s.corrupt("scan refers to an unknown component")
		}
		for _, prev := range inScan[:i] {
			if prev == ci {
				return s.corrupt("repeated component in scan")
			}
		}
		inScan[i] = ci
		st.scanned[ci] = true
		if st.progressive {
			for k := ss; k <= se; k++ {
				st.coef[ci][k] = al
			}
		}
	}
	st.scans++
	return nil
}

// checkComplete reports an error at EOI if the image is incomplete: no scan,
// a component never coded, or (progressive) a coefficient not refined to its
// last bit, which is what a progressive JPEG cut short and closed with EOI
// looks like.
func (st *jpegState) checkComplete(s *source) error {
	if st.scans == 0 {
		return s.corrupt("no image data")
	}
	for ci := range st.ncomp {
		if !st.scanned[ci] {
			return s.corrupt("component without image data")
		}
		if st.progressive {
			for _, bit := range st.coef[ci] {
				if bit != 0 {
					return s.corrupt("incomplete progressive image")
				}
			}
		}
	}
	return nil
}

// skipEntropyData consumes entropy-coded data up to the next marker that is
// neither byte stuffing ("\xff\x00") nor a restart marker, and returns that
// marker.
func skipEntropyData(s *source) (byte, error) {
	for {
		b, err := s.buffered()
		if err != nil {
			return 0, err
		}
		i := bytes.IndexByte(b, 0xff)
		if i < 0 {
			if err := s.skip(int64(len(b)), nil); err != nil {
				return 0, err
			}
			continue
		}
		if err := s.skip(int64(i+1), nil); err != nil {
			return 0, err
		}
		c := byte(0xff)
		for c == 0xff {
			if c, err = s.byte(); err != nil {
				return 0, err
			}
		}
		if c != 0 && (c < 0xd0 || c > 0xd7) {
			return c, nil
		}
	}
}
