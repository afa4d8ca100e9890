package jwtauth_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/jwtauth"
)

var secret = []byte("a-test-secret-that-is-long-enough-0123")

func sign(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims, header ...string) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	for i := 0; i+1 < len(header); i += 2 {
		tok.Header[header[i]] = header[i+1]
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func claims(role, sub string, mods ...func(jwt.MapClaims)) jwt.MapClaims {
	c := jwt.MapClaims{"role": role, "sub": sub, "exp": time.Now().Add(time.Hour).Unix(), "iss": "https://example.supabase.co/auth/v1", "aud": "authenticated"}
	for _, m := range mods {
		m(c)
	}
	return c
}

func TestTokensBecomeCallers(t *testing.T) {
	v, err := jwtauth.New(jwtauth.Config{Secret: secret, Issuer: "https://example.supabase.co/auth/v1", Audience: "authenticated"})
	if err != nil {
		t.Fatal(err)
	}
	id := uuid.New()
	c, err := v.Caller("Bearer " + sign(t, jwt.SigningMethodHS256, secret, claims("authenticated", id.String())))
	if err != nil || c.Role != gallery.RoleAuthenticated || c.UserID != id {
		t.Fatalf("supplier token: %+v %v", c, err)
	}
	var got map[string]any
	if json.Unmarshal(c.ClaimsJSON(), &got) != nil || got["sub"] != id.String() {
		t.Fatalf("claims for the database: %s", c.ClaimsJSON())
	}
	if c, err := v.Caller(""); err != nil || c.Role != gallery.RoleAnon {
		t.Fatalf("no token: %+v %v, want anon", c, err)
	}
	if c, err := v.Caller("Bearer " + sign(t, jwt.SigningMethodHS256, secret, claims("service_role", ""))); err != nil || c.Role != gallery.RoleService {
		t.Fatalf("service token: %+v %v", c, err)
	}
	minted, err := jwtauth.Mint(secret, gallery.Supplier(id), "https://example.supabase.co/auth/v1", "authenticated", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := v.Caller("Bearer " + minted); err != nil || c.UserID != id {
		t.Fatalf("minted token: %+v %v", c, err)
	}
}

func TestBadTokensAreRefused(t *testing.T) {
	dir := t.TempDir()
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwks := map[string]any{"keys": []map[string]string{
		{"kty": "RSA", "kid": "r1", "alg": "RS256", "n": b64(rsaKey.N), "e": b64(big.NewInt(int64(rsaKey.E)))},
		{"kty": "EC", "kid": "e1", "crv": "P-256", "x": b64(ecKey.X), "y": b64(ecKey.Y)},
	}}
	data, _ := json.Marshal(jwks)
	jwksPath := filepath.Join(dir, "jwks.json")
	os.WriteFile(jwksPath, data, 0o600)
	v, err := jwtauth.New(jwtauth.Config{Secret: secret, JWKSFile: jwksPath, Issuer: "https://example.supabase.co/auth/v1", Audience: "authenticated"})
	if err != nil {
		t.Fatal(err)
	}
	sub := uuid.NewString()
	// The keys from the JWKS are accepted.
	if _, err := v.Caller("Bearer " + sign(t, jwt.SigningMethodRS256, rsaKey, claims("authenticated", sub), "kid", "r1")); err != nil {
		t.Fatalf("RS256: %v", err)
	}
	if _, err := v.Caller("Bearer " + sign(t, jwt.SigningMethodES256, ecKey, claims("authenticated", sub), "kid", "e1")); err != nil {
		t.Fatalf("ES256: %v", err)
	}
	pubDER, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	otherRSA, _ := rsa.GenerateKey(rand.Reader, 2048)
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, claims("service_role", "")).SignedString(jwt.UnsafeAllowNoneSignatureType)
	for name, header := range map[string]string{
		"alg none":                        "Bearer " + none,
		"wrong secret":                    "Bearer " + sign(t, jwt.SigningMethodHS256, []byte("another-secret-0123456789-abcdefgh"), claims("service_role", "")),
		"HS256 signed with the RSA key":   "Bearer " + sign(t, jwt.SigningMethodHS256, pubPEM, claims("service_role", ""), "kid", "r1"),
		"HS256 signed with the PEM bytes": "Bearer " + sign(t, jwt.SigningMethodHS256, pubDER, claims("service_role", "")),
		"RS256 by an unknown key":         "Bearer " + sign(t, jwt.SigningMethodRS256, otherRSA, claims("service_role", ""), "kid", "r1"),
		"HS512 (not configured)":          "Bearer " + sign(t, jwt.SigningMethodHS512, secret, claims("service_role", "")),
		"expired":                         "Bearer " + sign(t, jwt.SigningMethodHS256, secret, claims("authenticated", sub, func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() })),
		"without exp":                     "Bearer " + sign(t, jwt.SigningMethodHS256, secret, claims("authenticated", sub, func(c jwt.MapClaims) { delete(c, "exp") })),
		"not yet valid":                   "Bearer " + sign(t, jwt.SigningMethodHS256, secret, claims("authenticated", sub, func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(time.Hour).Unix() })),
		"wrong audience":                  "Bearer " + sign(t, jwt.SigningMethodHS256, secret, claims("authenticated", sub, func(c jwt.MapClaims) { c["aud"] = "somebody-else" })),
		"wrong issuer":                    "Bearer " + sign(t, jwt.SigningMethodHS256, secret, claims("authenticated", sub, func(c jwt.MapClaims) { c["iss"] = "https://evil.example" })),
		"unknown role":                    "Bearer " + sign(t, jwt.SigningMethodHS256, secret, claims("supabase_admin", sub)),
		"authenticated without a user id": "Bearer " + sign(t, jwt.SigningMethodHS256, secret, claims("authenticated", "not-a-uuid")),
		"not a bearer token":              "Basic dXNlcjpwYXNz",
		"garbage":                         "Bearer not.a.jwt",
		"empty bearer":                    "Bearer ",
	} {
		if c, err := v.Caller(header); !errors.Is(err, jwtauth.ErrUnauthorized) {
			t.Errorf("%s: accepted as %+v (err %v)", name, c, err)
		}
	}
}

