package httpapi_test

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/testimages"
)

// pngWith builds a PNG of one IHDR declaring w×h (8-bit grey) and one IDAT of idat.
func pngWith(w, h uint32, idat []byte) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 0
	out := []byte("\x89PNG\r\n\x1a\n")
	out = append(out, testimages.PNGChunk("IHDR", ihdr)...)
	out = append(out, testimages.PNGChunk("IDAT", idat)...)
	return append(out, testimages.PNGChunk("IEND", nil)...)
}

func deflated(n int) []byte {
	var buf bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&buf, zlib.BestCompression)
	zw.Write(make([]byte, n))
	zw.Close()
	return buf.Bytes()
}

// TestHostileUploads sends what an attacker would: decompression bombs, SVG, a polyglot,
// spoofed names and types. Each gets its 4xx and leaves nothing, or, for the polyglot, is
// stored as the image it is, without its payload.
func TestHostileUploads(t *testing.T) {
	t.Parallel()
	b := setup(t)
	productID := b.createProduct(t)
	for _, c := range []struct {
		name   string
		data   []byte
		status int
		code   string
	}{
		{"PNG declaring 100000x100000", pngWith(100000, 100000, deflated(1<<16)), 422, "too_many_pixels"},
		// 64×64 declared, 64 MiB of zeros inflated: the stream is cut once past what 64×64 needs.
		{"PNG zlib bomb", pngWith(64, 64, deflated(64<<20)), 422, "corrupt_image"},
		{"SVG with a script", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>fetch('//evil')</script></svg>`), 415, "unsupported_media"},
		{"SVG behind an XML declaration", []byte("\ufeff<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>"), 415, "unsupported_media"},
		{"HTML named photo.jpg", []byte("<html><body><script>alert(1)</script></body></html>"), 415, "unsupported_media"},
	} {
		var e apiError
		if st := b.uploadAs(t, productID, c.data, "photo.jpg", "image/jpeg", &e); st != c.status || e.Error.Code != c.code {
			t.Errorf("%s: %d %q (%s), want %d %s", c.name, st, e.Error.Code, e.Error.Message, c.status, c.code)
		}
	}
	b.assertNothingStored(t)

	// A JPEG with an HTML page appended, sent as text/html: it is a JPEG by its bytes, stored
	// without the page, and served as a JPEG that browsers will not sniff.
	jpeg := readFile(t, goroot("testdata", "video-001.jpeg"))
	polyglot := append(append([]byte{}, jpeg...), []byte("<html><script>alert(document.cookie)</script></html>")...)
	var im imageBody
	if st := b.uploadAs(t, productID, polyglot, "page.html", "text/html", &im); st != 201 || im.MediaType != "image/jpeg" {
		t.Fatalf("polyglot: %d %+v", st, im)
	}
	resp, body := get(t, im.URL)
	if resp.Header.Get("Content-Type") != "image/jpeg" || resp.Header.Get("X-Content-Type-Options") != "nosniff" ||
		strings.Contains(string(body), "<html") || !bytes.HasSuffix(body, []byte{0xff, 0xd9}) {
		t.Fatalf("polyglot served as %s (nosniff %q), payload kept: %v", resp.Header.Get("Content-Type"),
			resp.Header.Get("X-Content-Type-Options"), strings.Contains(string(body), "<html"))
	}
	// A PNG named .gif and declared as image/gif is a PNG.
	png := readFile(t, goroot("testdata", "video-001.png"))
	if st := b.uploadAs(t, productID, png, "x.gif", "image/gif", &im); st != 201 || im.MediaType != "image/png" || !strings.HasSuffix(im.URL, ".png") {
		t.Fatalf("spoofed type: %d %+v", st, im)
	}
}

// uploadAs uploads data with the part's file name and Content-Type chosen by the test.
func (b *bundle) uploadAs(t *testing.T, productID interface{ String() string }, data []byte, filename, contentType string, out any) int {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="`+filename+`"`)
	h.Set("Content-Type", contentType)
	w, err := mw.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	mw.Close()
	return b.do(t, http.MethodPost, "/v1/products/"+productID.String()+"/images", io.Reader(&buf), mw.FormDataContentType(), out)
}
