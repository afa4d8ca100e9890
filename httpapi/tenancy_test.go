package httpapi_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
)

// as returns the bundle acting with another caller's token ("" for anonymous).
func (b *bundle) as(token string) *bundle {
	c := *b
	c.token = token
	return &c
}

// TestSupplierCannotTouchAnotherSuppliersGallery sends supplier A's token to every endpoint
// with supplier B's products: B's unpublished product is not found, B's published one is
// readable but forbidden to change, and B's data is unchanged afterwards.
func TestSupplierCannotTouchAnotherSuppliersGallery(t *testing.T) {
	t.Parallel()
	b := setup(t)
	supplierA, supplierB := uuid.New(), uuid.New()
	asA, asB := b.as(tokenFor(t, gallery.Supplier(supplierA))), b.as(tokenFor(t, gallery.Supplier(supplierB)))
	jpeg := readFile(t, goroot("testdata", "video-001.jpeg"))

	newProduct := func(as *bundle, published bool) (uuid.UUID, []uuid.UUID) {
		var p struct{ ID uuid.UUID }
		if st := as.doJSON(t, "POST", "/v1/products", map[string]any{"published": published}, &p); st != 201 {
			t.Fatalf("creating a product: %d", st)
		}
		var ids []uuid.UUID
		for range 2 {
			var im imageBody
			if st := as.upload(t, p.ID, jpeg, "", &im); st != 201 {
				t.Fatalf("uploading: %d", st)
			}
			ids = append(ids, im.ID)
		}
		return p.ID, ids
	}
	private, privateImgs := newProduct(asB, false)
	public, publicImgs := newProduct(asB, true)
	own, _ := newProduct(asA, false)
	snapshot := func() string {
		var sb strings.Builder
		for _, p := range []uuid.UUID{private, public} {
			var g galleryBody
			b.doJSON(t, "GET", "/v1/products/"+p.String()+"/images", nil, &g)
			for _, im := range g.Images {
				sb.WriteString(im.ID.String() + im.Alt + string(rune('0'+im.Position)))
			}
		}
		return sb.String()
	}
	before := snapshot()

	type call struct {
		method, path string
		body         any
	}
	calls := func(product uuid.UUID, imgs []uuid.UUID) []call {
		p, i := product.String(), imgs[0].String()
		return []call{
			{"PATCH", "/v1/products/" + p, map[string]bool{"published": true}},
			{"PUT", "/v1/products/" + p + "/images/order", map[string]any{"ids": []uuid.UUID{imgs[1], imgs[0]}}},
			{"PATCH", "/v1/images/" + i, map[string]string{"alt": "pwned"}},
			{"POST", "/v1/images/" + i + "/position", map[string]int{"position": 1}},
			{"DELETE", "/v1/images/" + i, nil},
			{"DELETE", "/v1/products/" + p, nil},
		}
	}
	for _, c := range calls(private, privateImgs) {
		if st := asA.doJSON(t, c.method, c.path, c.body, nil); st != 404 {
			t.Errorf("A: %s %s on B's unpublished product: %d, want 404", c.method, c.path, st)
		}
	}
	for _, path := range []string{"/v1/products/" + private.String(), "/v1/products/" + private.String() + "/images", "/v1/images/" + privateImgs[0].String()} {
		if st := asA.do(t, "GET", path, nil, "", nil); st != 404 {
			t.Errorf("A: GET %s of B's unpublished product: %d, want 404", path, st)
		}
	}
	if st := asA.upload(t, private, jpeg, "", nil); st != 404 {
		t.Errorf("A uploading to B's unpublished product: %d, want 404", st)
	}
	for _, c := range calls(public, publicImgs) {
		if st := asA.doJSON(t, c.method, c.path, c.body, nil); st != 403 {
			t.Errorf("A: %s %s on B's published product: %d, want 403", c.method, c.path, st)
		}
	}
	if st := asA.upload(t, public, jpeg, "", nil); st != 403 {
		t.Errorf("A uploading to B's published product: %d, want 403", st)
	}
	if st := asA.do(t, "GET", "/v1/products/"+public.String()+"/images", nil, "", nil); st != 200 {
		t.Errorf("A reading B's published gallery: %d, want 200", st)
	}
	if st := asA.doJSON(t, "POST", "/v1/products", map[string]any{"supplier_id": supplierB}, nil); st != 403 {
		t.Errorf("A creating a product for B: %d, want 403", st)
	}

	// Anonymous callers read published galleries only, and change nothing.
	anon := b.as("")
	if st := anon.do(t, "GET", "/v1/products/"+public.String()+"/images", nil, "", nil); st != 200 {
		t.Errorf("anon reading a published gallery: %d", st)
	}
	if st := anon.do(t, "GET", "/v1/products/"+own.String()+"/images", nil, "", nil); st != 404 {
		t.Errorf("anon reading an unpublished gallery: %d, want 404", st)
	}
	for _, c := range append(calls(public, publicImgs), call{"POST", "/v1/products", map[string]any{"supplier_id": supplierB}}) {
		if st := anon.doJSON(t, c.method, c.path, c.body, nil); st != 401 {
			t.Errorf("anon: %s %s: %d, want 401", c.method, c.path, st)
		}
	}
	if st := anon.upload(t, public, jpeg, "", nil); st != 401 {
		t.Errorf("anon uploading: %d, want 401", st)
	}
	if st := b.as("not-a-token").do(t, "GET", "/v1/products/"+public.String()+"/images", nil, "", nil); st != 401 {
		t.Errorf("a malformed token: %d, want 401 (never anonymous)", st)
	}
	if after := snapshot(); after != before {
		t.Fatalf("B's galleries changed:\n%s\n%s", before, after)
	}

	// B itself may do all of it.
	for _, c := range calls(public, publicImgs) {
		if st := asB.doJSON(t, c.method, c.path, c.body, nil); st >= 300 {
			t.Errorf("B: %s %s: %d", c.method, c.path, st)
		}
	}
}

func TestUploadRateLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *options) { o.limit = &httpapiLimiter{perMinute: 1, burst: 2} })
	productID := b.createProduct(t)
	jpeg := readFile(t, goroot("testdata", "video-001.jpeg"))
	for i := range 2 {
		if st := b.upload(t, productID, jpeg, "", nil); st != 201 {
			t.Fatalf("upload %d within the burst: %d", i, st)
		}
	}
	body, ct := multipartBody(t, [2]string{"file", string(jpeg)})
	req, _ := http.NewRequest("POST", b.url+"/v1/products/"+productID.String()+"/images", body)
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+b.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("third upload: %d, Retry-After %q; want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	var g galleryBody
	b.doJSON(t, "GET", "/v1/products/"+productID.String()+"/images", nil, &g)
	if len(g.Images) != 2 {
		t.Fatalf("%d images after a refused upload, want 2", len(g.Images))
	}
}

// TestStalledUploadIsCutOffAndLeavesNothing sends part of an upload and then nothing: the
// server gives up after the stall timeout, and no row, object or temporary file remains.
func TestStalledUploadIsCutOffAndLeavesNothing(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *options) { o.stall = 300 * time.Millisecond })
	productID := b.createProduct(t)
	jpeg := readFile(t, goroot("testdata", "video-001.jpeg"))
	body, ct := multipartBody(t, [2]string{"file", string(jpeg)})
	full, _ := io.ReadAll(body)

	conn, err := net.Dial("tcp", strings.TrimPrefix(b.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/products/%s/images HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
		productID, b.token, ct, len(full))
	conn.Write(full[:len(full)/2]) // half the body, then silence
	start := time.Now()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	reply, _ := io.ReadAll(conn) // the server answers or closes once the stall timeout passes
	if waited := time.Since(start); waited > 5*time.Second {
		t.Fatalf("the server waited %v for a stalled body", waited)
	}
	if len(reply) > 0 && !strings.Contains(string(reply), " 400 ") {
		t.Fatalf("answer to a stalled upload: %q", reply)
	}
	b.assertNothingStored(t)
}
