package httpapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vitrine-dev/vitrine/httpapi"
	"github.com/vitrine-dev/vitrine/storage"
)

func get(t *testing.T, url string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

func TestObjectsAreServedImmutableWithRanges(t *testing.T) {
	t.Parallel()
	b := setup(t)
	productID := b.createProduct(t)
	data := readFile(t, goroot("testdata", "video-001.png"))
	var im imageBody
	if st := b.upload(t, productID, data, "", &im); st != 201 {
		t.Fatal(st)
	}
	resp, body := get(t, im.URL)
	h := resp.Header
	if resp.StatusCode != 200 || int64(len(body)) != im.Bytes {
		t.Fatalf("GET: %d, %d bytes, want %d", resp.StatusCode, len(body), im.Bytes)
	}
	data = body // the stored original: the upload less its metadata
	if h.Get("Cache-Control") != "public, max-age=31536000, immutable" || h.Get("X-Content-Type-Options") != "nosniff" ||
		h.Get("Content-Type") != "image/png" || h.Get("ETag") == "" || h.Get("Accept-Ranges") != "bytes" {
		t.Fatalf("headers: %v", h)
	}
	resp, body = get(t, im.URL, "Range", "bytes=1-3")
	if resp.StatusCode != 206 || string(body) != string(data[1:4]) || resp.Header.Get("Content-Range") != "bytes 1-3/"+itoa(len(data)) {
		t.Fatalf("range: %d %q %s", resp.StatusCode, body, resp.Header.Get("Content-Range"))
	}
	resp, body = get(t, im.URL, "Range", "bytes=-5")
	if resp.StatusCode != 206 || string(body) != string(data[len(data)-5:]) {
		t.Fatalf("suffix range: %d %q", resp.StatusCode, body)
	}
	resp, _ = get(t, im.URL, "Range", "bytes=999999-")
	if resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
		t.Fatalf("range past the end: %d, want 416", resp.StatusCode)
	}
	resp, body = get(t, im.URL, "If-None-Match", h.Get("ETag"))
	if resp.StatusCode != http.StatusNotModified || len(body) != 0 {
		t.Fatalf("If-None-Match: %d", resp.StatusCode)
	}
	resp, body = get(t, im.URL, "Range", "bytes=0-1,4-5")
	if resp.StatusCode != 206 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "multipart/byteranges") {
		t.Fatalf("multiple ranges: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}

	// Nothing outside the store is reachable, however the path is spelled.
	for _, path := range []string{"/objects/../../../../etc/passwd", "/objects/%2e%2e/%2e%2e/etc/passwd",
		"/objects/originals%2F..%2F..%2Fetc%2Fpasswd", "/objects//etc/passwd", "/objects/originals/..%5c..%5cetc",
		"/objects/.tmp/x", "/objects/originals/00/missing.png"} {
		req, _ := http.NewRequest("GET", b.url+path, nil)
		req.URL.Opaque = path // send the path exactly as written
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode < 300 || strings.Contains(string(body), "root:") {
			t.Errorf("GET %s: %d %q", path, resp.StatusCode, body)
		}
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestDocsPageAndItsScript: /docs is an HTML page that loads only the vendored Redoc bundle
// from this server, under a policy that allows nothing else to run; the bundle is served as
// JavaScript and is byte for byte the one scripts/vendor-docs.sh pinned by its SHA-256.
func TestDocsPageAndItsScript(t *testing.T) {
	t.Parallel()
	b := setup(t)
	resp, body := get(t, b.url+"/docs")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" ||
		resp.Header.Get("Content-Security-Policy") != httpapi.DocsCSP || resp.Header.Get("X-Frame-Options") != "DENY" ||
		resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("docs: %d %v", resp.StatusCode, resp.Header)
	}
	page := string(body)
	if !strings.Contains(page, `<redoc spec-url="/openapi.json"`) || !strings.Contains(page, `<script src="`+httpapi.RedocPath+`">`) ||
		strings.Count(page, "<script") != 1 {
		t.Fatalf("docs page: %s", page)
	}
	for _, directive := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(httpapi.DocsCSP, directive+";") {
			t.Errorf("the docs policy lacks %s", directive)
		}
	}
	resp, script := get(t, b.url+httpapi.RedocPath)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/javascript; charset=utf-8" ||
		resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("script: %d %v", resp.StatusCode, resp.Header)
	}
	vendor, err := os.ReadFile("../scripts/vendor-docs.sh")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^sha256=([0-9a-f]{64})$`).FindSubmatch(vendor)
	if m == nil {
		t.Fatal("no sha256= line in scripts/vendor-docs.sh")
	}
	if sum := sha256.Sum256(script); hex.EncodeToString(sum[:]) != string(m[1]) {
		t.Errorf("the served bundle's SHA-256 is %x, scripts/vendor-docs.sh pins %s", sum, m[1])
	}
}

// With objects in a bucket, GET /objects/{key} redirects to the object's URL there, which
// clients may cache for a while; HEAD is still answered from the store, and keys that cannot
// exist are still 404.
func TestObjectsRedirectToTheirLocation(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *options) {
		o.objectLocation = func(ctx context.Context, key string) (string, error) {
			return "https://bucket.example/" + key + "?signature=x", nil
		}
	})
	productID := b.createProduct(t)
	var im imageBody
	if st := b.upload(t, productID, readFile(t, goroot("testdata", "video-001.png")), "", &im); st != 201 {
		t.Fatal(st)
	}
	key := strings.TrimPrefix(im.URL, b.url+"/objects/")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(im.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "https://bucket.example/"+key+"?signature=x" ||
		resp.Header.Get("Cache-Control") != "private, max-age=60" {
		t.Fatalf("GET: %d, Location %q, Cache-Control %q", resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("Cache-Control"))
	}
	resp, err = client.Head(im.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ContentLength != im.Bytes || resp.Header.Get("ETag") == "" {
		t.Fatalf("HEAD: %d, %d bytes, ETag %q", resp.StatusCode, resp.ContentLength, resp.Header.Get("ETag"))
	}
	if resp, _ := get(t, b.url+"/objects/..%2fetc"); resp.StatusCode != 404 {
		t.Fatalf("GET of an invalid key: %d, want 404", resp.StatusCode)
	}
}

// openCounter is a store that counts the objects opened through it.
type openCounter struct {
	storage.Store
	opens atomic.Int64
}

func (c *openCounter) Open(ctx context.Context, key string, offset, length int64) (io.ReadCloser, storage.ObjectInfo, error) {
	c.opens.Add(1)
	return c.Store.Open(ctx, key, offset, length)
}

// TestRangesAreServedFromOneOpenObject checks that a request for several ranges opens its
// object once (on S3, each open is a GET), that more than 16 ranges, or overlapping ones, get
// the whole object with 200, and that an invalid header is still 416.
func TestRangesAreServedFromOneOpenObject(t *testing.T) {
	t.Parallel()
	counter := &openCounter{}
	b := setup(t, func(o *options) {
		o.wrapStore = func(s storage.Store) storage.Store { counter.Store = s; return counter }
	})
	productID := b.createProduct(t)
	var im imageBody
	if st := b.upload(t, productID, readFile(t, goroot("testdata", "video-001.png")), "", &im); st != 201 {
		t.Fatal(st)
	}
	_, whole := get(t, im.URL)
	var spec []string
	for i := range 16 {
		spec = append(spec, fmt.Sprintf("%d-%d", 100*i, 100*i+9))
	}
	before := counter.opens.Load()
	resp, body := get(t, im.URL, "Range", "bytes="+strings.Join(spec, ","))
	if resp.StatusCode != 206 {
		t.Fatalf("16 ranges: %d, want 206", resp.StatusCode)
	}
	if n := counter.opens.Load() - before; n != 1 {
		t.Fatalf("16 ranges opened the object %d times, want once", n)
	}
	_, params, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for i := range 16 {
		part, err := mr.NextPart()
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := io.ReadAll(part); !bytes.Equal(got, whole[100*i:100*i+10]) {
			t.Fatalf("range %d: %q, want %q", i, got, whole[100*i:100*i+10])
		}
	}
	for _, h := range []string{
		"bytes=" + strings.Join(spec, ",") + ",5000-5009", // 17 ranges
		"bytes=0-99,50-149",  // overlapping
		"bytes=500-599,0-99", // out of order
	} {
		resp, body := get(t, im.URL, "Range", h)
		if resp.StatusCode != 200 || !bytes.Equal(body, whole) {
			t.Errorf("Range %.40s...: %d, %d bytes, want 200 with the whole object", h, resp.StatusCode, len(body))
		}
	}
	if resp, _ := get(t, im.URL, "Range", "bytes=x-y"); resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
		t.Errorf("an invalid Range: %d, want 416", resp.StatusCode)
	}
}

// TestHomePage: GET / is a page a person can use, with links to the reference, the document
// and the health check, under a policy that runs nothing; a client asking for JSON only gets
// the same links as JSON. Other methods on / answer 405.
func TestHomePage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	resp, body := get(t, b.url+"/", "Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	csp := resp.Header.Get("Content-Security-Policy")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" ||
		!strings.HasPrefix(csp, "default-src 'none'; script-src 'self'; style-src 'self'; ") || strings.Contains(csp, "unsafe") ||
		!strings.Contains(csp, "frame-ancestors 'none'") || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("GET /: %d %v", resp.StatusCode, resp.Header)
	}
	// The supplier's page (package ui), whose footer links the service routes.
	for _, link := range []string{`src="/ui/app.js"`, `href="/docs"`, `href="/openapi.json"`, `href="/healthz"`} {
		if !strings.Contains(string(body), link) {
			t.Errorf("the home page has no %s", link)
		}
	}
	if strings.Contains(string(body), "/admin/jobs") {
		t.Error("the home page links the job UI, which this server does not mount")
	}
	resp, body = get(t, b.url+"/", "Accept", "application/json")
	var links map[string]string
	if err := json.Unmarshal(body, &links); err != nil || resp.StatusCode != 200 || links["docs"] != "/docs" || links["openapi"] != "/openapi.json" {
		t.Fatalf("GET / as JSON: %d %s", resp.StatusCode, body)
	}
	if st := b.do(t, "POST", "/", nil, "", nil); st != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d, want 405", st)
	}
}
