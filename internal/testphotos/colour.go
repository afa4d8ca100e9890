package testphotos

import (
	"encoding/binary"
	"image"
	"math"
	"unicode/utf16"
)

// This file holds what the HEIF photographs need besides pixels: JPEG segments of EXIF
// (orientation, GPS) and of an ICC profile, which heif-enc copies into the HEIF's Exif item
// and colr box, a Display P3 ICC profile, and the conversion of sRGB pixels to Display P3.

// exifSegment returns a JPEG APP1 segment holding a big-endian EXIF block with the given
// Orientation (none if 0) and, with gps, a GPS IFD with a latitude and a longitude.
func exifSegment(orientation int, gps bool) []byte {
	type entry struct {
		tag, typ uint16
		count    uint32
		value    uint32 // inline value or offset
	}
	var ifd0 []entry
	if orientation > 0 {
		ifd0 = append(ifd0, entry{0x0112, 3, 1, uint32(orientation) << 16})
	}
	if gps {
		ifd0 = append(ifd0, entry{0x8825, 4, 1, 0}) // GPS IFD pointer, set below
	}
	ifdSize := func(n int) uint32 { return uint32(2 + 12*n + 4) }
	tiff := []byte("MM\x00\x2a\x00\x00\x00\x08")
	gpsAt := 8 + ifdSize(len(ifd0))
	gpsIFD := []entry{
		{0x0000, 1, 4, 0x02030000}, // GPSVersionID 2.3.0.0
		{0x0001, 2, 2, 'N' << 24},  // GPSLatitudeRef
		{0x0002, 5, 3, 0},          // GPSLatitude: three RATIONALs, after the IFD
		{0x0003, 2, 2, 'E' << 24},  // GPSLongitudeRef
		{0x0004, 5, 3, 0},          // GPSLongitude
	}
	rationalsAt := gpsAt + ifdSize(len(gpsIFD))
	gpsIFD[2].value, gpsIFD[4].value = rationalsAt, rationalsAt+24
	if gps {
		ifd0[len(ifd0)-1].value = gpsAt
	}
	writeIFD := func(entries []entry) {
		tiff = binary.BigEndian.AppendUint16(tiff, uint16(len(entries)))
		for _, e := range entries {
			tiff = binary.BigEndian.AppendUint16(tiff, e.tag)
			tiff = binary.BigEndian.AppendUint16(tiff, e.typ)
			tiff = binary.BigEndian.AppendUint32(tiff, e.count)
			tiff = binary.BigEndian.AppendUint32(tiff, e.value)
		}
		tiff = binary.BigEndian.AppendUint32(tiff, 0) // no next IFD
	}
	writeIFD(ifd0)
	if gps {
		writeIFD(gpsIFD)
		for _, v := range []uint32{48, 1, 51, 1, 30, 1, 2, 1, 17, 1, 40, 1} {
			tiff = binary.BigEndian.AppendUint32(tiff, v)
		}
	}
	payload := append([]byte("Exif\x00\x00"), tiff...)
	return segment(0xE1, payload)
}

// iccSegment returns a JPEG APP2 segment holding profile whole (it must fit in one).
func iccSegment(profile []byte) []byte {
	payload := append([]byte("ICC_PROFILE\x00"), 1, 1)
	return segment(0xE2, append(payload, profile...))
}

func segment(marker byte, payload []byte) []byte {
	out := []byte{0xFF, marker}
	out = binary.BigEndian.AppendUint16(out, uint16(2+len(payload)))
	return append(out, payload...)
}

