package httpapi_test

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
)

const (
	shopOrigin  = "https://admin.shop.example"
	otherOrigin = "https://evil.example"
)

// exchange sends one request with the given headers (name, value, ...) and returns the
// response with its body read.
func exchange(t *testing.T, method, url string, body []byte, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, data
}

// corsHeaders returns the response's Access-Control-* headers.
func corsHeaders(h http.Header) http.Header {
	out := http.Header{}
	for k, v := range h {
		if strings.HasPrefix(k, "Access-Control-") {
			out[k] = v
		}
	}
	return out
}

// varies reports whether the response's Vary headers name field.
func varies(h http.Header, field string) bool {
	for _, v := range h.Values("Vary") {
		for f := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), field) {
				return true
			}
		}
	}
	return false
}

// splitList splits a comma-separated header value, lower-cased.
func splitList(v string) []string {
	var out []string
	for f := range strings.SplitSeq(v, ",") {
		out = append(out, strings.ToLower(strings.TrimSpace(f)))
	}
	return out
}

func TestCORSPreflight(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *options) { o.corsOrigins = []string{shopOrigin, "http://localhost:5173"} })
	path := "/v1/products/" + uuid.NewString() + "/images/order"

	// From an allowed origin: 204 with the method and headers asked for, and a max age.
	res, body := exchange(t, http.MethodOptions, b.url+path, nil,
		"Origin", shopOrigin, "Access-Control-Request-Method", "PUT",
		"Access-Control-Request-Headers", "authorization,content-type,last-event-id,vitrine-supplier,x-request-id")
	if res.StatusCode != http.StatusNoContent || len(body) != 0 {
		t.Fatalf("preflight from %s: %d %q", shopOrigin, res.StatusCode, body)
	}
	h := res.Header
	if got := h.Values("Access-Control-Allow-Origin"); !slices.Equal(got, []string{shopOrigin}) {
		t.Errorf("Access-Control-Allow-Origin %q, want exactly %q", got, shopOrigin)
	}
	if got := h.Get("Access-Control-Allow-Methods"); got != "PUT" {
		t.Errorf("Access-Control-Allow-Methods %q", got)
	}
	allowed := splitList(h.Get("Access-Control-Allow-Headers"))
	for _, want := range []string{"authorization", "content-type", "last-event-id", "vitrine-supplier", "x-request-id"} {
		if !slices.Contains(allowed, want) {
			t.Errorf("Access-Control-Allow-Headers %q lacks %s", allowed, want)
		}
	}
	if got := h.Get("Access-Control-Max-Age"); got != "600" {
		t.Errorf("Access-Control-Max-Age %q, want 600", got)
	}
	if h.Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("credentials allowed: %q", h.Get("Access-Control-Allow-Credentials"))
	}
	if !varies(h, "Origin") || !varies(h, "Access-Control-Request-Headers") {
		t.Errorf("Vary %q", h.Values("Vary"))
	}

	// Every method of the API may be asked for; the other listed origin is allowed too.
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"} {
		res, _ := exchange(t, http.MethodOptions, b.url+path, nil,
			"Origin", "http://localhost:5173", "Access-Control-Request-Method", m)
		if res.StatusCode != http.StatusNoContent || res.Header.Get("Access-Control-Allow-Origin") != "http://localhost:5173" ||
			res.Header.Get("Access-Control-Allow-Methods") != m {
			t.Errorf("preflight for %s: %d %v", m, res.StatusCode, corsHeaders(res.Header))
		}
	}

	// What is not allowed gets no Access-Control-* header, so the browser refuses the call: a
	// header outside the list, a method the API has not, an origin not listed (its preflight
	// is an OPTIONS like any other: 405 with Allow), an origin listed with a path, and a page
	// outside /v1.
	refused := []struct {
		name, path string
		header     []string
		status     int
	}{
		{"a header outside the list", path, []string{"Origin", shopOrigin, "Access-Control-Request-Method", "PUT", "Access-Control-Request-Headers", "authorization,x-secret"}, http.StatusNoContent},
		{"a method the API has not", path, []string{"Origin", shopOrigin, "Access-Control-Request-Method", "PROPFIND"}, http.StatusNoContent},
		{"another origin", path, []string{"Origin", otherOrigin, "Access-Control-Request-Method", "PUT", "Access-Control-Request-Headers", "authorization"}, http.StatusMethodNotAllowed},
		{"a sub-domain of the origin", path, []string{"Origin", "https://x.admin.shop.example", "Access-Control-Request-Method", "PUT"}, http.StatusMethodNotAllowed},
		{"the origin over http", path, []string{"Origin", "http://admin.shop.example", "Access-Control-Request-Method", "PUT"}, http.StatusMethodNotAllowed},
		{"the document, outside /v1", "/openapi.json", []string{"Origin", shopOrigin, "Access-Control-Request-Method", "GET"}, http.StatusMethodNotAllowed},
		{"an object, outside /v1", "/objects/originals/ab/x.jpg", []string{"Origin", shopOrigin, "Access-Control-Request-Method", "GET"}, http.StatusMethodNotAllowed},
	}
	for _, c := range refused {
		res, body := exchange(t, http.MethodOptions, b.url+c.path, nil, c.header...)
		if got := corsHeaders(res.Header); len(got) != 0 {
			t.Errorf("%s: CORS headers %v", c.name, got)
		}
		if res.StatusCode != c.status {
			t.Errorf("%s: %d %q, want %d", c.name, res.StatusCode, body, c.status)
		}
		if res.StatusCode == http.StatusMethodNotAllowed && res.Header.Get("Allow") == "" {
			t.Errorf("%s: 405 without Allow", c.name)
		}
	}
}

