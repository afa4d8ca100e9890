package imageinfo

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/imageformat"
	"github.com/vitrine-dev/vitrine/internal/testimages"
)

// TestProfileBytes checks that the size of an embedded ICC profile is counted in every
// format, whether the profile comes in one piece or several, and that other metadata of the
// same kind (an APP2 segment that is not a profile, another GIF application) is not.
func TestProfileBytes(t *testing.T) {
	profile := bytes.Repeat([]byte{'p'}, 150_000)

	// JPEG: the profile in three APP2 ICC_PROFILE segments, plus an MPF APP2 segment.
	segs := jpegSegments(t, jpegSample(t))
	var app2 [][]byte
	for i, part := range [][]byte{profile[:65_000], profile[65_000:130_000], profile[130_000:]} {
		data := append([]byte(imageformat.ICCProfileSignature), byte(i+1), 3)
		app2 = append(app2, jpegSegment(imageformat.MarkerAPP2, append(data, part...)))
	}
	mpf := jpegSegment(imageformat.MarkerAPP2, append([]byte("MPF\x00"), make([]byte, 5000)...))
	jpeg := joinSegments(append(append([][]byte{segs[0]}, append(app2, mpf)...), segs[1:]...)...)

	// PNG: an iCCP chunk (name, method, then the profile as is: not checked).
	iccp := testimages.PNGChunk("iCCP", append([]byte("icc\x00\x00"), profile...))
	png := pngFile(ihdr(3, 2, 8, 0, 0), append(iccp, bytes.Join(idatChunks(zlibBytes(pngRaw3x2())), nil)...))

	// GIF: an ICCRGBG1012 application extension, and a NETSCAPE2.0 one.
	gif := gifFile(gifHeader(1, 1), gifApplication("ICCRGBG1012", profile), gifApplication("NETSCAPE2.0", []byte{1, 0, 0}),
		gifFrame(0, 0, 1, 1, 2, onePixel...))

	// WebP: an ICCP chunk in an extended file.
	webp, err := testimages.ExtendedWebP(webpSample(t, "lossy.webp"), 13, 7, 200_000)
	if err != nil {
		t.Fatal(err)
	}
	webpProfile := int64(binary.LittleEndian.Uint32(webp[12+18+4:]))

	for _, tc := range []struct {
		name string
		data []byte
		want int64
	}{
		{"jpeg", jpeg, int64(len(profile))},
		{"png", png, int64(len(profile)) + 5},
		{"gif", gif, int64(len(profile))},
		{"webp", webp, webpProfile},
		{"jpeg without", jpegSample(t), 0},
	} {
		info, err := Scan(bytes.NewReader(tc.data), 1<<20)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if info.ProfileBytes != tc.want {
			t.Errorf("%s: ProfileBytes = %d, want %d", tc.name, info.ProfileBytes, tc.want)
		}
	}
}

// jpegSegment returns a marker segment with its length.
func jpegSegment(marker byte, data []byte) []byte {
	b := []byte{0xff, marker}
	b = binary.BigEndian.AppendUint16(b, uint16(len(data)+2))
	return append(b, data...)
}

// gifApplication returns an application extension named id carrying data in sub-blocks.
func gifApplication(id string, data []byte) []byte {
	b := append([]byte{0x21, 0xff, byte(len(id))}, id...)
	for len(data) > 0 {
		n := min(len(data), 255)
		b = append(append(b, byte(n)), data[:n]...)
		data = data[n:]
	}
	return append(b, 0)
}
