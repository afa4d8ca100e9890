package apiclient_test

import (
	"flag"
	"os"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/oapi-codegen/oapi-codegen/v2/pkg/codegen"

	"github.com/vitrine-dev/vitrine/httpapi"
)

var update = flag.Bool("update", false, "write client.gen.go from the API's document")

// generated is where the client is written.
const generated = "client.gen.go"

// TestGeneratedClientIsCurrent generates the client from the document the API serves with
// oapi-codegen (the version go.mod pins) and compares it with the committed one, so the
// client cannot drift from the document; -update writes it instead.
func TestGeneratedClientIsCurrent(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(httpapi.OpenAPIDocument())
	if err != nil {
		t.Fatal(err)
	}
	code, err := codegen.Generate(doc, codegen.Configuration{
		PackageName: "apiclient",
		Generate:    codegen.GenerateOptions{Client: true, Models: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(generated, []byte(code), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	committed, err := os.ReadFile(generated)
	if err != nil {
		t.Fatal(err)
	}
	if string(committed) != code {
		t.Fatalf("%s is not what oapi-codegen makes of the API's document: run go generate ./internal/apiclient", generated)
	}
}
