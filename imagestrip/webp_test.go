package imagestrip

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"image"
	"io"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/image/webp"
)

// WebP files made with libwebp's tools, the same as imageinfo's tests use: cwebp 13×7 lossy,
// lossless and lossy with alpha; gif2webp 9×5 with three frames.
var webpHex = map[string]string{
	"lossy.webp":       "524946465800000057454250565038204c0000003002009d012a0d00070002c04c25b00274ba0003088a270ce60000fef5ddc7046de4ffdd14b915856afadf0e18b17f74586485af87f270e897e8aeddd663ddd684997956620afa6367bbd400",
	"lossless.webp":    "524946463e000000574542505650384c320000002f0c800100993244f43f36e52f7ef43fa0a06d1bc664ca9fe52e819950d4b6111bbb95f74d54171380483980f207ae42020f",
	"lossy-alpha.webp": "524946469600000057454250565038580a000000100000000c0000060000414c5048240000000167202448fe1fa6dadc101199854248562881f763892596586209318288fe47aa670f9f565038204c0000003002009d012a0d00070002c04c25b00274ba0003088a270ce60000fef5ddc7046de4ffdd14b915856afadf0e18b17f74586485af87f270e897e8aeddd663ddd684997956620afa6367bbd400",
	"animated.webp":    "52494646fc00000057454250565038580a00000002000000080000040000414e494d06000000ffffffff0000414e4d4640000000000000000000080000040000640000025650384c270000002f080001001f30fff32f2028f83fbaf90f0a2e60206019fe182aae9c123246f43f40c96fd71a0400414e4d4640000000000000000000080000040000640000005650384c270000002f080001001f30fff32f2028f83fbaf90f0a2e60206019fe18aba89c123246f43fe0b76b9d081e00414e4d4640000000000000000000080000040000640000005650384c270000002f080001001f30fff32f2028f83fbaf90f0a2e60206019fe182a2aa7c43246f43fe036b74a1e0e00",
}

func webpSample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := hex.DecodeString(webpHex[name])
	if err != nil || len(b) == 0 {
		t.Fatalf("no WebP sample %s: %v", name, err)
	}
	return b
}

// riffFile wraps chunks in a RIFF WEBP header with the right size.
func riffFile(chunks ...[]byte) []byte {
	body := []byte("WEBP")
	for _, c := range chunks {
		body = append(body, c...)
	}
	b := binary.LittleEndian.AppendUint32([]byte("RIFF"), uint32(len(body)))
	return append(b, body...)
}

// webpChunks splits a WebP into its top-level chunks, with their padding.
func webpChunks(t testing.TB, b []byte) [][]byte {
	t.Helper()
	var chunks [][]byte
	end := 8 + int(binary.LittleEndian.Uint32(b[4:]))
	for i := 12; i < end; {
		n := 8 + int(binary.LittleEndian.Uint32(b[i+4:]))
		n += n & 1
		chunks = append(chunks, b[i:i+n])
		i += n
	}
	return chunks
}

func decodeWebP(t *testing.T, name string, b []byte) image.Image {
	t.Helper()
	img, err := webp.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: webp.Decode: %v", name, err)
	}
	return img
}

