package imagestrip

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/jpeg"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/testimages"

	"github.com/vitrine-dev/vitrine/internal/testphotos"
)

// jpegSegment returns a marker segment.
func jpegSegment(marker byte, payload []byte) []byte {
	b := []byte{0xff, marker, 0, 0}
	binary.BigEndian.PutUint16(b[2:], uint16(2+len(payload)))
	return append(b, payload...)
}

// withSegments returns base, a JPEG, with segs inserted after SOI and tail appended.
func withSegments(base []byte, tail []byte, segs ...[]byte) []byte {
	b := bytes.Clone(base[:2])
	for _, s := range segs {
		b = append(b, s...)
	}
	b = append(b, base[2:]...)
	return append(b, tail...)
}

// orientation6 is the APP1 segment the stripper writes for orientation 6, spelled out.
var orientation6 = []byte{
	0xff, 0xe1, 0x00, 0x22, 'E', 'x', 'i', 'f', 0, 0,
	'I', 'I', 0x2a, 0x00, 0x08, 0x00, 0x00, 0x00,
	0x01, 0x00,
	0x12, 0x01, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00,
}

// Segments that a camera or an editor writes.
var (
	// A JFIF APP0 with a 2×1 thumbnail, and the same without it.
	jfifThumb = jpegSegment(0xe0, []byte("JFIF\x00\x01\x02\x01\x00\x48\x00\x48\x02\x01\xff\x00\x00\x00\xff\x00"))
	jfifBare  = jpegSegment(0xe0, []byte("JFIF\x00\x01\x02\x01\x00\x48\x00\x48\x00\x00"))
	xmpAPP1   = jpegSegment(0xe1, []byte("http://ns.adobe.com/xap/1.0/\x00"+xmpPacket))
	extXMP    = jpegSegment(0xe1, []byte("http://ns.adobe.com/xmp/extension/\x00"+strings.Repeat("A", 32)+
		"\x00\x00\x01\x00\x00\x00\x00\x00"+xmpPacket))
	iccAPP2   = jpegSegment(0xe2, []byte("ICC_PROFILE\x00\x01\x01"+strings.Repeat("\x00\x01icc", 40)))
	mpfAPP2   = jpegSegment(0xe2, []byte("MPF\x00MM\x00*\x00\x00\x00\x08\x00\x00"))
	iptcAPP13 = jpegSegment(0xed, []byte("Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x0a\x1c\x02\x50\x00\x05Alice"))
	comment   = jpegSegment(0xfe, []byte("a comment"))
	ducky     = jpegSegment(0xec, []byte("Ducky\x00\x01\x00\x04\x00\x00\x00\x50"))
)

func exifAPP1(bo byteOrder, o int) []byte {
	return jpegSegment(0xe1, append([]byte(exifHeader), cameraEXIF(bo, o)...))
}

// decodeJPEG decodes b with Go's decoder.
func decodeJPEG(t *testing.T, name string, b []byte) image.Image {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: jpeg.Decode: %v", name, err)
	}
	return img
}

// jpegBases returns JPEGs without metadata: Go's test images, and images made by Go's encoder.
func jpegBases(t *testing.T) map[string][]byte {
	t.Helper()
	bases := testimages.GoRootFiles(t, "image/testdata/*.jpeg")
	delete(bases, "video-001.progressive.truncated.jpeg")
	for _, q := range []int{1, 90} {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, testimages.Pattern(67, 33), &jpeg.Options{Quality: q}); err != nil {
			t.Fatal(err)
		}
		bases["go-q"+string(rune('0'+q%10))+".jpeg"] = buf.Bytes()
	}
	return bases
}

func TestJPEGWithoutMetadataIsUnchanged(t *testing.T) {
	t.Parallel()
	bases := jpegBases(t)
	for _, name := range testimages.SortedNames(bases) {
		if out := checkStripped(t, name, bases[name]); !bytes.Equal(out, bases[name]) {
			t.Errorf("%s: a JPEG without metadata changed", name)
		}
	}
}

