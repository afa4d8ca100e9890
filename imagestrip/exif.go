package imagestrip

import "encoding/binary"

// exifHeader starts the EXIF data of a JPEG APP1 segment, and sometimes that of a WebP EXIF
// chunk, before the TIFF structure.
const exifHeader = "Exif\x00\x00"

// tagOrientation is the TIFF tag of the EXIF orientation.
const tagOrientation = 0x0112

// orientation returns the Orientation of IFD0 in tiff, a TIFF structure (the EXIF data
// without "Exif\0\0"), or 0 if there is none or it is not one of the eight valid values. Like
// browsers, it accepts only a SHORT of count 1. tiff may be a prefix of the data: an IFD0
// that does not fit in it counts as no orientation.
func orientation(tiff []byte) int {
	if len(tiff) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(tiff[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return 0
	}
	ifd := int64(bo.Uint32(tiff[4:8]))
	if ifd < 8 || ifd+2 > int64(len(tiff)) {
		return 0
	}
	n := int64(bo.Uint16(tiff[ifd:]))
	for i := range n {
		e := ifd + 2 + 12*i
		if e+12 > int64(len(tiff)) {
			return 0
		}
		entry := tiff[e : e+12]
		if bo.Uint16(entry[0:2]) != tagOrientation {
			continue
		}
		const typeShort = 3
		if bo.Uint16(entry[2:4]) != typeShort || bo.Uint32(entry[4:8]) != 1 {
			return 0
		}
		if v := int(bo.Uint16(entry[8:10])); 1 <= v && v <= 8 {
			return v
		}
		return 0
	}
	return 0
}

// orientationTIFF returns a 26-byte TIFF structure whose IFD0 holds only the Orientation
// tag with value o: the header, one entry and a zero offset for the next IFD.
func orientationTIFF(o int) []byte {
	b := []byte{
		'I', 'I', 0x2a, 0, 8, 0, 0, 0, // little-endian, IFD0 at offset 8
		1, 0, // one entry
		0x12, 0x01, 3, 0, 1, 0, 0, 0, byte(o), 0, 0, 0, // Orientation, SHORT, count 1, value
		0, 0, 0, 0, // no next IFD
	}
	return b
}

// keepsOrientation reports whether orientation o must be kept: 1 is the default and 0 means
// there is none.
func keepsOrientation(o int) bool { return o > 1 }
