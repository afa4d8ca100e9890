package imagestrip

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/vitrine-dev/vitrine/imageinfo"
)

// strip returns the output of a Writer given data in one Write.
func strip(t testing.TB, data []byte) []byte {
	t.Helper()
	out, err := stripChunked(data, len(data))
	if err != nil {
		t.Fatalf("strip: %v", err)
	}
	return out
}

// stripChunked returns the output of a Writer given data in Writes of at most size bytes.
// It strips data twice: holding an extended WebP in memory, and moving it to a temporary file
// beyond size bytes; it fails if the outputs or the errors differ, or if a temporary file is
// left open.
func stripChunked(data []byte, size int) ([]byte, error) {
	out, err := stripWith(data, size, NewWriter)
	var files scratchFiles
	spilled, serr := stripWith(data, size, func(dst io.Writer, _ func() (File, error)) *Writer {
		w := NewWriter(dst, files.create)
		w.memoryMax = size
		return w
	})
	switch {
	case files.open != 0:
		return nil, fmt.Errorf("%d temporary files left open", files.open)
	case (err == nil) != (serr == nil) || (err != nil && err.Error() != serr.Error()):
		return nil, fmt.Errorf("in memory: %v; with a temporary file: %v", err, serr)
	case !bytes.Equal(out, spilled):
		return nil, errors.New("the output differs with a temporary file")
	}
	return out, err
}

// stripWith returns the output of a Writer made by newWriter, given data in Writes of at most
// size bytes.
func stripWith(data []byte, size int, newWriter func(io.Writer, func() (File, error)) *Writer) ([]byte, error) {
	var out bytes.Buffer
	w := newWriter(&out, nil)
	for p := data; len(p) > 0; {
		k := min(max(size, 1), len(p))
		if _, err := w.Write(p[:k]); err != nil {
			w.Close()
			return nil, err
		}
		p = p[k:]
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// scratchFiles makes real temporary files, counting those not closed yet.
type scratchFiles struct {
	created, open int
}

func (s *scratchFiles) create() (File, error) {
	f, err := os.CreateTemp("", "imagestrip-test-*")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name())
	s.created++
	s.open++
	return &scratchFile{File: f, s: s}, nil
}

type scratchFile struct {
	*os.File
	s *scratchFiles
}

func (f *scratchFile) Close() error {
	f.s.open--
	return f.File.Close()
}

// mustScan returns what imageinfo.Scan says of data, failing the test if it refuses it.
func mustScan(t testing.TB, name string, data []byte) imageinfo.Info {
	t.Helper()
	info, err := imageinfo.Scan(bytes.NewReader(data), 1<<40)
	if err != nil {
		t.Fatalf("%s: imageinfo.Scan: %v", name, err)
	}
	return info
}

// checkStripped strips in, checks that imageinfo.Scan gives the output the same Info as the
// input, and that the output is the same whatever the size of the Writes and does not
// change when stripped again. It returns the output.
func checkStripped(t *testing.T, name string, in []byte) []byte {
	t.Helper()
	out := strip(t, in)
	if got, want := mustScan(t, name+" stripped", out), mustScan(t, name, in); got != want {
		t.Errorf("%s: stripped image is %+v, want %+v", name, got, want)
	}
	for _, size := range []int{1, 2, 3, 7, 64, 1000} {
		o, err := stripChunked(in, size)
		if err != nil {
			t.Fatalf("%s: in Writes of %d bytes: %v", name, size, err)
		}
		if !bytes.Equal(o, out) {
			t.Fatalf("%s: in Writes of %d bytes, the output differs", name, size)
		}
	}
	if again := strip(t, out); !bytes.Equal(again, out) {
		t.Errorf("%s: stripping again changes the output", name)
	}
	return out
}

// checkErr fails the test unless err wraps target.
func checkErr(t *testing.T, name string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got error %v, want one wrapping %q", name, err, target)
	}
}

// tiffEntry is an IFD entry: a tag, a type and the 4-byte value or offset field.
type tiffEntry struct {
	tag, typ uint16
	count    uint32
	value    uint32 // a SHORT is in the first two bytes
}