func TestJPEGMetadataIsStripped(t *testing.T) {
	t.Parallel()
	bases := jpegBases(t)
	for _, name := range testimages.SortedNames(bases) {
		base := bases[name]
		for _, bo := range []byteOrder{binary.BigEndian, binary.LittleEndian} {
			in := withSegments(base, junk, jfifThumb, exifAPP1(bo, 6), xmpAPP1, extXMP, iccAPP2, mpfAPP2,
				iptcAPP13, comment, ducky, exifAPP1(bo, 3))
			// The JFIF loses its thumbnail, EXIF becomes the orientation alone, the ICC profile
			// stays, the rest goes, and so does the junk after EOI.
			want := withSegments(base, nil, jfifBare, orientation6, iccAPP2)
			out := checkStripped(t, name, in)
			if !bytes.Equal(out, want) {
				t.Fatalf("%s: got\n%q\nwant\n%q", name, head(out), head(want))
			}
			checkNoLeaks(t, name, out)
			if !bytes.HasSuffix(out, []byte{0xff, 0xd9}) {
				t.Errorf("%s: output does not end with EOI", name)
			}
			if a, b := decodeJPEG(t, name, in), decodeJPEG(t, name+" stripped", out); !reflect.DeepEqual(a, b) {
				t.Errorf("%s: stripped image decodes to different pixels", name)
			}
		}
	}
}

// head returns the start of b, for messages.
func head(b []byte) []byte { return b[:min(len(b), 200)] }

func TestJPEGOrientationIsKept(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, testimages.Pattern(16, 8), nil); err != nil {
		t.Fatal(err)
	}
	base := buf.Bytes()
	for _, bo := range []byteOrder{binary.BigEndian, binary.LittleEndian} {
		for o := range 10 {
			in := withSegments(base, nil, exifAPP1(bo, o))
			out := strip(t, in)
			segs := jpegHeaderSegments(t, out)
			var app1 [][]byte
			for _, s := range segs {
				if s[1] == 0xe1 {
					app1 = append(app1, s)
				}
			}
			switch {
			case o < 2 || o > 8: // none, the default, or invalid: no EXIF at all
				if len(app1) != 0 || bytes.Contains(out, []byte("Exif")) {
					t.Errorf("%v orientation %d: output has EXIF", bo, o)
				}
			case len(app1) != 1:
				t.Errorf("%v orientation %d: %d APP1 segments, want 1", bo, o, len(app1))
			default:
				s := app1[0]
				if len(s) != 36 || orientation(s[4+len(exifHeader):]) != o {
					t.Errorf("%v orientation %d: APP1 is %x", bo, o, s)
				}
				if bytes.Contains(s, []byte{0x88, 0x25}) || bytes.Contains(s, []byte{0x25, 0x88}) {
					t.Errorf("%v orientation %d: APP1 still has the GPS IFD tag", bo, o)
				}
				if o == 6 && !bytes.Equal(s, orientation6) {
					t.Errorf("APP1 for orientation 6 is %x, want %x", s, orientation6)
				}
			}
		}
	}

	// Only a SHORT of count 1 counts, as in browsers; another type drops the orientation.
	tiff := cameraEXIF(binary.BigEndian, 6)
	copy(tiff[8+2+12+2:], []byte{0, 4}) // the second entry, Orientation, becomes a LONG
	if out := strip(t, withSegments(base, nil, jpegSegment(0xe1, append([]byte(exifHeader), tiff...)))); bytes.Contains(out, []byte("Exif")) {
		t.Errorf("an orientation of type LONG was kept")
	}
}

// firstSOS returns the offset of the first SOS marker in b, a JPEG.
func firstSOS(t *testing.T, b []byte) int {
	n := 2
	for _, s := range jpegHeaderSegments(t, b) {
		n += len(s)
	}
	return n
}

