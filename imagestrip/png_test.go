package imagestrip

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"image"
	"image/png"
	"reflect"
	"strings"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/imageformat"
	"github.com/vitrine-dev/vitrine/internal/testimages"
)

// pngChunks splits a PNG into its chunks, after the signature, up to IEND.
func pngChunks(t *testing.T, b []byte) [][]byte {
	t.Helper()
	var chunks [][]byte
	for i := len(imageformat.PNGSignature); ; {
		if i+12 > len(b) {
			t.Fatalf("PNG ends in a chunk at %d", i)
		}
		n := 12 + int(binary.BigEndian.Uint32(b[i:]))
		chunks = append(chunks, b[i:i+n])
		if string(b[i+4:i+8]) == "IEND" {
			return chunks
		}
		i += n
	}
}

func zlibBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func decodePNG(t *testing.T, name string, b []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: png.Decode: %v", name, err)
	}
	return img
}

func TestPNGMetadataIsStripped(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := png.Encode(&buf, testimages.Pattern(37, 21)); err != nil {
		t.Fatal(err)
	}
	base := buf.Bytes()
	ihdr := base[8 : 8+25]
	rest := base[8+25:] // IDAT and IEND

	iccp := testimages.PNGChunk("iCCP", append([]byte("Display P3\x00\x00"), zlibBytes(t, []byte(strings.Repeat("icc profile ", 40)))...))
	kept := [][]byte{
		iccp,
		testimages.PNGChunk("gAMA", []byte{0, 0, 0xb1, 0x8f}),
		testimages.PNGChunk("cHRM", make([]byte, 32)),
		testimages.PNGChunk("pHYs", []byte{0, 0, 0x0b, 0x13, 0, 0, 0x0b, 0x13, 1}),
		testimages.PNGChunk("bKGD", []byte{0, 0, 0, 0, 0, 0}),
	}
	dropped := [][]byte{
		testimages.PNGChunk("tEXt", []byte("Author\x00Alice at 48.85N 2.35E")),
		testimages.PNGChunk("zTXt", append([]byte("Comment\x00\x00"), zlibBytes(t, []byte("a comment"))...)),
		testimages.PNGChunk("iTXt", []byte("XML:com.adobe.xmp\x00\x00\x00\x00\x00"+xmpPacket)),
		testimages.PNGChunk("tIME", []byte{0x07, 0xe8, 5, 1, 12, 0, 0}),
		testimages.PNGChunk("iDOT", make([]byte, 28)),
	}
	exif := testimages.PNGChunk("eXIf", cameraEXIF(binary.BigEndian, 6))
	secondEXIF := testimages.PNGChunk("eXIf", cameraEXIF(binary.LittleEndian, 8))

	in := bytes.Clone(base[:8])
	in = append(in, ihdr...)
	for _, c := range [][]byte{kept[0], dropped[0], exif, kept[1], dropped[1], kept[2], dropped[2], kept[3],
		dropped[3], dropped[4], kept[4], secondEXIF} {
		in = append(in, c...)
	}
	in = append(in, rest[:len(rest)-12]...)
	in = append(in, testimages.PNGChunk("tEXt", []byte("Late\x00text after IDAT"))...)
	in = append(in, rest[len(rest)-12:]...) // IEND
	in = append(in, junk...)

	want := bytes.Clone(base[:8])
	want = append(want, ihdr...)
	want = append(want, kept[0]...)
	want = append(want, testimages.PNGChunk("eXIf", orientationTIFF(6))...)
	for _, c := range kept[1:] {
		want = append(want, c...)
	}
	want = append(want, rest...)

	out := checkStripped(t, "metadata.png", in)
	if !bytes.Equal(out, want) {
		t.Fatalf("got chunks %q\nwant %q", chunkTypes(t, out), chunkTypes(t, want))
	}
	checkNoLeaks(t, "metadata.png", out)
	if a, b := decodePNG(t, "in", in), decodePNG(t, "out", out); !reflect.DeepEqual(a, b) {
		t.Errorf("stripped PNG decodes to different pixels")
	}
}

func chunkTypes(t *testing.T, b []byte) []string {
	var types []string
	for _, c := range pngChunks(t, b) {
		types = append(types, string(c[4:8]))
	}
	return types
}

// TestPNGGoTestImages strips Go's PNG test images, PngSuite among them: the metadata chunks
// go, every other chunk stays byte for byte, and the pixels are the same.
func TestPNGGoTestImages(t *testing.T) {
	t.Parallel()
	files := testimages.GoRootFiles(t, "image/png/testdata/pngsuite/*.png")
	for name, b := range testimages.GoRootFiles(t, "image/testdata/*.png") {
		files[name] = b
	}
	for _, name := range testimages.SortedNames(files) {
		in := files[name]
		if strings.HasPrefix(name, "x") || strings.Contains(name, "truncated") {
			continue
		}
		out := checkStripped(t, name, in)
		var want []byte
		for _, c := range pngChunks(t, in) {
			if !pngDropped(string(c[4:8])) {
				want = append(want, c...)
			}
		}
		if !bytes.Equal(out[8:], want) {
			t.Errorf("%s: got chunks %q, want %q", name, chunkTypes(t, out), chunkTypes(t, append([]byte(imageformat.PNGSignature), want...)))
		}
		if a, b := decodePNG(t, name, in), decodePNG(t, name+" stripped", out); !reflect.DeepEqual(a, b) {
			t.Errorf("%s: stripped PNG decodes to different pixels", name)
		}
	}
}

func TestPNGCorrupt(t *testing.T) {
	t.Parallel()
	base := testimages.GoRootFiles(t, "image/testdata/video-001.png")["video-001.png"]
	huge := bytes.Clone(base[:33])
	huge = append(huge, 0x7f, 0xff, 0xff, 0xff)
	huge = append(huge, "tEXtab"...)
	for name, in := range map[string][]byte{
		"truncated":         base[:len(base)/2],
		"no IEND":           base[:len(base)-12],
		"IEND without CRC":  base[:len(base)-2],
		"chunk length 2^31": append(bytes.Clone(base[:33]), 0x80, 0, 0, 0, 'I', 'D', 'A', 'T'),
		// A chunk declaring 2 GiB must not make the stripper allocate it.
		"huge text chunk": huge,
	} {
		_, err := stripChunked(in, 1000)
		checkErr(t, name, err, ErrCorrupt)
	}
}