// byteOrder is binary.BigEndian or binary.LittleEndian.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// cameraEXIF returns the TIFF structure of a camera's EXIF in byte order bo: IFD0 with Make,
// Orientation o (if o > 0) and a pointer to a GPS IFD with a latitude and longitude.
func cameraEXIF(bo byteOrder, o int) []byte {
	var b []byte
	if bo == byteOrder(binary.BigEndian) {
		b = []byte("MM\x00*")
	} else {
		b = []byte("II*\x00")
	}
	b = bo.AppendUint32(b, 8)
	const ifd0 = 8
	entries := []tiffEntry{{0x010f, 2, 6, 0}} // Make, ASCII, at an offset set below
	if o > 0 {
		entries = append(entries, tiffEntry{tagOrientation, 3, 1, uint32(o)})
	}
	entries = append(entries, tiffEntry{0x8825, 4, 1, 0}) // GPS IFD pointer, set below
	end0 := ifd0 + 2 + 12*len(entries) + 4
	makeOff := end0
	gpsOff := makeOff + 6
	entries[0].value = uint32(makeOff)
	entries[len(entries)-1].value = uint32(gpsOff)
	b = appendIFD(b, bo, entries)
	b = append(b, "Canon\x00"...)
	gps := []tiffEntry{
		{0x0001, 2, 2, 'N'},            // GPSLatitudeRef
		{0x0002, 5, 3, 0},              // GPSLatitude, three RATIONALs at an offset
		{0x0003, 2, 2, 'E'},            // GPSLongitudeRef
		{0x0004, 5, 3, 0},              // GPSLongitude
		{0x0006, 5, 1, 0},              // GPSAltitude
		{0x001d, 2, 11, 0},             // GPSDateStamp
		{0x0012, 2, 7, uint32(0x1234)}, // GPSMapDatum, nonsense offset
	}
	gpsEnd := gpsOff + 2 + 12*len(gps) + 4
	gps[1].value = uint32(gpsEnd)
	gps[3].value = uint32(gpsEnd + 24)
	gps[4].value = uint32(gpsEnd + 48)
	gps[5].value = uint32(gpsEnd + 56)
	gps[6].value = uint32(gpsEnd + 67)
	if bo == byteOrder(binary.LittleEndian) {
		gps[0].value, gps[2].value = 'N', 'E'
	} else {
		gps[0].value, gps[2].value = 'N'<<24, 'E'<<24
	}
	b = appendIFD(b, bo, gps)
	for _, r := range []uint32{48, 1, 51, 1, 2938, 100, 2, 1, 21, 1, 2300, 100, 35, 1} {
		b = bo.AppendUint32(b, r)
	}
	b = append(b, "2024:05:01\x00WGS-84\x00"...)
	return b
}

// appendIFD appends an IFD with the entries and no next IFD.
func appendIFD(b []byte, bo byteOrder, entries []tiffEntry) []byte {
	b = bo.AppendUint16(b, uint16(len(entries)))
	for _, e := range entries {
		b = bo.AppendUint16(b, e.tag)
		b = bo.AppendUint16(b, e.typ)
		b = bo.AppendUint32(b, e.count)
		if e.typ == 3 && e.count == 1 {
			b = bo.AppendUint16(b, uint16(e.value))
			b = append(b, 0, 0)
		} else {
			b = bo.AppendUint32(b, e.value)
		}
	}
	return bo.AppendUint32(b, 0)
}

// xmpPacket is an XMP packet with a location, as cameras and editors write it.
const xmpPacket = `<?xpacket begin="` + "\ufeff" + `" id="W5M0MpCehiHzreSzNTczkc9d"?>` +
	`<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">` +
	`<rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:exif="http://ns.adobe.com/exif/1.0/" ` +
	`exif:GPSLatitude="48,51.2N" exif:GPSLongitude="2,21.0E" xmp:CreatorTool="SecretPhone"/>` +
	`</rdf:RDF></x:xmpmeta><?xpacket end="w"?>`

// The strings that must not survive stripping.
var leaks = []string{"Canon", "WGS-84", "2024:05:01", "http://ns.adobe.com/xap/1.0/", "SecretPhone",
	"GPSLatitude", "Photoshop 3.0", "8BIM", "a comment", "Exif\x00\x00MM", "PK\x03\x04", "<html", "MPF\x00"}

// checkNoLeaks fails the test if out contains any of the metadata strings the inputs carry.
func checkNoLeaks(t *testing.T, name string, out []byte) {
	t.Helper()
	for _, s := range leaks {
		if bytes.Contains(out, []byte(s)) {
			t.Errorf("%s: output contains %q", name, s)
		}
	}
}

// junk is what polyglot files append after the image: a ZIP entry and an HTML page.
var junk = []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00 evil.zip <html><script>alert(document.cookie)</script></html>")