// jpegHeaderSegments returns the marker segments of b, a JPEG, before the first SOS.
func jpegHeaderSegments(t *testing.T, b []byte) [][]byte {
	t.Helper()
	var segs [][]byte
	for i := 2; ; {
		if i+4 > len(b) || b[i] != 0xff {
			t.Fatalf("bad segment at %d", i)
		}
		if b[i+1] == 0xda {
			return segs
		}
		n := 2 + int(binary.BigEndian.Uint16(b[i+2:]))
		segs = append(segs, b[i:i+n])
		i += n
	}
}

func TestJPEGPolyglot(t *testing.T) {
	t.Parallel()
	base := testimages.GoRootFiles(t, "image/testdata/video-001.jpeg")["video-001.jpeg"]
	html := []byte("<html><script>fetch('/steal?c='+document.cookie)</script></html>")
	in := append(bytes.Clone(base), html...)
	out := checkStripped(t, "polyglot", in)
	if !bytes.Equal(out, base) {
		t.Errorf("JPEG+HTML polyglot: the HTML is still there or the JPEG changed")
	}
}

// TestJPEGEntropyDataEdgeCases checks what imageinfo.Scan accepts in entropy-coded data and
// between segments: restart markers, fill bytes, stuffing after fill bytes and stray bytes.
func TestJPEGEntropyDataEdgeCases(t *testing.T) {
	t.Parallel()
	base := testimages.GoRootFiles(t, "image/testdata/video-001.restart2.jpeg")["video-001.restart2.jpeg"]
	sos := bytes.Index(base, []byte{0xff, 0xda})
	eoi := len(base) - 2
	// Fill bytes before EOI are dropped; after them, a restart marker is data.
	in := append(bytes.Clone(base[:eoi]), 0xff, 0xff, 0xd0, 0xff, 0xff, 0xff, 0xd9)
	want := append(bytes.Clone(base[:eoi]), 0xff, 0xff, 0xd0, 0xff, 0xd9)
	if out := checkStripped(t, "fill bytes", in); !bytes.Equal(out, want) {
		t.Errorf("fill bytes: got tail %x, want %x", out[eoi:], want[eoi:])
	}
	// Stray bytes and "\xff\x00" between segments are dropped, a stray restart marker is kept.
	in = append(bytes.Clone(base[:sos]), append([]byte{1, 2, 0xff, 0x00, 3, 0xff, 0xd3}, base[sos:]...)...)
	want = append(bytes.Clone(base[:sos]), append([]byte{0xff, 0xd3}, base[sos:]...)...)
	if out := checkStripped(t, "stray bytes", in); !bytes.Equal(out, want) {
		t.Errorf("stray bytes between segments: got %x, want %x", out[sos:sos+8], want[sos:sos+8])
	}
	// "\xff\xff\x00" in entropy-coded data is data.
	data := bytes.Clone(base)
	i := sos + 2 + int(binary.BigEndian.Uint16(base[sos+2:])) + 10
	data[i], data[i+1], data[i+2] = 0xff, 0xff, 0x00
	if out := strip(t, data); !bytes.Equal(out, data) {
		t.Errorf("stuffing after a fill byte in entropy-coded data changed")
	}
}

func TestJPEGCameraPhoto(t *testing.T) {
	t.Parallel()
	name := testphotos.Medium(t)
	in, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(in[:200], []byte("Exif\x00\x00")) {
		t.Fatalf("%s has no EXIF any more; the test needs a photograph with camera EXIF", name)
	}
	out := checkStripped(t, "Dune.jpg", in)
	if bytes.Contains(out, []byte("Exif")) || bytes.Contains(out, []byte("Canon")) {
		t.Errorf("camera EXIF survived")
	}
	if a, b := decodeJPEG(t, "Dune.jpg", in), decodeJPEG(t, "Dune.jpg stripped", out); !reflect.DeepEqual(a, b) {
		t.Errorf("stripped photograph decodes to different pixels")
	}
	t.Logf("Dune.jpg: %d bytes, %d stripped", len(in), len(out))
}

