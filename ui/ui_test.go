package ui

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestVendoredFiles: every file scripts/vendor-ui.sh vendors is byte for byte the one it pins
// by SHA-256; the served ones are embedded, and the test-only ones (axe-core) are not.
func TestVendoredFiles(t *testing.T) {
	script, err := os.ReadFile("../scripts/vendor-ui.sh")
	if err != nil {
		t.Fatal(err)
	}
	entries := regexp.MustCompile(`(?m)^  "(\S+) (\S+) (\S+) (\S+) ([0-9a-f]{64})"$`).FindAllStringSubmatch(string(script), -1)
	if len(entries) < 3 {
		t.Fatalf("scripts/vendor-ui.sh pins %d files, want sortablejs, thumbhash and axe-core", len(entries))
	}
	for _, e := range entries {
		pkg, dest, want := e[1], e[4], e[5]
		body, err := os.ReadFile("../" + dest)
		if err != nil {
			t.Fatalf("%s of %s: %v", dest, pkg, err)
		}
		if sum := sha256.Sum256(body); hex.EncodeToString(sum[:]) != want {
			t.Errorf("%s: SHA-256 %x, scripts/vendor-ui.sh pins %s", dest, sum, want)
		}
		served, isServed := strings.CutPrefix(dest, "ui/static/")
		f, embedded := files[served]
		switch {
		case isServed && !embedded:
			t.Errorf("%s is not embedded", dest)
		case isServed && string(f.body) != string(body):
			t.Errorf("the embedded %s differs from the file", dest)
		}
		if !strings.HasPrefix(dest, "ui/static/") && !strings.HasPrefix(dest, "ui/testdata/") {
			t.Errorf("%s is vendored outside ui/static and ui/testdata", dest)
		}
	}
	for p := range files {
		if strings.HasPrefix(p, "vendor/") && strings.HasSuffix(p, ".js") && !strings.Contains(string(script), "ui/static/"+p+" ") {
			t.Errorf("static/%s is served but not pinned by scripts/vendor-ui.sh", p)
		}
	}
}

// TestServeStatic: the element is served with its type, an ETag that a conditional request
// matches (304), no-cache so a stable URL still updates, and the headers that let a page on
// another origin load it as a module; an unknown path is a 404.
func TestServeStatic(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+Prefix+"{path...}", ServeStatic)
	get := func(path string, header ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		return rec
	}
	res := get("/ui/vitrine-gallery.js")
	h := res.Header()
	if res.Code != 200 || h.Get("Content-Type") != "text/javascript; charset=utf-8" || h.Get("Cache-Control") != "no-cache" ||
		h.Get("Access-Control-Allow-Origin") != "*" || h.Get("Cross-Origin-Resource-Policy") != "cross-origin" || h.Get("ETag") == "" {
		t.Fatalf("GET /ui/vitrine-gallery.js: %d %v", res.Code, h)
	}
	if !strings.Contains(res.Body.String(), `customElements.define("vitrine-gallery"`) {
		t.Error("the element's module does not define <vitrine-gallery>")
	}
	if again := get("/ui/vitrine-gallery.js", "If-None-Match", h.Get("ETag")); again.Code != http.StatusNotModified {
		t.Errorf("a conditional GET with the current ETag: %d, want 304", again.Code)
	}
	if other := get("/ui/vitrine-gallery.css"); other.Header().Get("ETag") == h.Get("ETag") || other.Header().Get("Content-Type") != "text/css; charset=utf-8" {
		t.Errorf("the style sheet: %v", other.Header())
	}
	for _, p := range []string{"/ui/nothing.js", "/ui/", "/ui/../ui.go"} {
		if res := get(p); res.Code != http.StatusNotFound && (res.Code < 300 || res.Code > 399) {
			t.Errorf("GET %s: %d", p, res.Code)
		}
	}
}

// TestPageHasNoInlineCode: the page at / loads its script and styles from /ui/ only, so that
// its policy needs no 'unsafe-inline', and links the service routes from its footer.
func TestPageHasNoInlineCode(t *testing.T) {
	rec := httptest.NewRecorder()
	csp := PageCSP([]string{"https://bucket.example"}, []string{"https://s3.example", "https://bucket.example"})
	WritePage(rec, csp, PageOptions{Jobs: true})
	body := rec.Body.String()
	if regexp.MustCompile(`<script(\s[^>]*)?>\s*[^<\s]`).MatchString(body) || strings.Contains(body, "<style") || strings.Contains(body, " style=") ||
		regexp.MustCompile(`\son[a-z]+=`).MatchString(body) {
		t.Errorf("the page has inline script or style:\n%s", body)
	}
	for _, want := range []string{`src="/ui/app.js"`, `href="/ui/app.css"`, `href="/docs"`, `href="/openapi.json"`, `href="/admin/jobs/"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the page has no %s", want)
		}
	}
	want := "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: https://bucket.example; " +
		"connect-src 'self' https://s3.example https://bucket.example; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
	if got := rec.Header().Get("Content-Security-Policy"); got != want {
		t.Errorf("policy\n%s\nwant\n%s", got, want)
	}
	rec = httptest.NewRecorder()
	WritePage(rec, PageCSP(nil, nil), PageOptions{})
	if strings.Contains(rec.Body.String(), "/admin/jobs") {
		t.Error("the page links the job UI though the server does not mount it")
	}
}
