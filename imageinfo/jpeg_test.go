package imageinfo

import (
	"bytes"
	"encoding/binary"
	"image/jpeg"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/imageformat"
	"github.com/vitrine-dev/vitrine/internal/testimages"
)

// jpegSample returns a 17×9 baseline JPEG from Go's encoder, whose layout
// is SOI, DQT, SOF0, DHT, SOS with its data, EOI.
func jpegSample(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, testimages.Pattern(17, 9), nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// jpegSegments splits a single-scan JPEG into SOI, the marker segments, the
// SOS segment with its entropy-coded data, and EOI.
func jpegSegments(t testing.TB, b []byte) [][]byte {
	t.Helper()
	segs := [][]byte{b[:2]}
	i := 2
	for i < len(b) {
		if b[i] != 0xff {
			t.Fatalf("no marker at %d", i)
		}
		m := b[i+1]
		if m == imageformat.MarkerEOI {
			return append(segs, b[i:i+2])
		}
		end := i + 2 + int(binary.BigEndian.Uint16(b[i+2:]))
		if m == imageformat.MarkerSOS {
			end = bytes.LastIndex(b, []byte{0xff, imageformat.MarkerEOI})
		}
		segs = append(segs, b[i:end])
		i = end
	}
	t.Fatal("no EOI")
	return nil
}

// findSegment returns the index of the first segment with marker m.
func findSegment(t testing.TB, segs [][]byte, m byte) int {
	t.Helper()
	for i, s := range segs {
		if s[1] == m {
			return i
		}
	}
	t.Fatalf("no marker %#x", m)
	return -1
}

// setJPEGSize changes the dimensions in the SOF0 segment.
func setJPEGSize(t testing.TB, b []byte, w, h uint16) []byte {
	t.Helper()
	b = bytes.Clone(b)
	i := bytes.Index(b, []byte{0xff, 0xc0})
	if i < 0 {
		t.Fatal("no SOF0")
	}
	binary.BigEndian.PutUint16(b[i+5:], h)
	binary.BigEndian.PutUint16(b[i+7:], w)
	return b
}

func joinSegments(segs ...[]byte) []byte { return bytes.Join(segs, nil) }

func TestJPEGStructure(t *testing.T) {
	base := jpegSample(t)
	segs := jpegSegments(t, base)
	if !bytes.Equal(joinSegments(segs...), base) {
		t.Fatal("jpegSegments does not split the sample exactly")
	}
	sof := findSegment(t, segs, 0xc0)
	sos := findSegment(t, segs, imageformat.MarkerSOS)
	soi, eoi := segs[0], segs[len(segs)-1]
	before := func(i int) [][]byte { return segs[:i] }
	without := func(i int) []byte {
		return joinSegments(append(append([][]byte{}, segs[:i]...), segs[i+1:]...)...)
	}
	com := []byte("\xff\xfe\x00\x07hello")
	app1 := []byte("\xff\xe1\x00\x08Exif\x00\x00")

	valid := map[string][]byte{
		"COM and APP1 segments":   joinSegments(soi, app1, com, joinSegments(segs[1:]...)),
		"fill bytes before EOI":   joinSegments(joinSegments(segs[:len(segs)-1]...), []byte{0xff, 0xff}, eoi),
		"stray RST before EOI":    joinSegments(joinSegments(segs[:len(segs)-1]...), []byte{0xff, 0xd0}, eoi),
		"extraneous bytes":        joinSegments(joinSegments(before(sof)...), []byte("junk\xff\x00"), joinSegments(segs[sof:]...)),
		"COM between SOF and SOS": joinSegments(joinSegments(before(sos)...), com, joinSegments(segs[sos:]...)),
	}
	for name, data := range valid {
		if _, err := Scan(bytes.NewReader(data), noLimit); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if _, err := jpeg.Decode(bytes.NewReader(data)); err != nil {
			t.Errorf("%s: jpeg.Decode: %v", name, err)
		}
	}

	sosOne := []byte{0xff, imageformat.MarkerSOS, 0, 8, 1, segs[sof][10], 0, 0, 63, 0} // only the first component
	sosUnknown := bytes.Clone(segs[sos])
	sosUnknown[5] = 0x77
	sofTwo := bytes.Clone(segs[sof])
	sofTwo[9] = 2 // component count disagrees with the length
	sofSampling := bytes.Clone(segs[sof])
	sofSampling[11] = 0x51
	corrupt := map[string][]byte{
		"no SOF":                   without(sof),
		"no SOS":                   without(sos),
		"SOS before SOF":           joinSegments(joinSegments(before(sof)...), joinSegments(segs[sof+1:len(segs)-1]...), segs[sof], eoi),
		"two SOF":                  joinSegments(joinSegments(segs[:sof+1]...), joinSegments(segs[sof:]...)),
		"zero height":              setJPEGSize(t, base, 17, 0),
		"zero width":               setJPEGSize(t, base, 0, 9),
		"SOF length":               joinSegments(joinSegments(before(sof)...), sofTwo, joinSegments(segs[sof+1:]...)),
		"SOF sampling factor":      joinSegments(joinSegments(before(sof)...), sofSampling, joinSegments(segs[sof+1:]...)),
		"scan of unknown compnent": joinSegments(joinSegments(before(sos)...), sosUnknown, joinSegments(segs[sos+1:]...)),
		"components never coded":   joinSegments(joinSegments(before(sos)...), sosOne, segs[sos][14:], eoi),
		"SOI again":                joinSegments(soi, soi, joinSegments(segs[1:]...)),
		"reserved marker":          joinSegments(soi, []byte{0xff, 0x02, 0, 2}, joinSegments(segs[1:]...)),
		"segment length 1":         joinSegments(soi, []byte{0xff, 0xfe, 0, 1}, joinSegments(segs[1:]...)),
		"DRI length":               joinSegments(soi, []byte{0xff, 0xdd, 0, 3, 0}, joinSegments(segs[1:]...)),
		"no EOI":                   joinSegments(segs[:len(segs)-1]...),
	}
	for name, data := range corrupt {
		_, err := Scan(bytes.NewReader(data), noLimit)
		checkErr(t, name, err, ErrCorrupt)
	}
}

func TestJPEGProgressive(t *testing.T) {
	files := testimages.GoRootFiles(t, "image/testdata/*progressive*.jpeg")
	if len(files) < 5 {
		t.Fatalf("only %d progressive JPEGs", len(files))
	}
	for _, name := range testimages.SortedNames(files) {
		_, err := Scan(bytes.NewReader(files[name]), noLimit)
		if name == "video-001.progressive.truncated.jpeg" {
			// Scans are missing, though the file ends with EOI.
			checkErr(t, name, err, ErrCorrupt)
		} else if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}

	prog := files["video-001.progressive.jpeg"]
	i := bytes.Index(prog, []byte{0xff, imageformat.MarkerSOS})
	ns := int(prog[i+4])
	params := i + 5 + 2*ns // Ss, Se, Ah/Al
	patch := func(off int, v byte) []byte {
		b := bytes.Clone(prog)
		b[off] = v
		return b
	}
	for name, data := range map[string][]byte{
		"DC scan with AC coefficients": patch(params+1, 5),
		"Se beyond 63":                 patch(params+1, 64),
		"Al beyond 13":                 patch(params+2, 14),
		"refinement skipping a bit":    patch(params+2, 0x20),
	} {
		_, err := Scan(bytes.NewReader(data), noLimit)
		checkErr(t, name, err, ErrCorrupt)
	}
}

func TestJPEGTooManyPixels(t *testing.T) {
	base := jpegSample(t)
	_, err := Scan(bytes.NewReader(setJPEGSize(t, base, 65535, 65535)), 1<<31)
	checkErr(t, "65535x65535", err, ErrTooManyPixels)
	if _, err := Scan(bytes.NewReader(setJPEGSize(t, base, 100, 100)), 10_000); err != nil {
		t.Errorf("100x100 at the limit: %v", err)
	}
}
