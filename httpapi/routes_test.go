package httpapi

import (
	"encoding/json"
	"strings"
	"testing"
)

// documentedPaths maps a route's path to the paths of the OpenAPI document that describe it:
// object keys hold slashes, which one path parameter cannot span, so the document gives the
// key layouts the API hands out (storage.ContentKey under originals/ and variants/).
func documentedPaths(path string) []string {
	switch path {
	case "/objects/{key...}":
		return []string{"/objects/originals/{shard}/{name}", "/objects/variants/{shard}/{name}"}
	case "/{$}":
		return []string{"/"}
	case "/ui/{path...}":
		return []string{"/ui/{path}"}
	}
	return []string{path}
}

// TestOpenAPIDocumentsEveryRoute keeps the OpenAPI document in step with the routes: every
// route is documented (GET routes with HEAD too, which they answer), and every
// documented operation is a route.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatal(err)
	}
	served := map[string]bool{}
	for _, rt := range (&Server{}).routes() {
		method, path, _ := strings.Cut(rt.pattern, " ")
		for _, p := range documentedPaths(path) {
			served[method+" "+p] = true
			if _, ok := doc.Paths[p][strings.ToLower(method)]; !ok {
				t.Errorf("%s is not in the OpenAPI document (as %s)", rt.pattern, p)
			}
			if method == "GET" { // GET routes answer HEAD
				served["HEAD "+p] = true
				if _, ok := doc.Paths[p]["head"]; !ok {
					t.Errorf("HEAD of %s is not in the OpenAPI document (as %s)", rt.pattern, p)
				}
			}
		}
	}
	n := 0
	for p, methods := range doc.Paths {
		for m := range methods {
			n++
			if !served[strings.ToUpper(m)+" "+p] {
				t.Errorf("the OpenAPI document has %s %s, which no route serves", m, p)
			}
		}
	}
	if n < 20 {
		t.Fatalf("only %d operations documented", n)
	}
}
