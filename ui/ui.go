// Package ui is Vitrine's front end: the <vitrine-gallery> custom element, the page at / that
// a supplier signs in to, and the vendored libraries they load, embedded in the binary and
// served under /ui/. Both talk only to the public /v1 API.
package ui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"
)

// static holds the files served under /ui/: the element, the page's script and styles, and
// the libraries scripts/vendor-ui.sh vendored into static/vendor.
//
//go:embed static
var static embed.FS

//go:embed page.html
var pageSource string

var page = template.Must(template.New("page").Parse(pageSource))

// Prefix is the path under which the static files are served.
const Prefix = "/ui/"

// file is one static file, ready to serve.
type file struct {
	body        []byte
	etag        string
	contentType string
}

// contentTypes are the types of the kinds of file static holds; a file of another kind is
// not served.
var contentTypes = map[string]string{
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".txt":  "text/plain; charset=utf-8",
	".svg":  "image/svg+xml",
	".html": "text/html; charset=utf-8",
}

// files are the static files by their path under static/, read once.
var files = func() map[string]file {
	m := map[string]file{}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			return fmt.Errorf("ui: %s: no content type for its extension", p)
		}
		body, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		m[strings.TrimPrefix(p, "static/")] = file{body: body, etag: `"` + hex.EncodeToString(sum[:16]) + `"`, contentType: ct}
		return nil
	})
	if err != nil {
		panic(err)
	}
	return m
}()

// ServeStatic answers GET /ui/{path...} with the embedded file at path: its Content-Type, an
// ETag from its content and Cache-Control no-cache, so that a page keeps its stable URL
// (/ui/vitrine-gallery.js) and still gets a new version as soon as the server has one (a
// conditional request answers 304 while it has not changed). The files are public and a
// shop's admin on another origin loads the element as a module, which needs CORS:
// Access-Control-Allow-Origin: * (no credentials) and Cross-Origin-Resource-Policy:
// cross-origin. An unknown path is a 404 text answer.
func ServeStatic(w http.ResponseWriter, r *http.Request) {
	f, ok := files[r.PathValue("path")]
	if !ok {
		http.Error(w, "no such file under "+Prefix, http.StatusNotFound)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	h.Set("ETag", f.etag)
	h.Set("Cache-Control", "no-cache")
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}

// PageOptions is what the page at / shows beyond the gallery.
type PageOptions struct {
	Jobs bool // the server mounts the job UI at /admin/jobs/
}

// WritePage writes the page at / (HTML), with the policy csp, which PageCSP makes.
func WritePage(w http.ResponseWriter, csp string, opts PageOptions) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", csp)
	_ = page.Execute(w, opts)
}

// PageCSP returns the page's Content-Security-Policy: scripts and styles from this server's
// files only (no inline script or style), images from this server, data: and blob: URLs
// (the ThumbHash placeholders) and imageOrigins (where the object store serves variants when
// it is not this server), calls to this server and to uploadOrigins (the object store's
// presigned PUT URLs for direct uploads); no framing, no base URL, no form posts.
func PageCSP(imageOrigins, uploadOrigins []string) string {
	list := func(fixed string, extra []string) string {
		sources := strings.Fields(fixed)
		for _, o := range extra {
			if o != "" && !slices.Contains(sources, o) {
				sources = append(sources, o)
			}
		}
		return strings.Join(sources, " ")
	}
	return "default-src 'none'; script-src 'self'; style-src 'self'; " +
		list("img-src 'self' data: blob:", imageOrigins) + "; " +
		list("connect-src 'self'", uploadOrigins) + "; " +
		"frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
}
