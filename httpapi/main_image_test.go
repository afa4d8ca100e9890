package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/internal/testphotos"
)

// recordVariants records, as a thumbnail job does, variants of image im in formats for
// every default preset; their URLs name the image, the preset and the format.
func (b *bundle) recordVariants(t *testing.T, im imageBody, formats ...string) {
	t.Helper()
	ctx := gallery.WithCaller(context.Background(), gallery.Service())
	v := gallery.Variants{}
	for _, p := range gallery.DefaultPresets() {
		v[p.Name] = map[string]gallery.Variant{}
		for _, f := range formats {
			key := "variants/" + im.ID.String() + "-" + p.Name + "." + f
			v[p.Name][f] = gallery.Variant{Key: key, URL: "https://cdn.example/" + key, Width: p.LongSide, Height: p.LongSide, Bytes: 1}
		}
	}
	outcome, err := b.db.RecordThumbnails(ctx, gallery.ThumbnailTarget{ImageID: im.ID, SourceSHA256: im.SHA256},
		gallery.Thumbnails{Variants: v}, formats[0], func(context.Context) error { return nil })
	if err != nil || outcome != gallery.Recorded {
		t.Fatalf("recording variants: %s, %v", outcome, err)
	}
}

// mainAnswer is what GET /v1/products/{id}/main/{preset} answered.
type mainAnswer struct {
	status                           int
	location, vary, cache, retry, ct string
	code                             string
}

