package imaging

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// Helpers that build JPEG fixtures from real photographs: they remove the camera's own
// metadata segments and insert EXIF, XMP and ICC segments written here byte by byte.

// jpegSegments splits a JPEG into its marker segments before the scan (SOI excluded) and
// the rest (from SOS on).
func jpegSegments(t testing.TB, data []byte) (segments [][]byte, scan []byte) {
	t.Helper()
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		t.Fatal("not a JPEG")
	}
	for i := 2; ; {
		if i+4 > len(data) || data[i] != 0xFF {
			t.Fatalf("bad JPEG segment at %d", i)
		}
		if data[i+1] == 0xDA { // start of scan
			return segments, data[i:]
		}
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		segments = append(segments, data[i:i+2+n])
		i += 2 + n
	}
}

// withSegments returns data with its APP1 (EXIF, XMP), APP2 (ICC) and APP13 (IPTC)
// segments replaced by extra, which go right after SOI.
func withSegments(t testing.TB, data []byte, extra ...[]byte) []byte {
	t.Helper()
	segments, scan := jpegSegments(t, data)
	out := []byte{0xFF, 0xD8}
	for _, s := range extra {
		out = append(out, s...)
	}
	for _, s := range segments {
		if m := s[1]; m == 0xE1 || m == 0xE2 || m == 0xED {
			continue
		}
		out = append(out, s...)
	}
	return append(out, scan...)
}

func segment(marker byte, payload []byte) []byte {
	return append([]byte{0xFF, marker, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}, payload...)
}

// ifdEntry is one TIFF tag; data is its value, already big-endian.
type ifdEntry struct {
	tag, typ uint16
	count    uint32
	data     []byte
}

const (
	tiffByte     = 1
	tiffASCII    = 2
	tiffShort    = 3
	tiffLong     = 4
	tiffRational = 5
)

func asciiEntry(tag uint16, s string) ifdEntry {
	return ifdEntry{tag, tiffASCII, uint32(len(s) + 1), append([]byte(s), 0)}
}

func rationals(tag uint16, v ...uint32) ifdEntry {
	var b []byte
	for _, x := range v {
		b = binary.BigEndian.AppendUint32(b, x)
	}
	return ifdEntry{tag, tiffRational, uint32(len(v) / 2), b}
}

// writeIFD appends an IFD with entries (sorted by tag) at the end of tiff, values longer
// than 4 bytes after it, and returns tiff and the IFD's offset.
func writeIFD(tiff []byte, entries []ifdEntry) ([]byte, uint32) {
	at := uint32(len(tiff))
	extra := at + 2 + 12*uint32(len(entries)) + 4
	tiff = binary.BigEndian.AppendUint16(tiff, uint16(len(entries)))
	var values []byte
	for _, e := range entries {
		tiff = binary.BigEndian.AppendUint16(tiff, e.tag)
		tiff = binary.BigEndian.AppendUint16(tiff, e.typ)
		tiff = binary.BigEndian.AppendUint32(tiff, e.count)
		if len(e.data) <= 4 {
			tiff = append(tiff, append(e.data, make([]byte, 4-len(e.data))...)...)
			continue
		}
		tiff = binary.BigEndian.AppendUint32(tiff, extra+uint32(len(values)))
		values = append(values, e.data...)
		if len(values)%2 == 1 {
			values = append(values, 0)
		}
	}
	tiff = binary.BigEndian.AppendUint32(tiff, 0) // no next IFD
	return append(tiff, values...), at
}

// exifSegment returns an APP1 EXIF segment with a camera make, the given orientation and,
// if withGPS, a GPS block placing the photo at the Eiffel Tower.
func exifSegment(orientation uint16, withGPS bool) []byte {
	tiff := []byte{'M', 'M', 0, 42, 0, 0, 0, 8}
	ifd0 := []ifdEntry{
		asciiEntry(0x010F, "VitrineTestCam"),
		{0x0112, tiffShort, 1, binary.BigEndian.AppendUint16(nil, orientation)},
	}
	if withGPS {
		// The GPS IFD goes first, after the header; IFD0 (at offset 8) points to it. Build
		// IFD0 with a placeholder, then patch the pointer.
		ifd0 = append(ifd0, ifdEntry{0x8825, tiffLong, 1, make([]byte, 4)})
	}
	tiff, _ = writeIFD(tiff, ifd0)
	if withGPS {
		var gpsAt uint32
		tiff, gpsAt = writeIFD(tiff, []ifdEntry{
			{0x0000, tiffByte, 4, []byte{2, 3, 0, 0}},
			asciiEntry(0x0001, "N"),
			rationals(0x0002, 48, 1, 51, 1, 2964, 100),
			asciiEntry(0x0003, "E"),
			rationals(0x0004, 2, 1, 17, 1, 4044, 100),
		})
		// IFD0's third entry is the GPS pointer: 8 (IFD0) + 2 (count) + 2×12 + 8 (tag, type, count).
		binary.BigEndian.PutUint32(tiff[8+2+2*12+8:], gpsAt)
	}
	return segment(0xE1, append([]byte("Exif\x00\x00"), tiff...))
}

