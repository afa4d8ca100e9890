package httpapi

import (
	"bytes"
	_ "embed"
	"net/http"
	"strings"

	"github.com/vitrine-dev/vitrine/ui"
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

// homeJSON is what the home page says to a client that asks for JSON only.
type homeJSON struct {
	Name    string `json:"name"`
	Docs    string `json:"docs"`
	OpenAPI string `json:"openapi"`
	Jobs    string `json:"jobs,omitempty"`
}

// serveHome answers GET / with the supplier's page (package ui), or with its links as JSON to
// a client whose Accept names JSON and not HTML.
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
	ui.WritePage(w, s.pageCSP(r.Context()), ui.PageOptions{Jobs: s.Admin != nil})
}

// OpenAPIDocument returns the document /openapi.json serves, the API's contract.
func OpenAPIDocument() []byte { return bytes.Clone(openAPIDoc) }