// getMain asks for a product's main image in preset with accept (none when "-"), as token
// ("" for anonymous), without following the redirect.
func (b *bundle) getMain(t *testing.T, method string, productID uuid.UUID, preset, accept, token string) mainAnswer {
	t.Helper()
	req, err := http.NewRequest(method, b.url+"/v1/products/"+productID.String()+"/main/"+preset, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "-" {
		req.Header.Set("Accept", accept)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	a := mainAnswer{status: res.StatusCode, location: res.Header.Get("Location"), vary: strings.Join(res.Header.Values("Vary"), ","),
		cache: res.Header.Get("Cache-Control"), retry: res.Header.Get("Retry-After"), ct: res.Header.Get("Content-Type")}
	if res.StatusCode >= 400 && method != http.MethodHead {
		var e apiError
		if err := json.NewDecoder(res.Body).Decode(&e); err != nil || e.Error.Message == "" {
			t.Fatalf("%s: %d without an error body (%v)", req.URL.Path, res.StatusCode, err)
		}
		a.code = e.Error.Code
	}
	return a
}

// TestMainImageURL: one URL per product and preset answers 302 to the current main image's
// variant in the best format the request accepts, follows a reorder and a new main image,
// answers HEAD alike, keeps unpublished products from anonymous callers, and says why when it
// cannot redirect.
func TestMainImageURL(t *testing.T) {
	t.Parallel()
	// Gallery writes enqueue thumbnail jobs (which nothing works here) and clear the old main
	// image's record, as a server does.
	b := setup(t, func(o *options) { o.jobs = true })
	supplier := uuid.New()
	asSupplier := b.as(tokenFor(t, gallery.Supplier(supplier)))
	var p productBody
	if st := asSupplier.doJSON(t, "POST", "/v1/products", map[string]any{}, &p); st != 201 {
		t.Fatalf("creating the product: %d", st)
	}
	tok := asSupplier.token
	if a := b.getMain(t, "GET", p.ID, "mobile", "-", tok); a.status != 404 || a.code != "not_found" {
		t.Errorf("a product without images: %+v, want 404 not_found", a)
	}
	photos, err := testphotos.Photographs()
	if err != nil {
		t.Fatal(err)
	}
	var first, second imageBody
	if st := asSupplier.upload(t, p.ID, readFile(t, photos[0]), "", &first); st != 201 {
		t.Fatalf("uploading: %d", st)
	}
	if st := asSupplier.upload(t, p.ID, readFile(t, photos[1]), "", &second); st != 201 {
		t.Fatalf("uploading: %d", st)
	}

	// Not made yet: 404 variant_not_ready, to retry shortly, not to be cached.
	a := b.getMain(t, "GET", p.ID, "mobile", "image/webp", tok)
	if a.status != 404 || a.code != "variant_not_ready" || a.retry == "" || a.cache != "no-store" || !strings.Contains(a.vary, "Accept") {
		t.Errorf("before the thumbnails are made: %+v", a)
	}
	b.recordVariants(t, first, "webp", "jpeg", "avif")
	url := func(im imageBody, preset, format string) string {
		return "https://cdn.example/variants/" + im.ID.String() + "-" + preset + "." + format
	}
	for _, c := range []struct{ accept, want string }{
		{"-", "avif"},
		{"*/*", "avif"},
		{"image/*", "avif"},
		{"image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8", "avif"}, // Chromium's
		{"image/webp,*/*", "webp"},                          // a named type before a wildcard
		{"image/webp,image/apng,image/*,*/*;q=0.8", "webp"}, // a browser without AVIF
		{"image/avif;q=0, image/*", "webp"},
		{"image/avif;q=0,image/webp;q=0,*/*", "jpeg"},
		{"image/jpeg", "jpeg"},
		{"image/jpeg;q=0.9, image/webp;q=0.5", "jpeg"},
		{"IMAGE/WEBP", "webp"},
		{"image/png, image/*;q=0.1", "avif"},
	} {
		a := b.getMain(t, "GET", p.ID, "mobile", c.accept, tok)
		if a.status != 302 || a.location != url(first, "mobile", c.want) {
			t.Errorf("Accept %q: %d to %q, want the %s variant", c.accept, a.status, a.location, c.want)
		}
		if !strings.Contains(a.vary, "Accept") || a.cache != "private, max-age=60" {
			t.Errorf("Accept %q: Vary %q, Cache-Control %q", c.accept, a.vary, a.cache)
		}
	}
	for _, accept := range []string{"image/png", "image/avif;q=0,image/webp;q=0,image/jpeg;q=0", "text/html"} {
		if a := b.getMain(t, "GET", p.ID, "mobile", accept, tok); a.status != 406 || a.code != "not_acceptable" || !strings.Contains(a.vary, "Accept") {
			t.Errorf("Accept %q: %+v, want 406 not_acceptable", accept, a)
		}
	}
	if a := b.getMain(t, "HEAD", p.ID, "tablet", "image/webp", tok); a.status != 302 || a.location != url(first, "tablet", "webp") {
		t.Errorf("HEAD: %+v", a)
	}
	if a := b.getMain(t, "GET", p.ID, "poster", "-", tok); a.status != 404 || a.code != "not_found" {
		t.Errorf("an unknown preset: %+v, want 404 not_found", a)
	}

	// Anonymous callers: not while the product is unpublished, then as public answers.
	if a := b.getMain(t, "GET", p.ID, "mobile", "-", ""); a.status != 404 || a.code != "not_found" || a.location != "" {
		t.Errorf("anonymous, unpublished: %+v, want 404", a)
	}
	if a := b.getMain(t, "HEAD", p.ID, "mobile", "-", ""); a.status != 404 || a.location != "" {
		t.Errorf("anonymous HEAD, unpublished: %+v, want 404", a)
	}
	if st := asSupplier.doJSON(t, "PATCH", "/v1/products/"+p.ID.String(), map[string]bool{"published": true}, nil); st != 200 {
		t.Fatalf("publishing: %d", st)
	}
	if a := b.getMain(t, "GET", p.ID, "desktop", "image/webp,image/jpeg;q=0.5", ""); a.status != 302 || a.location != url(first, "desktop", "webp") || a.cache != "public, max-age=60" {
		t.Errorf("anonymous, published: %+v", a)
	}

	// A reorder makes the second image main: the same URL follows it, once its variants are
	// made (under the main-only policy the old main's are cleared).
	if st := asSupplier.doJSON(t, "PUT", "/v1/products/"+p.ID.String()+"/images/order", map[string]any{"ids": []uuid.UUID{second.ID, first.ID}}, nil); st != 200 {
		t.Fatalf("reordering: %d", st)
	}
	if a := b.getMain(t, "GET", p.ID, "mobile", "image/webp", ""); a.status != 404 || a.code != "variant_not_ready" {
		t.Errorf("after the reorder, before the new main's variants: %+v", a)
	}
	b.recordVariants(t, second, "webp", "jpeg")
	if a := b.getMain(t, "GET", p.ID, "mobile", "*/*", ""); a.status != 302 || a.location != url(second, "mobile", "webp") {
		t.Errorf("after the reorder: %+v, want the second image's webp (no avif made)", a)
	}
	// Making the first image main again (a move to position 0) moves the URL back.
	if st := asSupplier.doJSON(t, "POST", "/v1/images/"+first.ID.String()+"/position", map[string]int{"position": 0}, nil); st != 200 {
		t.Fatalf("moving: %d", st)
	}
	b.recordVariants(t, first, "jpeg")
	if a := b.getMain(t, "GET", p.ID, "minithumb", "image/webp,image/jpeg;q=0.8", ""); a.status != 302 || a.location != url(first, "minithumb", "jpeg") {
		t.Errorf("after making the first image main again: %+v", a)
	}
}