// displayP3Profile returns an ICC v4 display profile of Display P3: P3's primaries with a
// D65 white (adapted to the D50 connection space by Bradford, as the chad tag records)
// and sRGB's tone curve. Its colorants are those of Apple's Display P3 profile.
func displayP3Profile() []byte {
	s15 := func(out []byte, vs ...float64) []byte {
		for _, v := range vs {
			out = binary.BigEndian.AppendUint32(out, uint32(int32(math.Round(v*65536))))
		}
		return out
	}
	xyz := func(x, y, z float64) []byte { return s15([]byte("XYZ \x00\x00\x00\x00"), x, y, z) }
	mluc := func(text string) []byte {
		out := []byte("mluc\x00\x00\x00\x00")
		out = binary.BigEndian.AppendUint32(out, 1)  // one record
		out = binary.BigEndian.AppendUint32(out, 12) // of 12 bytes
		out = append(out, "enUS"...)
		units := utf16.Encode([]rune(text))
		out = binary.BigEndian.AppendUint32(out, uint32(2*len(units)))
		out = binary.BigEndian.AppendUint32(out, 28)
		for _, u := range units {
			out = binary.BigEndian.AppendUint16(out, u)
		}
		return out
	}
	// sRGB's curve: Y = (aX+b)^g for X >= d, else cX.
	trc := s15([]byte("para\x00\x00\x00\x00\x00\x03\x00\x00"), 2.4, 1/1.055, 0.055/1.055, 1/12.92, 0.04045)
	tags := []struct {
		sig  string
		data []byte
	}{
		{"desc", mluc("Display P3")},
		{"cprt", mluc("No copyright, use freely")},
		{"wtpt", xyz(0.964203, 1, 0.824905)},
		{"rXYZ", xyz(0.515102, 0.241182, -0.00105)},
		{"gXYZ", xyz(0.291965, 0.692236, 0.041885)},
		{"bXYZ", xyz(0.157153, 0.066582, 0.784378)},
		{"rTRC", trc},
		{"gTRC", trc},
		{"bTRC", trc},
		{"chad", s15([]byte("sf32\x00\x00\x00\x00"),
			1.047882, 0.022918, -0.050217, 0.029586, 0.990478, -0.017075, -0.009247, 0.015075, 0.751678)},
	}
	table := binary.BigEndian.AppendUint32(nil, uint32(len(tags)))
	var data []byte
	at := 128 + 4 + 12*len(tags)
	for _, tag := range tags {
		table = append(table, tag.sig...)
		table = binary.BigEndian.AppendUint32(table, uint32(at+len(data)))
		table = binary.BigEndian.AppendUint32(table, uint32(len(tag.data)))
		data = append(data, tag.data...)
		for len(data)%4 != 0 {
			data = append(data, 0)
		}
	}
	size := at + len(data)
	head := binary.BigEndian.AppendUint32(nil, uint32(size))
	head = append(head, 0, 0, 0, 0)                   // preferred CMM
	head = append(head, 0x04, 0x30, 0, 0)             // version 4.3
	head = append(head, "mntrRGB XYZ "...)            // class, colour space, PCS
	for _, v := range []uint16{2026, 1, 1, 0, 0, 0} { // date
		head = binary.BigEndian.AppendUint16(head, v)
	}
	head = append(head, "acsp"...)
	head = append(head, make([]byte, 64-len(head)+4)...) // platform .. rendering intent (perceptual)
	head = s15(head, 0.964203, 1, 0.824905)              // PCS illuminant, D50
	head = append(head, make([]byte, 128-len(head))...)  // creator, ID, reserved
	out := append(head, table...)
	return append(out, data...)
}

// toDisplayP3 converts img, taken as sRGB, to Display P3 (the same colours, other
// numbers): both share the D65 white and the tone curve, so it is a 3×3 matrix on linear
// values.
func toDisplayP3(img image.Image) *image.RGBA {
	return linearMatrix(img, [3][3]float64{
		{0.8224621, 0.1775380, 0},
		{0.0331941, 0.9668058, 0},
		{0.0170827, 0.0723974, 0.9105199},
	})
}

// linearMatrix applies m to the linear values of img's pixels, both in sRGB's tone curve.
func linearMatrix(img image.Image, m [3][3]float64) *image.RGBA {
	var linear [256]float64
	for i := range linear {
		v := float64(i) / 255
		if v <= 0.04045 {
			linear[i] = v / 12.92
		} else {
			linear[i] = math.Pow((v+0.055)/1.055, 2.4)
		}
	}
	encode := func(v float64) uint8 {
		v = min(max(v, 0), 1)
		if v <= 0.0031308 {
			v *= 12.92
		} else {
			v = 1.055*math.Pow(v, 1/2.4) - 0.055
		}
		return uint8(math.Round(v * 255))
	}
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			in := [3]float64{linear[r>>8], linear[g>>8], linear[bl>>8]}
			i := out.PixOffset(x-b.Min.X, y-b.Min.Y)
			for c := range 3 {
				out.Pix[i+c] = encode(m[c][0]*in[0] + m[c][1]*in[1] + m[c][2]*in[2])
			}
			out.Pix[i+3] = 255
		}
	}
	return out
}
