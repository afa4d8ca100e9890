package httpapi_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// servedDocument fetches /openapi.json from the server at base and loads it.
func servedDocument(t *testing.T, base string) *openapi3.T {
	t.Helper()
	res, err := http.Get(base + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /openapi.json: %d %q %v", res.StatusCode, res.Header.Get("Content-Type"), err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// domainCodes returns the error codes that gallery/errors.go declares.
func domainCodes(t *testing.T) []string {
	t.Helper()
	src, err := os.ReadFile("../gallery/errors.go")
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, m := range regexp.MustCompile(`(?m)^\s*E[A-Z]+\s+Code = "([a-z_]+)"`).FindAllStringSubmatch(string(src), -1) {
		codes = append(codes, m[1])
	}
	if len(codes) < 10 {
		t.Fatalf("found only %d error codes in gallery/errors.go", len(codes))
	}
	return codes
}

// TestOpenAPIDocumentIsValid checks the served document as a generator of clients reads it:
// valid OpenAPI 3.1 (with its examples valid against their schemas), an operationId, a
// description and declared tags on every operation, a required list on every object schema,
// and every error code the domain has in the error-code enum.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	t.Parallel()
	b := setup(t)
	doc := servedDocument(t, b.url)
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q, want 3.1.0", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background(), openapi3.EnableExamplesValidation()); err != nil {
		t.Fatal(err)
	}
	if len(doc.Servers) == 0 {
		t.Error("no servers")
	}
	tags := map[string]bool{}
	for _, tag := range doc.Tags {
		tags[tag.Name] = tag.Description != ""
	}
	ids := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			where := method + " " + path
			if op.OperationID == "" || ids[op.OperationID] {
				t.Errorf("%s: operationId %q missing or not unique", where, op.OperationID)
			}
			ids[op.OperationID] = true
			if op.Summary == "" || op.Description == "" {
				t.Errorf("%s: no summary or no description", where)
			}
			for _, tag := range op.Tags {
				if !tags[tag] {
					t.Errorf("%s: tag %q not declared with a description", where, tag)
				}
			}
			if len(op.Tags) == 0 {
				t.Errorf("%s: no tag", where)
			}
			if op.Responses.Value("401") == nil {
				t.Errorf("%s: 401 (a token that is not valid) not documented", where)
			}
		}
	}
	// The request bodies whose every field is optional (updateProduct's and updateWebhook's
	// need at least one, by minProperties).
	optionalFields := map[string]bool{"createProduct request": true, "startDirectUpload request": true, "updateProduct request": true,
		"updateWebhook request": true}
	var walk func(where string, s *openapi3.SchemaRef)
	seen := map[*openapi3.Schema]bool{}
	walk = func(where string, s *openapi3.SchemaRef) {
		if s == nil || s.Value == nil || seen[s.Value] {
			return
		}
		seen[s.Value] = true
		v := s.Value
		if v.Type.Includes("object") && len(v.Properties) > 0 && len(v.Required) == 0 && !optionalFields[where] {
			t.Errorf("%s: an object schema with no required property", where)
		}
		for name, p := range v.Properties {
			walk(where+"."+name, p)
		}
		walk(where+"[]", v.Items)
		if v.AdditionalProperties.Schema != nil {
			walk(where+"{}", v.AdditionalProperties.Schema)
		}
	}
	for name, s := range doc.Components.Schemas {
		walk(name, s)
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.RequestBody != nil {
				for _, mt := range op.RequestBody.Value.Content {
					walk(op.OperationID+" request", mt.Schema)
				}
			}
			for st, r := range op.Responses.Map() {
				for _, mt := range r.Value.Content {
					walk(method+" "+path+" "+st, mt.Schema)
				}
			}
		}
	}
	enum := doc.Components.Schemas["Error"].Value.Properties["error"].Value.Properties["code"].Value.Enum
	for _, c := range domainCodes(t) {
		if !slices.Contains(enum, any(c)) {
			t.Errorf("error code %q is not in the document's enum", c)
		}
	}
	file := doc.Paths.Find("/v1/products/{product_id}/images").Post.RequestBody.Value.Content["multipart/form-data"].Schema.Value.Properties["file"].Value
	if file.Format != "binary" || !file.Type.Is("string") {
		t.Errorf("the upload's file field is %v %q, want a binary string", file.Type, file.Format)
	}
	if !strings.HasPrefix(doc.Servers[0].URL, "/") {
		t.Errorf("server URL %q is not relative to where the document is served", doc.Servers[0].URL)
	}
}
