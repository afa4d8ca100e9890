// Package jwtauth turns bearer tokens into callers. It accepts Supabase-style JWTs: HS256
// with a shared secret, and optionally RS256 or ES256 with public keys from a JWKS file; only
// the configured algorithms are accepted, and exp (required), nbf, iss and aud are checked.
// The claim role is anon, authenticated or service_role; sub is the user.
package jwtauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
)

// Config is how tokens are checked.
type Config struct {
	Secret   []byte // HS256 key; empty: no HS256
	JWKSFile string // RS256/ES256 public keys; empty: none
	Issuer   string // required iss when not empty
	Audience string // required aud when not empty
	// SupplierClaim is the path of the claim naming the supplier a user acts for, such as
	// {"app_metadata", "supplier_id"}; empty: none. A token whose claim is there (and not
	// null) but is not a UUID is refused.
	SupplierClaim []string
}

// Verifier checks tokens.
type Verifier struct {
	cfg    Config
	keys   jwks
	parser *jwt.Parser
}

// ErrUnauthorized is wrapped by every refusal of a token.
var ErrUnauthorized = errors.New("invalid token")

// New returns a verifier; it needs a secret or a JWKS file.
func New(cfg Config) (*Verifier, error) {
	var methods []string
	if len(cfg.Secret) > 0 {
		methods = append(methods, jwt.SigningMethodHS256.Alg())
	}
	v := &Verifier{cfg: cfg}
	if cfg.JWKSFile != "" {
		keys, err := loadJWKS(cfg.JWKSFile)
		if err != nil {
			return nil, err
		}
		v.keys = keys
		methods = append(methods, keys.algorithms()...)
	}
	if len(methods) == 0 {
		return nil, errors.New("a JWT secret or a JWKS file is required")
	}
	opts := []jwt.ParserOption{jwt.WithValidMethods(methods), jwt.WithExpirationRequired(), jwt.WithLeeway(30 * time.Second)}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	v.parser = jwt.NewParser(opts...)
	return v, nil
}

// Caller returns the caller an Authorization header names: anonymous without one, the
// token's role and user with a valid bearer token, and an error wrapping ErrUnauthorized for
// anything else.
func (v *Verifier) Caller(authorization string) (gallery.Caller, error) {
	if authorization == "" {
		return gallery.Anonymous(), nil
	}
	scheme, token, ok := strings.Cut(authorization, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return gallery.Caller{}, fmt.Errorf("%w: the Authorization header must be Bearer <token>", ErrUnauthorized)
	}
	claims := jwt.MapClaims{}
	if _, err := v.parser.ParseWithClaims(strings.TrimSpace(token), claims, v.key); err != nil {
		return gallery.Caller{}, fmt.Errorf("%w: %w", ErrUnauthorized, err)
	}
	if hasNUL(map[string]any(claims)) {
		// PostgreSQL's text and jsonb cannot hold it, and the claims go to the database.
		return gallery.Caller{}, fmt.Errorf("%w: the claims must not contain NUL characters", ErrUnauthorized)
	}
	raw, err := json.Marshal(claims)
	if err != nil {
		return gallery.Caller{}, fmt.Errorf("%w: %w", ErrUnauthorized, err)
	}
	role, _ := claims["role"].(string)
	sub, _ := claims["sub"].(string)
	switch gallery.Role(role) {
	case gallery.RoleAnon:
		return gallery.Caller{Role: gallery.RoleAnon, Claims: raw}, nil
	case gallery.RoleService:
		return gallery.Caller{Role: gallery.RoleService, Claims: raw}, nil
	case gallery.RoleAuthenticated:
		id, err := uuid.Parse(sub)
		if err != nil {
			return gallery.Caller{}, fmt.Errorf("%w: sub must be a user id (UUID)", ErrUnauthorized)
		}
		claimed, err := v.claimedSupplier(claims)
		if err != nil {
			return gallery.Caller{}, err
		}
		return gallery.Caller{Role: gallery.RoleAuthenticated, UserID: id, Claims: raw, ClaimedSupplier: claimed}, nil
	default:
		return gallery.Caller{}, fmt.Errorf("%w: role %q is not anon, authenticated or service_role", ErrUnauthorized, role)
	}
}

// ParseClaimPath reads a claim path written with dots, such as "app_metadata.supplier_id";
// "" is no path. Every part must be a non-empty name without spaces around it.
func ParseClaimPath(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ".")
	for _, p := range parts {
		if p == "" || strings.TrimSpace(p) != p {
			return nil, errors.New("a claim path is names joined by dots, such as app_metadata.supplier_id")
		}
	}
	return parts, nil
}

// claimedSupplier returns the supplier the configured claim names: uuid.Nil when no claim is
// configured or the token has none, an error when it is not a UUID.
func (v *Verifier) claimedSupplier(claims jwt.MapClaims) (uuid.UUID, error) {
	if len(v.cfg.SupplierClaim) == 0 {
		return uuid.Nil, nil
	}
	var at any = map[string]any(claims)
	for _, name := range v.cfg.SupplierClaim {
		m, ok := at.(map[string]any)
		if !ok {
			return uuid.Nil, nil
		}
		if at, ok = m[name]; !ok {
			return uuid.Nil, nil
		}
	}
	if at == nil {
		return uuid.Nil, nil
	}
	s, ok := at.(string)
	id, err := uuid.Parse(s)
	if !ok || err != nil || len(s) != 36 || id == uuid.Nil {
		return uuid.Nil, fmt.Errorf("%w: the claim %s must be a supplier id (UUID)", ErrUnauthorized, strings.Join(v.cfg.SupplierClaim, "."))
	}
	return id, nil
}

// hasNUL reports whether a decoded JSON value has a NUL character in a string or a key.
func hasNUL(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.ContainsRune(v, 0)
	case map[string]any:
		for k, e := range v {
			if strings.ContainsRune(k, 0) || hasNUL(e) {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if hasNUL(e) {
				return true
			}
		}
	}
	return false
}

// key picks the verification key by the token's algorithm family, so a token signed with
// HS256 is only ever checked against the shared secret, never against a public key.
func (v *Verifier) key(t *jwt.Token) (any, error) {
	switch t.Method.(type) {
	case *jwt.SigningMethodHMAC:
		if len(v.cfg.Secret) == 0 {
			return nil, errors.New("HS256 is not accepted")
		}
		return v.cfg.Secret, nil
	case *jwt.SigningMethodRSA, *jwt.SigningMethodECDSA:
		kid, _ := t.Header["kid"].(string)
		return v.keys.find(kid, t.Method.Alg())
	default:
		return nil, fmt.Errorf("algorithm %s is not accepted", t.Method.Alg())
	}
}

// Mint signs an HS256 token for caller, valid for ttl, with iss and aud when not empty.
func Mint(secret []byte, caller gallery.Caller, issuer, audience string, ttl time.Duration) (string, error) {
	if len(secret) == 0 {
		return "", errors.New("minting needs a JWT secret")
	}
	now := time.Now()
	claims := jwt.MapClaims{"role": string(caller.Role), "iat": now.Unix(), "exp": now.Add(ttl).Unix()}
	if caller.UserID != uuid.Nil {
		claims["sub"] = caller.UserID.String()
	}
	if issuer != "" {
		claims["iss"] = issuer
	}
	if audience != "" {
		claims["aud"] = audience
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
}
