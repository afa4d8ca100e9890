package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/google/uuid"
	"golang.org/x/net/http/httpguts"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/httpapi"
	"github.com/vitrine-dev/vitrine/internal/sseclient"
)

// fuzzTarget is what every fuzzed request may name: a product with an image, over S3 (so
// that every route, direct uploads included, does its real work), and callers of each kind.
type fuzzTarget struct {
	b                  *bundle
	product, image     uuid.UUID
	objectKey          string
	service, owner, ot string // tokens: the service, the product's supplier, another supplier
}

func newFuzzTarget(f *testing.F) *fuzzTarget {
	b := setup(f, func(o *options) { o.s3 = true })
	supplier := uuid.New()
	ft := &fuzzTarget{b: b, service: b.token, owner: tokenFor(f, gallery.Supplier(supplier)), ot: tokenFor(f, gallery.Supplier(uuid.New()))}
	ft.create(f)
	return ft
}

// ensure makes the product and its image again when a request deleted them, so that every
// input may reach the routes' real work.
func (ft *fuzzTarget) ensure(t testing.TB) {
	var n int
	if err := ft.b.db.Pool().QueryRow(t.Context(), `SELECT count(*) FROM product_images WHERE id = $1`, ft.image).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		ft.create(t)
	}
}

// create makes a product of the owner with one image.
func (ft *fuzzTarget) create(f testing.TB) {
	b := ft.b
	send := func(method, path, ct string, body io.Reader, out any) {
		req, _ := http.NewRequest(method, b.url+path, body)
		req.Header.Set("Authorization", "Bearer "+ft.owner)
		req.Header.Set("Content-Type", ct)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			f.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil || resp.StatusCode != http.StatusCreated {
			f.Fatalf("%s %s: %d %v", method, path, resp.StatusCode, err)
		}
	}
	var p struct{ ID uuid.UUID }
	send("POST", "/v1/products", "application/json", strings.NewReader(`{}`), &p)
	png, err := os.ReadFile(goroot("testdata", "video-001.png"))
	if err != nil {
		f.Fatal(err)
	}
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	fw, _ := mw.CreateFormFile("file", "photo.png")
	fw.Write(png)
	mw.Close()
	var im imageBody
	send("POST", "/v1/products/"+p.ID.String()+"/images", mw.FormDataContentType(), &form, &im)
	ft.product, ft.image = p.ID, im.ID
	_, ft.objectKey, _ = strings.Cut(im.URL, "/objects/")
}

// path fills pattern's parameters: with the target's ids when which is 0 or 1, a fresh id
// when 2, and arg otherwise.
func (ft *fuzzTarget) path(pattern string, which uint8, arg string) string {
	_, p, _ := strings.Cut(pattern, " ")
	fill := func(real string) string {
		switch which % 4 {
		case 0, 1:
			return real
		case 2:
			return uuid.NewString()
		default:
			return url.PathEscape(arg)
		}
	}
	p = strings.ReplaceAll(p, "{product_id}", fill(ft.product.String()))
	if strings.HasPrefix(p, "/v1/uploads/") {
		p = strings.ReplaceAll(p, "{id}", fill(uuid.NewString()))
	}
	p = strings.ReplaceAll(p, "{id}", fill(ft.image.String()))
	if which%4 == 3 {
		return strings.ReplaceAll(p, "{key...}", arg) // a key may hold slashes
	}
	return strings.ReplaceAll(p, "{key...}", ft.objectKey)
}

// FuzzRoutes sends fuzzed JSON bodies and headers to every route of the API, as each kind of
// caller, and fails on any 5xx: whatever a client sends is answered with a 4xx at worst. One
// database and bucket serve the whole run.
func FuzzRoutes(f *testing.F) {
	ft := newFuzzTarget(f)
	routes := httpapi.RoutePatterns()
	seeds := []struct {
		body, ct string
	}{
		{`{}`, "application/json"},
		{`{"supplier_id": "7d6f4a0e-8a6b-4c1e-9a55-3f1f6f0c2a11", "id": "\u0000", "published": true}`, "application/json"},
		{`{"alt": "a\u0000b"}`, "application/json"},
		{`{"position": 2147483648}`, "application/json"},
		{`{"ids": ["00000000-0000-0000-0000-000000000000", null]}`, "application/json"},
		{`{"published": "yes"}`, "application/json"},
		{"--x\r\nContent-Disposition: form-data; name=\"alt\"\r\n\r\n\x00\r\n--x--\r\n", "multipart/form-data; boundary=x"},
		{`[1e400]`, "text/plain"},
	}
	for i := range routes {
		for j, s := range seeds {
			// The real ids as the service and as the owner, then other ids and callers.
			f.Add(uint8(i), uint8(0), uint8(0), "x", s.ct, "", []byte(s.body))
			f.Add(uint8(i), uint8(1), uint8(1), "x", s.ct, "bytes=0-1,5-", []byte(s.body))
			f.Add(uint8(i), uint8(j), uint8(j%5), "x", s.ct, "bytes=0-1,5-", []byte(s.body))
		}
	}
	f.Add(uint8(0), uint8(3), uint8(4), "../../etc", "application/json", "bytes=-0", []byte(`{"id": "`+ft.product.String()+`"}`))
	f.Fuzz(func(t *testing.T, route, which, caller uint8, arg, ct, rangeHeader string, body []byte) {
		ft.ensure(t)
		pattern := routes[int(route)%len(routes)]
		method, _, _ := strings.Cut(pattern, " ")
		req, err := http.NewRequest(method, ft.b.url+ft.path(pattern, which, arg), bytes.NewReader(body))
		if err != nil {
			return // not a URL a client could send
		}
		switch caller % 5 {
		case 0:
			req.Header.Set("Authorization", "Bearer "+ft.service)
		case 1:
			req.Header.Set("Authorization", "Bearer "+ft.owner)
		case 2:
			req.Header.Set("Authorization", "Bearer "+ft.ot)
		case 3: // anonymous
		default:
			req.Header.Set("Authorization", arg)
		}
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Range", rangeHeader)
		for _, v := range req.Header {
			if !httpguts.ValidHeaderFieldValue(v[0]) {
				return // net/http would not send it
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: the server broke the connection: %v", pattern, err)
		}
		var data []byte
		if resp.StatusCode == http.StatusOK && resp.Header.Get("Content-Type") == "text/event-stream" {
			// An event stream does not end: its first event is enough.
			_ = sseclient.Read(resp.Body, func(ev sseclient.Event) bool { data = []byte(ev.Data); return false })
		} else {
			data, _ = io.ReadAll(resp.Body)
		}
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %s (caller %d, Content-Type %q, Range %q) %q: %d %s", method, req.URL.Path, caller%5, ct, rangeHeader, body, resp.StatusCode, data)
		}
	})
}