// TestJPEGLargeCameraPhoto strips a 16 MB progressive photograph with EXIF and XMP. It is
// checked structurally only: decoding it twice takes too long under the race detector.
func TestJPEGLargeCameraPhoto(t *testing.T) {
	t.Parallel()
	in, err := os.ReadFile(testphotos.LargeOriginal(t))
	if err != nil {
		t.Fatal(err)
	}
	out := strip(t, in)
	if got, want := mustScan(t, "stripped", out), mustScan(t, "original", in); got != want {
		t.Errorf("stripped image is %+v, want %+v", got, want)
	}
	for _, s := range []string{"Exif", "http://ns.adobe.com/", "SONY", "DSC-RX100"} {
		if bytes.Contains(out, []byte(s)) {
			t.Errorf("output contains %q", s)
		}
	}
	// Only the metadata segments before the first scan differ.
	if !bytes.Equal(in[firstSOS(t, in):], out[firstSOS(t, out):]) {
		t.Errorf("the image data changed")
	}
	t.Logf("Elephants: %d bytes, %d stripped", len(in), len(out))
}

func TestJPEGCorrupt(t *testing.T) {
	t.Parallel()
	base := testimages.GoRootFiles(t, "image/testdata/video-001.jpeg")["video-001.jpeg"]
	for name, in := range map[string][]byte{
		"truncated in entropy data": base[:len(base)/2],
		"truncated in a segment":    base[:30],
		"no EOI":                    base[:len(base)-2],
		"bad segment length":        withSegments(base, nil, []byte{0xff, 0xe1, 0x00, 0x01}),
		"SOI again":                 withSegments(base, nil, []byte{0xff, 0xd8}),
		"unknown marker":            withSegments(base, nil, []byte{0xff, 0x01}),
		"zero after fill":           withSegments(base, nil, []byte{0xff, 0xff, 0x00}),
	} {
		_, err := stripChunked(in, 100)
		checkErr(t, name, err, ErrCorrupt)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	for name, in := range map[string]string{
		"empty":              "",
		"SVG":                "<svg xmlns='http://www.w3.org/2000/svg'/>",
		"short":              "\xff\xd8",
		"RIFF but not WebP":  "RIFF\x10\x00\x00\x00WAVEfmt ",
		"HTML, short":        "<html>",
		"almost a PNG":       "\x89PNG\r\n\x1a\x00aaaa",
		"GIF without screen": "GIF89",
	} {
		_, err := stripChunked([]byte(in), 5)
		checkErr(t, name, err, ErrUnsupported)
	}
	_, err := stripChunked([]byte("\xff\xd8\xff\xe0"), 5)
	checkErr(t, "short JPEG", err, ErrCorrupt)

	// Errors are sticky, and Write after Close fails.
	w := NewWriter(&bytes.Buffer{}, nil)
	if _, err := w.Write([]byte("<svg xmlns='http://www.w3.org/2000/svg'/>")); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("Write: %v", err)
	}
	if _, err := w.Write([]byte{0}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("second Write: %v", err)
	}
	if err := w.Close(); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Close: %v", err)
	}
	w = NewWriter(&bytes.Buffer{}, nil)
	if _, err := w.Write(testimages.GoRootFiles(t, "image/testdata/video-001.jpeg")["video-001.jpeg"]); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte{0}); err == nil {
		t.Errorf("Write after Close succeeded")
	}
}

// failingWriter fails every Write.
type failingWriter struct{}

var errDisk = errors.New("disk full")

func (failingWriter) Write([]byte) (int, error) { return 0, errDisk }

func TestDestinationErrorIsReturned(t *testing.T) {
	t.Parallel()
	w := NewWriter(failingWriter{}, nil)
	base := testimages.GoRootFiles(t, "image/testdata/video-001.jpeg")["video-001.jpeg"]
	var err error
	for p := base; len(p) > 0 && err == nil; p = p[min(len(p), 1000):] {
		_, err = w.Write(p[:min(len(p), 1000)])
	}
	if err == nil {
		err = w.Close()
	}
	if !errors.Is(err, errDisk) || errors.Is(err, ErrCorrupt) {
		t.Errorf("got %v, want an error wrapping the destination's", err)
	}
}
