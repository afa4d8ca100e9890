package httpapi_test

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/internal/testheif"
	"github.com/vitrine-dev/vitrine/upload"
)

// TestUploadTypesAreASetting serves with VITRINE_UPLOAD_TYPES=jpeg,png on a real S3 server:
// a HEIC, an AVIF and a GIF are refused with 415 and a message naming the accepted types,
// through the upload endpoint and through a direct upload alike, and leave no row and no
// object; a JPEG is accepted. With the default list, the same HEIC is accepted.
func TestUploadTypesAreASetting(t *testing.T) {
	t.Parallel()
	types, err := upload.ParseTypes("jpeg, PNG")
	if err != nil {
		t.Fatal(err)
	}
	b := setup(t, func(o *options) { o.s3 = true; o.uploadTypes = types })
	as := b.as(tokenFor(t, gallery.Supplier(uuid.New())))
	var p struct{ ID uuid.UUID }
	if st := as.doJSON(t, "POST", "/v1/products", map[string]any{}, &p); st != 201 {
		t.Fatalf("creating a product: %d", st)
	}
	heic, _ := testheif.Photo(t, false)
	avif, _ := testheif.Photo(t, true)
	gif := readFile(t, goroot("testdata", "video-001.gif"))
	for name, tc := range map[string]struct {
		data []byte
		says string
	}{
		"heic": {heic, "HEIC images are not accepted here: upload a JPEG or PNG image"},
		"avif": {avif, "AVIF images are not accepted here: upload a JPEG or PNG image"},
		"gif":  {gif, "GIF images are not accepted here: upload a JPEG or PNG image"},
	} {
		var e apiError
		if st := as.upload(t, p.ID, tc.data, "", &e); st != 415 || e.Error.Code != "unsupported_media" || e.Error.Message != tc.says {
			t.Errorf("uploading a %s: %d %+v, want 415 saying %q", name, st, e, tc.says)
		}
		var up directUpload
		if st := as.doJSON(t, "POST", "/v1/products/"+p.ID.String()+"/uploads", nil, &up); st != 201 {
			t.Fatalf("starting a direct upload: %d", st)
		}
		put(t, up.UploadURL, tc.data)
		e = apiError{}
		if st := as.doJSON(t, "POST", up.CompleteURL, nil, &e); st != 415 || e.Error.Message != tc.says {
			t.Errorf("completing a direct upload of a %s: %d %+v, want 415 saying %q", name, st, e, tc.says)
		}
	}
	var e apiError
	if st := as.upload(t, p.ID, []byte("<svg/>"), "", &e); st != 415 || !strings.Contains(e.Error.Message, "not a JPEG or PNG image") {
		t.Errorf("uploading an SVG: %d %+v", st, e)
	}
	b.drain(t)
	b.assertNothingStored(t)

	if st := as.upload(t, p.ID, readFile(t, goroot("testdata", "video-001.jpeg")), "", nil); st != 201 {
		t.Fatalf("uploading a JPEG: %d", st)
	}

	all := setup(t)
	as = all.as(tokenFor(t, gallery.Supplier(uuid.New())))
	if st := as.doJSON(t, "POST", "/v1/products", map[string]any{}, &p); st != 201 {
		t.Fatalf("creating a product: %d", st)
	}
	var im imageBody
	if st := as.upload(t, p.ID, heic, "", &im); st != 201 || im.MediaType != "image/heic" || im.Width != testheif.Width {
		t.Fatalf("uploading a HEIC with every type accepted: %d %+v", st, im)
	}
}