// xmpSegment returns an APP1 XMP packet that repeats the GPS position and a creator.
func xmpSegment() []byte {
	packet := `<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>` +
		`<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">` +
		`<rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/"` +
		` exif:GPSLatitude="48,51.494N" exif:GPSLongitude="2,17.674E"><dc:creator>Vitrine Test</dc:creator>` +
		`</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>`
	return segment(0xE1, append([]byte("http://ns.adobe.com/xap/1.0/\x00"), packet...))
}

// iccSegment returns an APP2 segment holding profile whole.
func iccSegment(profile []byte) []byte {
	return segment(0xE2, append(append([]byte("ICC_PROFILE\x00"), 1, 1), profile...))
}

// wideGamutProfile returns an ICC v2 RGB display profile with Adobe RGB (1998)'s
// primaries (adapted to D50, as ICC requires) and a 2.2 gamma: the same pixel values mean
// more saturated colours than in sRGB.
func wideGamutProfile() []byte {
	s15 := func(b []byte, v ...float64) []byte {
		for _, x := range v {
			b = binary.BigEndian.AppendUint32(b, uint32(int32(x*65536+0.5)))
		}
		return b
	}
	xyz := func(x, y, z float64) []byte { return s15([]byte("XYZ \x00\x00\x00\x00"), x, y, z) }
	curve := []byte("curv\x00\x00\x00\x00\x00\x00\x00\x01\x02\x33\x00\x00") // gamma 563/256 ≈ 2.2
	desc := func(text string) []byte {
		b := []byte("desc\x00\x00\x00\x00")
		b = binary.BigEndian.AppendUint32(b, uint32(len(text)+1))
		b = append(b, text...)
		b = append(b, 0)
		b = append(b, make([]byte, 4+4+2+1+67)...) // empty Unicode and ScriptCode parts
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
		return b
	}
	tags := []struct {
		sig  string
		data []byte
	}{
		{"desc", desc("Vitrine test wide gamut")},
		{"cprt", append([]byte("text\x00\x00\x00\x00"), "No copyright\x00\x00\x00\x00"...)},
		{"wtpt", xyz(0.9642, 1.0, 0.8249)},
		{"rXYZ", xyz(0.6097, 0.3111, 0.0195)},
		{"gXYZ", xyz(0.2053, 0.6257, 0.0609)},
		{"bXYZ", xyz(0.1492, 0.0632, 0.7446)},
		{"rTRC", curve},
		{"gTRC", curve},
		{"bTRC", curve},
	}
	offset := 128 + 4 + 12*len(tags)
	var table, data []byte
	table = binary.BigEndian.AppendUint32(table, uint32(len(tags)))
	for _, tag := range tags {
		table = append(table, tag.sig...)
		table = binary.BigEndian.AppendUint32(table, uint32(offset+len(data)))
		table = binary.BigEndian.AppendUint32(table, uint32(len(tag.data)))
		data = append(data, tag.data...)
	}
	header := make([]byte, 128)
	binary.BigEndian.PutUint32(header[0:], uint32(128+len(table)+len(data)))
	binary.BigEndian.PutUint32(header[8:], 0x02100000) // version 2.1
	copy(header[12:], "mntrRGB XYZ ")
	binary.BigEndian.PutUint16(header[24:], 2024) // creation date: 2024-01-01
	binary.BigEndian.PutUint16(header[26:], 1)
	binary.BigEndian.PutUint16(header[28:], 1)
	copy(header[36:], "acsp")
	copy(header[68:], s15(nil, 0.9642, 1.0, 0.8249)) // PCS illuminant, D50
	return bytes.Join([][]byte{header, table, data}, nil)
}
