package httpapi

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestOpenAPIDocumentsEveryRoute keeps the OpenAPI document in step with the routes.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, rt := range (&Server{}).routes() {
		method, path, _ := strings.Cut(rt.pattern, " ")
		if !strings.HasPrefix(path, "/v1/") && !strings.HasPrefix(path, "/objects/") {
			continue
		}
		path = strings.ReplaceAll(path, "...}", "}")
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("%s is not in the OpenAPI document", rt.pattern)
		}
		n++
	}
	if n < 10 {
		t.Fatalf("only %d API routes found", n)
	}
}
