package httpapi_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/testheif"
)

// TestBrokenHEIFUploadsLeaveNothingBehind sends HEIC and AVIF files broken box by box:
// each gets its 422 and leaves no row, no object and no temporary file.
func TestBrokenHEIFUploadsLeaveNothingBehind(t *testing.T) {
	t.Parallel()
	b := setup(t)
	productID := b.createProduct(t)
	heic, _ := testheif.Photo(t, false)
	avif, _ := testheif.Photo(t, true)
	for kind, file := range map[string][]byte{"heic": heic, "avif": avif} {
		for name, data := range testheif.Broken(t, file) {
			code := "corrupt_image"
			if testheif.TooManyPixels[name] {
				code = "too_many_pixels"
			}
			var e apiError
			if st := b.uploadAs(t, productID, data, "photo."+kind, "image/"+kind, &e); st != 422 || e.Error.Code != code {
				t.Errorf("%s %s: %d %q (%s), want 422 %s", kind, name, st, e.Error.Code, e.Error.Message, code)
			}
		}
	}
	b.assertNothingStored(t)
}

// TestHEIFUploadIsStoredWithoutMetadata uploads a HEIC photograph with a GPS position in its
// EXIF and a location in its XMP: the stored original has neither, and libheif decodes it to
// the pixels of the upload.
func TestHEIFUploadIsStoredWithoutMetadata(t *testing.T) {
	t.Parallel()
	b := setup(t)
	productID := b.createProduct(t)
	for _, avif := range []bool{false, true} {
		data, _ := testheif.Photo(t, avif)
		mt, ext := "image/heic", ".heic"
		if avif {
			mt, ext = "image/avif", ".avif"
		}
		var im imageBody
		if st := b.upload(t, productID, data, "", &im); st != 201 {
			t.Fatalf("%s: %d", mt, st)
		}
		if im.MediaType != mt || im.Width != testheif.Width || im.Height != testheif.Height || !strings.HasSuffix(im.URL, ext) {
			t.Errorf("stored as %+v, want a %dx%d %s", im, testheif.Width, testheif.Height, mt)
		}
		resp, stored := get(t, im.URL)
		if ct := resp.Header.Get("Content-Type"); ct != mt {
			t.Errorf("%s served as %s", mt, ct)
		}
		if int64(len(stored)) != im.Bytes || len(stored) >= len(data) {
			t.Errorf("%s: stored %d bytes (the record says %d) of %d uploaded", mt, len(stored), im.Bytes, len(data))
		}
		for _, m := range testheif.Markers {
			if bytes.Contains(stored, []byte(m)) {
				t.Errorf("%s: the stored original holds %q", mt, m)
			}
		}
		if testheif.HasMetadata(t, stored) {
			t.Errorf("%s: heif-info sees metadata in the stored original", mt)
		}
		if !testheif.SamePixels(testheif.Decode(t, data), testheif.Decode(t, stored)) {
			t.Errorf("%s: the stored original decodes to other pixels than the upload", mt)
		}
	}
}
