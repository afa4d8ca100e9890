// Package testheif makes HEIF files for tests: HEIC and AVIF photographs encoded by libheif's
// heif-enc (Debian's libheif-examples, which `scripts/install-deps.sh --test` installs) from a
// real photograph of package testphotos with the metadata a phone writes (an EXIF block with a
// GPS position, an XMP packet with a location), and broken copies of them, edited box by box.
package testheif

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/testphotos"
)

// Markers of the metadata that Photo puts in its files: bytes of the EXIF block's TIFF
// header and GPS IFD, and of the XMP packet. A file stripped of its metadata holds none.
var Markers = []string{
	"MM\x00*\x00\x00\x00\x08",                          // the TIFF header of the EXIF block
	"\x88\x25\x00\x04",                                 // the GPS IFD pointer tag
	"\x00\x01\x00\x02\x00\x00\x00\x02N\x00",            // GPSLatitudeRef "N"
	"\x00\x00\x00\x30\x00\x00\x00\x01\x00\x00\x00\x33", // GPSLatitude 48/1 51/...
	"<x:xmpmeta",
	"48,51.2N",
}

// Width and Height are the size of Photo's images.
const Width, Height = 640, 400

// Photo returns a HEIC (or, with avif, an AVIF) of the centre Width×Height of
// testphotos.Medium, encoded by heif-enc at quality 60, whose Exif item holds a GPS position
// and whose XMP item (a mime item of type application/rdf+xml) a location: heif-enc copies
// both from the JPEG it encodes. It also returns that JPEG.
func Photo(t testing.TB, avif bool) (heif, jpegWithMetadata []byte) {
	t.Helper()
	src := JPEGWithMetadata(t, Width, Height)
	return Encode(t, src, avif), src
}

// Small returns a HEIC (or an AVIF) of the centre 32×24 of testphotos.Medium with the same
// metadata as Photo's, for fuzzing: about 1 KB.
func Small(t testing.TB, avif bool) []byte {
	t.Helper()
	return Encode(t, JPEGWithMetadata(t, 32, 24), avif)
}

// Encode returns the JPEG src encoded by heif-enc at quality 60 as a HEIC, or with avif as an
// AVIF, with the EXIF and XMP of src as items.
func Encode(t testing.TB, src []byte, avif bool) []byte {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.jpg"), filepath.Join(dir, "out.heic")
	args := []string{"-q", "60", "-o", out, in}
	if avif {
		out = filepath.Join(dir, "out.avif")
		args = []string{"-A", "-q", "60", "-o", out, in}
	}
	if err := os.WriteFile(in, src, 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command("heif-enc", args...).CombinedOutput(); err != nil {
		t.Fatalf("heif-enc %v: %v\n%s", args, err, b)
	}
	heif, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"MM\x00*", "<x:xmpmeta"} {
		if !bytes.Contains(heif, []byte(s)) {
			t.Fatalf("heif-enc left out the metadata %q", s)
		}
	}
	return heif
}

// JPEGWithMetadata returns the centre width×height of testphotos.Medium as a JPEG with an
// EXIF APP1 segment holding a GPS IFD (GPSLatitudeRef N, GPSLatitude 48/1 51/1 2938/100) and
// an XMP APP1 segment with a location.
func JPEGWithMetadata(t testing.TB, width, height int) []byte {
	t.Helper()
	f, err := os.Open(testphotos.Medium(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := jpeg.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	x, y := b.Min.X+(b.Dx()-width)/2, b.Min.Y+(b.Dy()-height)/2
	sub := img.(interface {
		SubImage(image.Rectangle) image.Image
	}).SubImage(image.Rect(x, y, x+width, y+height))
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, sub, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	plain := buf.Bytes()
	segment := func(payload string) []byte {
		return append([]byte{0xff, 0xe1, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}, payload...)
	}
	out := bytes.Clone(plain[:2])
	out = append(out, segment("Exif\x00\x00"+string(gpsTIFF()))...)
	out = append(out, segment("http://ns.adobe.com/xap/1.0/\x00"+XMP)...)
	return append(out, plain[2:]...)
}

// XMP is the XMP packet of JPEGWithMetadata.
const XMP = `<?xpacket begin="` + "\ufeff" + `" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="48,51.2N"/>
</rdf:RDF></x:xmpmeta>
<?xpacket end="w"?>`

// gpsTIFF returns a big-endian TIFF structure: IFD0 with Orientation 1 and the GPS IFD
// pointer; the GPS IFD with GPSLatitudeRef "N" and GPSLatitude 48/1 51/1 2938/100.
func gpsTIFF() []byte {
	bo := binary.BigEndian
	tiff := []byte("MM\x00*\x00\x00\x00\x08")
	tiff = bo.AppendUint16(tiff, 2)
	tiff = append(tiff, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 1, 0, 0)  // Orientation, SHORT, 1, 1
	tiff = append(tiff, 0x88, 0x25, 0, 4, 0, 0, 0, 1, 0, 0, 0, 38) // GPS IFD at 38
	tiff = append(tiff, 0, 0, 0, 0)
	tiff = bo.AppendUint16(tiff, 2)
	tiff = append(tiff, 0, 1, 0, 2, 0, 0, 0, 2, 'N', 0, 0, 0)       // GPSLatitudeRef
	tiff = append(tiff, 0, 2, 0, 5, 0, 0, 0, 3, 0, 0, 0, 38+2+24+4) // GPSLatitude at 68
	tiff = append(tiff, 0, 0, 0, 0)
	for _, v := range []uint32{48, 1, 51, 1, 2938, 100} {
		tiff = bo.AppendUint32(tiff, v)
	}
	return tiff
}
