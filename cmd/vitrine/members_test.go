package main

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
)

// TestMembersCommandAndSupplierClaim keeps a team with `vitrine members` while `vitrine serve`
// runs with VITRINE_SUPPLIER_CLAIM: a member added as a viewer reads the supplier's product
// with the Vitrine-Supplier header and may not change it, is refused once removed; a token
// whose app_metadata names the supplier acts for it, which needs the claim path that serve
// recorded in the database (row-level security decides there).
func TestMembersCommandAndSupplierClaim(t *testing.T) {
	t.Parallel()
	s := startServe(t, map[string]string{"VITRINE_JWT_SECRET": "members-test-secret-0123456789abcdef",
		"VITRINE_SUPPLIER_CLAIM": "app_metadata.supplier_id", "VITRINE_LOG_LEVEL": "warn"})
	supplier, member, claimer := uuid.New(), uuid.New(), uuid.New()
	members := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(t.Context(), append([]string{"members"}, args...), env(s.env), &out, io.Discard)
		return out.String(), err
	}
	call := func(method, path, token, actFor, body string) int {
		t.Helper()
		req, err := http.NewRequest(method, s.base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		if actFor != "" {
			req.Header.Set(gallery.SupplierHeader, actFor)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}

	if out, err := members("add", "-supplier", supplier.String(), "-user", member.String(), "-role", "viewer"); err != nil || !strings.Contains(out, "as viewer") {
		t.Fatalf("members add: %q, %v", out, err)
	}
	if out, err := members("list", "-supplier", supplier.String()); err != nil || !strings.Contains(out, member.String()+"  viewer") {
		t.Fatalf("members list:\n%s%v", out, err)
	}
	for _, bad := range [][]string{
		{"add", "-supplier", "S", "-user", member.String()},
		{"add", "-supplier", supplier.String(), "-user", member.String(), "-role", "owner"},
		{"remove", "-supplier", supplier.String(), "-user", uuid.NewString()},
		{"rename"},
	} {
		if _, err := members(bad...); err == nil {
			t.Errorf("members %v succeeded", bad)
		}
	}

	asSupplier := s.mint(t, gallery.Supplier(supplier))
	product := "/v1/products/" + uuid.NewString()
	if st := call("POST", "/v1/products", asSupplier, "", `{"id": "`+strings.TrimPrefix(product, "/v1/products/")+`"}`); st != 201 {
		t.Fatalf("creating the product: %d", st)
	}
	asMember := s.mint(t, gallery.Supplier(member))
	if st := call("GET", product, asMember, supplier.String(), ""); st != 200 {
		t.Errorf("the viewer reading the product: %d", st)
	}
	if st := call("PATCH", product, asMember, supplier.String(), `{"title": "viewer"}`); st != 403 {
		t.Errorf("the viewer renaming the product: %d, want 403", st)
	}
	if st := call("GET", product, asMember, "", ""); st != 404 {
		t.Errorf("the member without the header: %d, want 404", st)
	}

	claimed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"role": "authenticated", "sub": claimer.String(), "exp": time.Now().Add(time.Hour).Unix(),
		"app_metadata": map[string]any{"supplier_id": supplier.String()},
	}).SignedString([]byte(s.secret))
	if err != nil {
		t.Fatal(err)
	}
	if st := call("PATCH", product, claimed, "", `{"title": "by the claimed supplier"}`); st != 200 {
		t.Errorf("a token claiming the supplier renaming its product: %d", st)
	}

	if _, err := members("remove", "-supplier", supplier.String(), "-user", member.String()); err != nil {
		t.Fatal(err)
	}
	if st := call("GET", product, asMember, supplier.String(), ""); st != 403 {
		t.Errorf("the removed member reading the product: %d, want 403", st)
	}
	if out, err := members("list"); err != nil || strings.Contains(out, member.String()) {
		t.Errorf("members list after the removal:\n%s%v", out, err)
	}
}
