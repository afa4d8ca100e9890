package main

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/jwtauth"
)

const testJWTSecret = "vitrine-cmd-test-secret-0123456789abcdef"

// apiCode returns the error code of an API error body, or "".
func apiCode(body []byte) string {
	var e struct {
		Error struct{ Code, Message string }
	}
	_ = json.Unmarshal(body, &e)
	return e.Error.Code
}

// TestInputPostgreSQLCannotHoldIs400 sends `vitrine serve` what PostgreSQL cannot store or
// encode: NUL in alt (JSON, multipart, direct upload), positions beyond its integer, NUL in
// a validly signed token's claims. Each is a 400 (401 for the token) with a code, never a 500.
func TestInputPostgreSQLCannotHoldIs400(t *testing.T) {
	t.Parallel()
	s := startServe(t, map[string]string{"VITRINE_WORKERS": "0", "VITRINE_JWT_SECRET": testJWTSecret})
	photo, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "src", "image", "testdata", "video-001.jpeg"))
	if err != nil {
		t.Fatal(err)
	}
	id, productID, _ := s.uploadPhoto(t, photo, "first")
	jsonCT := []string{"Content-Type", "application/json"}
	for _, c := range []struct {
		method, path, body string
	}{
		{"PATCH", "/v1/images/" + id, `{"alt": "a\u0000b"}`},
		{"POST", "/v1/products/" + productID + "/uploads", `{"alt": "\u0000"}`},
		{"POST", "/v1/images/" + id + "/position", `{"position": 2147483648}`},
		{"POST", "/v1/images/" + id + "/position", `{"position": -2147483649}`},
		{"POST", "/v1/images/" + id + "/position", `{"position": 9223372036854775807}`},
		{"POST", "/v1/images/" + id + "/position", `{"position": 1e40}`},
		{"POST", "/v1/products", `{"id": "\u0000", "supplier_id": "7d6f4a0e-8a6b-4c1e-9a55-3f1f6f0c2a11"}`},
		{"PUT", "/v1/products/" + productID + "/images/order", `{"ids": ["` + id + `\u0000"]}`},
	} {
		st, _, body := s.request(t, c.method, c.path, strings.NewReader(c.body), jsonCT...)
		if st != http.StatusBadRequest || apiCode(body) != "invalid" {
			t.Errorf("%s %s %s: %d %s, want 400 invalid", c.method, c.path, c.body, st, body)
		}
	}
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	mw.WriteField("alt", "nul\x00here")
	fw, _ := mw.CreateFormFile("file", "photo.jpg")
	fw.Write(photo)
	mw.Close()
	if st, _, body := s.request(t, "POST", "/v1/products/"+productID+"/images", &form, "Content-Type", mw.FormDataContentType()); st != http.StatusBadRequest || apiCode(body) != "invalid" {
		t.Errorf("a multipart alt with NUL: %d %s, want 400 invalid", st, body)
	}

	// Validly signed tokens with NUL in a claim.
	for _, claims := range []jwt.MapClaims{
		{"role": "service_role", "note": "a\u0000b"},
		{"role": "anon", "app_metadata": map[string]any{"k\u0000": "v"}},
		{"role": "authenticated", "sub": uuid.NewString(), "email": []any{"x\u0000@example.com"}},
	} {
		claims["exp"] = time.Now().Add(time.Hour).Unix()
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(testJWTSecret))
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range []string{"/v1/products/" + productID, "/v1/images/" + id} {
			req, _ := http.NewRequest("GET", s.base+path, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			buf.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized || apiCode(buf.Bytes()) != "unauthorized" {
				t.Errorf("a token with NUL in %v: %d %s, want 401 unauthorized", claims, resp.StatusCode, buf.Bytes())
			}
		}
	}
	// Nothing was changed: the image kept its alt and place.
	st, _, body := s.request(t, "GET", "/v1/images/"+id, nil)
	var im struct {
		Alt      string
		Position int
	}
	if err := json.Unmarshal(body, &im); st != 200 || err != nil || im.Alt != "first" || im.Position != 0 {
		t.Fatalf("the image after refused changes: %d %s", st, body)
	}
}

// TestCreateWithHiddenIDIsNotFound: a supplier that creates a product with the id of another
// supplier's unpublished product gets the very answer that reading it gives (404), not a 409
// that would tell that the product exists; with its own product's id, or a published one's,
// which it can read, it gets 409.
func TestCreateWithHiddenIDIsNotFound(t *testing.T) {
	t.Parallel()
	s := startServe(t, map[string]string{"VITRINE_WORKERS": "0", "VITRINE_JWT_SECRET": testJWTSecret})
	owner, other := uuid.New(), uuid.New()
	as := func(supplier uuid.UUID) string {
		tok, err := jwtauth.Mint([]byte(testJWTSecret), gallery.Supplier(supplier), "", "", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	ownerTok, otherTok := as(owner), as(other)
	create := func(tok, id string) (int, []byte) {
		s.token = tok
		st, _, body := s.request(t, "POST", "/v1/products", strings.NewReader(`{"id": "`+id+`"}`), "Content-Type", "application/json")
		return st, body
	}
	hidden := uuid.NewString()
	if st, body := create(ownerTok, hidden); st != http.StatusCreated {
		t.Fatalf("creating a product: %d %s", st, body)
	}
	s.token = otherTok
	getSt, _, getBody := s.request(t, "GET", "/v1/products/"+hidden, nil)
	if getSt != http.StatusNotFound {
		t.Fatalf("another supplier reading an unpublished product: %d, want 404", getSt)
	}
	st, body := create(otherTok, hidden)
	if st != http.StatusNotFound || !bytes.Equal(body, getBody) {
		t.Fatalf("another supplier creating with a hidden product's id: %d %s, want the 404 of reading it: %s", st, body, getBody)
	}
	if st, body := create(ownerTok, hidden); st != http.StatusConflict || apiCode(body) != "conflict" {
		t.Fatalf("the owner creating with its own product's id: %d %s, want 409", st, body)
	}
	s.token = ownerTok
	if st, _, body := s.request(t, "PATCH", "/v1/products/"+hidden, strings.NewReader(`{"published": true}`), "Content-Type", "application/json"); st != 200 {
		t.Fatalf("publishing: %d %s", st, body)
	}
	if st, body := create(otherTok, hidden); st != http.StatusConflict {
		t.Fatalf("another supplier creating with a published product's id: %d %s, want 409", st, body)
	}
	// The product is still its owner's.
	s.token = ownerTok
	st, _, body = s.request(t, "GET", "/v1/products/"+hidden, nil)
	var p struct {
		SupplierID uuid.UUID `json:"supplier_id"`
	}
	if err := json.Unmarshal(body, &p); st != 200 || err != nil || p.SupplierID != owner {
		t.Fatalf("the product afterwards: %d %s", st, body)
	}
}
