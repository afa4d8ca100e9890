package httpapi

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"net/http"
	"sort"
	"strings"
)

//go:embed openapi.json
var openAPIDoc []byte

func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(openAPIDoc)
}

// docOperation is one operation of the OpenAPI document as the docs page shows it.
type docOperation struct {
	Method, Path, Summary, Description string
	Statuses                           []string
}

// docOperations reads the embedded OpenAPI document into the docs page's list, so the page and
// the document cannot disagree.
func docOperations() ([]docOperation, string, error) {
	var doc struct {
		Info struct {
			Description string `json:"description"`
		} `json:"info"`
		Paths map[string]map[string]struct {
			Summary     string                     `json:"summary"`
			Description string                     `json:"description"`
			Responses   map[string]json.RawMessage `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		return nil, "", err
	}
	var ops []docOperation
	for p, methods := range doc.Paths {
		for m, op := range methods {
			o := docOperation{Method: strings.ToUpper(m), Path: p, Summary: op.Summary, Description: op.Description}
			for st := range op.Responses {
				o.Statuses = append(o.Statuses, st)
			}
			sort.Strings(o.Statuses)
			ops = append(ops, o)
		}
	}
	sort.Slice(ops, func(i, j int) bool {
		if ops[i].Path != ops[j].Path {
			return ops[i].Path < ops[j].Path
		}
		return ops[i].Method < ops[j].Method
	})
	return ops, doc.Info.Description, nil
}

// docsStyle is the docs page's only style sheet, allowed by its hash in docsCSP.
const docsStyle = `
body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h2{font:600 1rem ui-monospace,monospace;margin:2rem 0 .25rem}
.m{display:inline-block;min-width:4.5rem;color:#fff;background:#555;border-radius:3px;padding:0 .4rem;text-align:center}
.GET{background:#2a7}.POST{background:#27c}.PUT{background:#c82}.PATCH{background:#a5c}.DELETE{background:#c33}
.st{color:#666;font-size:.9rem}
`

// docsCSP lets the docs page use its own style sheet and nothing else: no script, no other
// origin, no framing.
var docsCSP = func() string {
	sum := sha256.Sum256([]byte(docsStyle))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
}()

var docsPage = template.Must(template.New("docs").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Vitrine API</title>
<style>` + docsStyle + `</style></head><body>
<h1>Vitrine API</h1>
<p>{{.Intro}}</p>
<p>The machine-readable document is at <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p>
{{range .Ops}}<section>
<h2><span class="m {{.Method}}">{{.Method}}</span> {{.Path}}</h2>
<p><strong>{{.Summary}}</strong>{{if .Description}}. {{.Description}}{{end}}</p>
<p class="st">Responses: {{range $i, $s := .Statuses}}{{if $i}}, {{end}}{{$s}}{{end}}</p>
</section>{{end}}
</body></html>
`))

func serveDocs(w http.ResponseWriter, r *http.Request) {
	ops, intro, err := docOperations()
	if err != nil {
		http.Error(w, "the OpenAPI document is broken", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy", docsCSP)
	_ = docsPage.Execute(w, struct {
		Intro string
		Ops   []docOperation
	}{intro, ops})
}
