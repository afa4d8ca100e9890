package httpapi

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"html/template"
	"net/http"
	"strings"
)

//go:embed openapi.json
var openAPIDoc []byte

// redocBundle is Redoc's standalone bundle, vendored at a pinned version with its checksum by
// scripts/vendor-docs.sh; it renders /docs from /openapi.json without loading anything from
// another origin.
//
//go:embed docsui/redoc.standalone.js
var redocBundle []byte

// RedocPath is where the docs page's script is served.
const RedocPath = "/docs/redoc.standalone.js"

func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openAPIDoc)
}

// docsPage is the API reference: Redoc renders the served document into it. Redoc starts by
// itself on the redoc element, so the page has no inline script.
const docsPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Vitrine API</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head><body>
<noscript>The API reference needs JavaScript; the machine-readable document is at <a href="/openapi.json">/openapi.json</a>.</noscript>
<redoc spec-url="/openapi.json" hide-hostname></redoc>
<script src="` + RedocPath + `"></script>
</body></html>
`

// DocsCSP is the docs page's Content-Security-Policy: scripts from this server only (the
// vendored bundle), data from this server only (the document); Redoc sets its styles inline
// (styled-components) and runs its search index in a worker it makes from a blob.
const DocsCSP = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; " +
	"font-src 'self' data:; connect-src 'self'; worker-src blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

func serveDocs(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", DocsCSP)
	_, _ = w.Write([]byte(docsPage))
}

func serveRedoc(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	_, _ = w.Write(redocBundle)
}

// homeStyle is the home page's only style sheet, allowed by its hash in homeCSP.
const homeStyle = `
body{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;color:#222}
li{margin:.4rem 0}code{font:.95em ui-monospace,monospace}
`

// homeCSP lets the home page use its own style sheet and nothing else: no script, no other
// origin, no framing.
var homeCSP = func() string {
	sum := sha256.Sum256([]byte(homeStyle))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
}()

var homePage = template.Must(template.New("home").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Vitrine</title>
<style>` + homeStyle + `</style></head><body>
<h1>Vitrine</h1>
<p>Product image galleries: suppliers upload photos, each product has an ordered gallery, and
thumbnails are made in the background.</p>
<ul>
<li><a href="/docs">API reference</a>: every operation with its parameters, bodies, answers and examples.</li>
<li><a href="/openapi.json">/openapi.json</a>: the same as an OpenAPI 3.1 document, to generate a client from.</li>
{{if .Jobs}}<li><a href="/admin/jobs/">Job UI</a>: the thumbnail and deletion jobs (asks for the operator's password).</li>
{{end}}<li><a href="/healthz">/healthz</a>: the health check.</li>
</ul>
<p>The API lives under <code>/v1</code>; writes need a bearer token.</p>
</body></html>
`))

// homeJSON is what the home page says to a client that asks for JSON only.
type homeJSON struct {
	Name    string `json:"name"`
	Docs    string `json:"docs"`
	OpenAPI string `json:"openapi"`
	Jobs    string `json:"jobs,omitempty"`
}

// serveHome answers GET / with a page a person can use, or with its links as JSON to a client
// whose Accept names JSON and not HTML.
func (s *Server) serveHome(w http.ResponseWriter, r *http.Request) {
	accept := r.Header.Get("Accept")
	if strings.Contains(accept, "application/json") && !strings.Contains(accept, "text/html") {
		h := homeJSON{Name: "Vitrine", Docs: "/docs", OpenAPI: "/openapi.json"}
		if s.Admin != nil {
			h.Jobs = "/admin/jobs/"
		}
		writeJSON(w, http.StatusOK, h)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", homeCSP)
	_ = homePage.Execute(w, struct{ Jobs bool }{s.Admin != nil})
}

// OpenAPIDocument returns the document /openapi.json serves, the API's contract.
func OpenAPIDocument() []byte { return bytes.Clone(openAPIDoc) }