func b64(n *big.Int) string { return base64.RawURLEncoding.EncodeToString(n.Bytes()) }

// TestClaimsWithNULAreRefused: PostgreSQL's text and jsonb cannot hold NUL, and the claims go
// to the database, so a validly signed token with NUL in any claim, key or nested value is
// refused like any bad token.
func TestClaimsWithNULAreRefused(t *testing.T) {
	v, err := jwtauth.New(jwtauth.Config{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	for _, mod := range []func(jwt.MapClaims){
		func(c jwt.MapClaims) { c["email"] = "a\x00@example.com" },
		func(c jwt.MapClaims) { c["app_metadata"] = map[string]any{"k\x00": "v"} },
		func(c jwt.MapClaims) { c["groups"] = []any{"ok", map[string]any{"x": []any{"\x00"}}} },
	} {
		tok := sign(t, jwt.SigningMethodHS256, secret, claims("service_role", "", mod))
		if _, err := v.Caller("Bearer " + tok); !errors.Is(err, jwtauth.ErrUnauthorized) {
			t.Errorf("a token with NUL in its claims: %v, want refused", err)
		}
	}
	if _, err := v.Caller("Bearer " + sign(t, jwt.SigningMethodHS256, secret, claims("service_role", "", func(c jwt.MapClaims) { c["email"] = "a@example.com" }))); err != nil {
		t.Fatalf("a token without NUL: %v", err)
	}
}

// TestSupplierClaim: the configured claim path names the supplier a user acts for; a token
// without it acts for its own id, one whose claim is not a UUID is refused, and a path is
// read from its dotted form.
func TestSupplierClaim(t *testing.T) {
	path, err := jwtauth.ParseClaimPath("app_metadata.supplier_id")
	if err != nil || len(path) != 2 || path[0] != "app_metadata" || path[1] != "supplier_id" {
		t.Fatalf("ParseClaimPath: %q, %v", path, err)
	}
	for _, bad := range []string{".", "app_metadata.", ".supplier_id", "a..b", " a.b"} {
		if _, err := jwtauth.ParseClaimPath(bad); err == nil {
			t.Errorf("ParseClaimPath(%q) accepted", bad)
		}
	}
	v, err := jwtauth.New(jwtauth.Config{Secret: secret, SupplierClaim: path})
	if err != nil {
		t.Fatal(err)
	}
	user, supplier := uuid.New(), uuid.New()
	token := func(meta any) string {
		claims := jwt.MapClaims{"role": "authenticated", "sub": user.String(), "exp": time.Now().Add(time.Minute).Unix()}
		if meta != nil {
			claims["app_metadata"] = meta
		}
		return "Bearer " + sign(t, jwt.SigningMethodHS256, secret, claims)
	}
	c, err := v.Caller(token(map[string]any{"supplier_id": supplier.String()}))
	if err != nil || c.UserID != user || c.ClaimedSupplier != supplier {
		t.Errorf("a token claiming a supplier: %+v, %v", c, err)
	}
	for _, meta := range []any{nil, map[string]any{}, map[string]any{"supplier_id": nil}, "not an object"} {
		if c, err := v.Caller(token(meta)); err != nil || c.ClaimedSupplier != uuid.Nil {
			t.Errorf("app_metadata %v: %+v, %v; want no claimed supplier", meta, c, err)
		}
	}
	for _, claimed := range []any{"not-a-uuid", 42, uuid.Nil.String(), "{" + supplier.String() + "}"} {
		if _, err := v.Caller(token(map[string]any{"supplier_id": claimed})); !errors.Is(err, jwtauth.ErrUnauthorized) {
			t.Errorf("supplier_id %v: %v, want a refusal", claimed, err)
		}
	}
}