func TestCORSActualRequests(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *options) { o.corsOrigins = []string{shopOrigin} })
	supplier := uuid.New()
	token := tokenFor(t, gallery.Supplier(supplier))

	// From the allowed origin: the answer names exactly that origin and exposes the headers
	// the page needs (Location here).
	res, body := exchange(t, http.MethodPost, b.url+"/v1/products", []byte(`{}`),
		"Origin", shopOrigin, "Authorization", "Bearer "+token, "Content-Type", "application/json")
	if res.StatusCode != http.StatusCreated || res.Header.Get("Location") == "" {
		t.Fatalf("create from %s: %d %q", shopOrigin, res.StatusCode, body)
	}
	assertAllowed(t, "create", res.Header)

	// Errors too, so that the page reads the error and WWW-Authenticate.
	res, _ = exchange(t, http.MethodGet, b.url+"/v1/products/"+uuid.NewString(), nil,
		"Origin", shopOrigin, "Authorization", "Bearer not-a-token")
	if res.StatusCode != http.StatusUnauthorized || res.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("bad token: %d", res.StatusCode)
	}
	assertAllowed(t, "401", res.Header)
	res, _ = exchange(t, http.MethodGet, b.url+"/v1/nothing-here", nil, "Origin", shopOrigin)
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown path: %d", res.StatusCode)
	}
	assertAllowed(t, "404", res.Header)

	// From another origin the request is served (CORS is enforced by the browser), but the
	// answer has no CORS header, so the page cannot read it.
	res, body = exchange(t, http.MethodPost, b.url+"/v1/products", []byte(`{}`),
		"Origin", otherOrigin, "Authorization", "Bearer "+token, "Content-Type", "application/json")
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("create from %s: %d %q", otherOrigin, res.StatusCode, body)
	}
	if got := corsHeaders(res.Header); len(got) != 0 {
		t.Errorf("another origin got CORS headers %v", got)
	}
	if !varies(res.Header, "Origin") {
		t.Errorf("Vary %q: a cache could serve this answer to the allowed origin", res.Header.Values("Vary"))
	}

	// Outside /v1: the document and the objects carry no CORS header even for the origin.
	for _, p := range []string{"/openapi.json", "/healthz", "/objects/originals/ab/" + strings.Repeat("a", 64) + ".jpg"} {
		res, _ := exchange(t, http.MethodGet, b.url+p, nil, "Origin", shopOrigin)
		if got := corsHeaders(res.Header); len(got) != 0 {
			t.Errorf("%s: CORS headers %v", p, got)
		}
	}
}

// assertAllowed checks the CORS headers of an answer to the allowed origin.
func assertAllowed(t *testing.T, what string, h http.Header) {
	t.Helper()
	if got := h.Values("Access-Control-Allow-Origin"); !slices.Equal(got, []string{shopOrigin}) {
		t.Errorf("%s: Access-Control-Allow-Origin %q, want exactly %q", what, got, shopOrigin)
	}
	exposed := splitList(h.Get("Access-Control-Expose-Headers"))
	for _, want := range []string{"location", "retry-after", "etag", "www-authenticate"} {
		if !slices.Contains(exposed, want) {
			t.Errorf("%s: Access-Control-Expose-Headers %q lacks %s", what, exposed, want)
		}
	}
	if h.Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("%s: credentials allowed", what)
	}
	if !varies(h, "Origin") {
		t.Errorf("%s: Vary %q", what, h.Values("Vary"))
	}
}

// TestCORSOffByDefault: without origins, nothing is offered to other origins.
func TestCORSOffByDefault(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res, body := exchange(t, http.MethodOptions, b.url+"/v1/products", nil,
		"Origin", shopOrigin, "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization,content-type")
	if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") == "" {
		t.Errorf("preflight: %d %q", res.StatusCode, body)
	}
	if got := corsHeaders(res.Header); len(got) != 0 {
		t.Errorf("preflight: CORS headers %v", got)
	}
	res, body = exchange(t, http.MethodPost, b.url+"/v1/products", []byte(`{}`),
		"Origin", shopOrigin, "Authorization", "Bearer "+tokenFor(t, gallery.Supplier(uuid.New())), "Content-Type", "application/json")
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %q", res.StatusCode, body)
	}
	if got := corsHeaders(res.Header); len(got) != 0 {
		t.Errorf("create: CORS headers %v", got)
	}
}