func TestWebPExtendedMetadataIsStripped(t *testing.T) {
	t.Parallel()
	sample := webpChunks(t, webpSample(t, "lossy-alpha.webp")) // VP8X, ALPH, VP8
	vp8x, alph, vp8 := sample[0], sample[1], sample[2]
	flags := func(f byte) []byte {
		c := bytes.Clone(vp8x)
		c[8] = f
		return c
	}
	const alpha, exif, xmp, icc = 0x10, 0x08, 0x04, 0x20
	iccp := riffChunk("ICCP", bytes.Repeat([]byte("icc profile "), 20))
	exifChunk := riffChunk("EXIF", cameraEXIF(binary.BigEndian, 6))
	xmpChunk := riffChunk("XMP ", []byte(xmpPacket))

	tests := []struct {
		name    string
		in, out []byte
	}{
		{"EXIF with orientation 6 and XMP",
			append(riffFile(flags(alpha|exif|xmp|icc), iccp, alph, vp8, exifChunk, xmpChunk,
				riffChunk("C2PA", []byte("manifest of Alice"))), junk...),
			riffFile(flags(alpha|exif|icc), iccp, alph, vp8, riffChunk("EXIF", orientationTIFF(6)))},
		{"EXIF with Exif header and no orientation",
			riffFile(flags(alpha|exif), alph, vp8, riffChunk("EXIF", append([]byte(exifHeader), cameraEXIF(binary.LittleEndian, 0)...))),
			riffFile(flags(alpha), alph, vp8)},
		{"EXIF with Exif header and orientation 8, a second EXIF",
			riffFile(flags(alpha|exif), alph, vp8,
				riffChunk("EXIF", append([]byte(exifHeader), cameraEXIF(binary.LittleEndian, 8)...)), exifChunk),
			riffFile(flags(alpha|exif), alph, vp8, riffChunk("EXIF", orientationTIFF(8)))},
		{"XMP flag without XMP, odd-sized unknown chunk",
			riffFile(flags(alpha|xmp), alph, riffChunk("ABCD", []byte("odd")), vp8),
			riffFile(flags(alpha), alph, vp8)},
	}
	for _, tt := range tests {
		got := checkStripped(t, tt.name, tt.in)
		if !bytes.Equal(got, tt.out) {
			t.Errorf("%s: got\n%x\nwant\n%x", tt.name, got, tt.out)
		}
		checkNoLeaks(t, tt.name, got)
		if a, b := decodeWebP(t, tt.name, tt.in), decodeWebP(t, tt.name+" stripped", got); !reflect.DeepEqual(a, b) {
			t.Errorf("%s: stripped WebP decodes to different pixels", tt.name)
		}
	}
}

func TestWebPSimpleFile(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"lossy.webp", "lossless.webp"} {
		sample := webpSample(t, name)
		// A simple file has no room for metadata: chunks after the image, which decoders
		// ignore, are dropped, and so is what follows the container.
		in := riffFile(webpChunks(t, sample)[0], riffChunk("EXIF", cameraEXIF(binary.BigEndian, 6)), riffChunk("XMP ", []byte(xmpPacket)))
		in = append(in, junk...)
		got := checkStripped(t, name, in)
		if !bytes.Equal(got, sample) {
			t.Errorf("%s: got %x, want the sample", name, got)
		}
		if a, b := decodeWebP(t, name, in), decodeWebP(t, name+" stripped", got); !reflect.DeepEqual(a, b) {
			t.Errorf("%s: stripped WebP decodes to different pixels", name)
		}
	}
}

func TestWebPWithoutMetadataIsUnchanged(t *testing.T) {
	t.Parallel()
	for name := range webpHex {
		in := webpSample(t, name)
		if got := checkStripped(t, name, in); !bytes.Equal(got, in) {
			t.Errorf("%s: changed", name)
		}
	}
}

func TestWebPCorrupt(t *testing.T) {
	t.Parallel()
	ext := webpSample(t, "lossy-alpha.webp")
	simple := webpSample(t, "lossy.webp")
	withSize := func(b []byte, size uint32) []byte {
		b = bytes.Clone(b)
		binary.LittleEndian.PutUint32(b[4:], size)
		return b
	}
	for name, in := range map[string][]byte{
		"truncated extended":       ext[:len(ext)-10],
		"truncated simple":         simple[:len(simple)-10],
		"RIFF size beyond data":    withSize(ext, uint32(len(ext))),
		"RIFF size tiny":           withSize(ext, 4),
		"chunk beyond container":   withSize(ext, uint32(len(ext)-8-2)),
		"first chunk unknown":      riffFile(riffChunk("ICCP", make([]byte, 4)), webpChunks(t, simple)[0]),
		"VP8X length":              riffFile(riffChunk("VP8X", make([]byte, 12))),
		"huge chunk in extended":   append(bytes.Clone(ext[:30]), 'E', 'X', 'I', 'F', 0xff, 0xff, 0xff, 0x7f),
		"container ends in header": riffFile(webpChunks(t, ext)[0], []byte("ALP")),
	} {
		_, err := stripChunked(in, 7)
		checkErr(t, name, err, ErrCorrupt)
	}
}

// largeExtendedWebP is the lossy-alpha sample with an ICC profile chunk of n bytes and an
// EXIF chunk, as an upload that must be held back while its EXIF is dropped.
func largeExtendedWebP(t testing.TB, n int) []byte {
	t.Helper()
	c := webpChunks(t, webpSample(t, "lossy-alpha.webp"))
	vp8x := bytes.Clone(c[0])
	vp8x[8] |= 0x20 // ICC profile
	icc := make([]byte, n)
	for i := range icc {
		icc[i] = byte(i * 7)
	}
	return riffFile(vp8x, riffChunk("ICCP", icc), c[1], c[2], riffChunk("EXIF", cameraEXIF(binary.BigEndian, 1)))
}

// An extended WebP larger than what a Writer holds in memory goes through one temporary
// file, which is closed when the image is written, and comes out byte for byte as when held
// in memory.
func TestWebPExtendedSpillsToTemporaryFile(t *testing.T) {
	in := largeExtendedWebP(t, 3<<20+1)
	var mem bytes.Buffer
	w := NewWriter(&mem, nil)
	if _, err := w.Write(in); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var files scratchFiles
	var out bytes.Buffer
	w = NewWriter(&out, files.create)
	for p := in; len(p) > 0; p = p[min(len(p), 32<<10):] {
		if _, err := w.Write(p[:min(len(p), 32<<10)]); err != nil {
			t.Fatal(err)
		}
		if files.created == 0 && len(in)-len(p) > 2*memoryMax {
			t.Fatalf("no temporary file after %d bytes", len(in)-len(p))
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if files.created != 1 || files.open != 0 {
		t.Errorf("%d temporary files made, %d left open; want 1 and 0", files.created, files.open)
	}
	if !bytes.Equal(out.Bytes(), mem.Bytes()) {
		t.Fatal("the output differs with a temporary file")
	}
	if bytes.Contains(out.Bytes(), []byte("EXIF")) || len(out.Bytes()) < 3<<20 {
		t.Errorf("output of %d bytes: the EXIF chunk should be dropped and the ICC profile kept", out.Len())
	}
	mustScan(t, "spilled", out.Bytes())
}

// The temporary file of an extended WebP is closed when the image turns out corrupt, and
// when the writer is abandoned midway.
func TestWebPExtendedTemporaryFileClosedOnError(t *testing.T) {
	in := largeExtendedWebP(t, 1<<20)
	half := len(in) / 2

	var files scratchFiles
	w := NewWriter(io.Discard, files.create)
	if _, err := w.Write(in[:half]); err != nil {
		t.Fatal(err)
	}
	if files.created != 1 || files.open != 1 {
		t.Fatalf("midway: %d temporary files made, %d open; want 1 and 1", files.created, files.open)
	}
	w.Abort()
	if files.open != 0 {
		t.Error("Abort left the temporary file open")
	}
	if _, err := w.Write(in[half:]); err == nil {
		t.Error("Write after Abort succeeded")
	}

	// A chunk that claims more than its container holds, after the held-back bytes.
	bad := bytes.Clone(in)
	binary.LittleEndian.PutUint32(bad[len(bad)-len(riffChunk("EXIF", cameraEXIF(binary.BigEndian, 1)))+4:], 1<<30)
	files = scratchFiles{}
	w = NewWriter(io.Discard, files.create)
	_, err := w.Write(bad)
	checkErr(t, "oversized last chunk", err, ErrCorrupt)
	if err == nil || !strings.Contains(err.Error(), "beyond its container") {
		t.Errorf("oversized last chunk: got %v, want a chunk beyond its container", err)
	}
	if files.created != 1 || files.open != 0 {
		t.Errorf("after a corrupt chunk: %d temporary files made, %d open; want 1 and 0", files.created, files.open)
	}

	// Cut short: Close reports it and closes the file.
	files = scratchFiles{}
	w = NewWriter(io.Discard, files.create)
	if _, err := w.Write(in[:half]); err != nil {
		t.Fatal(err)
	}
	checkErr(t, "truncated", w.Close(), ErrCorrupt)
	if files.open != 0 {
		t.Error("Close of a truncated image left the temporary file open")
	}
}
