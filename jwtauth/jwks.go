package jwtauth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
)

// jwks holds public keys read from a JWKS document.
type jwks []jwk

type jwk struct {
	kid string
	alg string // RS256 or ES256
	key any    // *rsa.PublicKey or *ecdsa.PublicKey
}

// loadJWKS reads RSA and P-256 EC public keys from a JWKS file.
func loadJWKS(path string) (jwks, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading JWKS: %w", err)
	}
	var doc struct {
		Keys []struct {
			Kty, Kid, Alg, Crv, N, E, X, Y string
		} `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parsing JWKS %s: %w", path, err)
	}
	var out jwks
	for _, k := range doc.Keys {
		switch k.Kty {
		case "RSA":
			n, err1 := b64int(k.N)
			e, err2 := b64int(k.E)
			if err := errors.Join(err1, err2); err != nil || !e.IsInt64() {
				return nil, fmt.Errorf("JWKS key %q: bad RSA parameters", k.Kid)
			}
			out = append(out, jwk{k.Kid, "RS256", &rsa.PublicKey{N: n, E: int(e.Int64())}})
		case "EC":
			if k.Crv != "P-256" {
				return nil, fmt.Errorf("JWKS key %q: only P-256 (ES256) is supported", k.Kid)
			}
			x, err1 := b64int(k.X)
			y, err2 := b64int(k.Y)
			if err := errors.Join(err1, err2); err != nil {
				return nil, fmt.Errorf("JWKS key %q: bad EC parameters", k.Kid)
			}
			out = append(out, jwk{k.Kid, "ES256", &ecdsa.PublicKey{Curve: elliptic.P256(), X: x, Y: y}})
		default:
			return nil, fmt.Errorf("JWKS key %q: key type %q is not supported", k.Kid, k.Kty)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("JWKS %s has no keys", path)
	}
	return out, nil
}

func b64int(s string) (*big.Int, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) == 0 {
		return nil, errors.New("bad base64url integer")
	}
	return new(big.Int).SetBytes(b), nil
}

func (ks jwks) algorithms() []string {
	seen := map[string]bool{}
	var out []string
	for _, k := range ks {
		if !seen[k.alg] {
			seen[k.alg] = true
			out = append(out, k.alg)
		}
	}
	return out
}

// find returns the key with kid for alg; without a kid, the only key of that algorithm.
func (ks jwks) find(kid, alg string) (any, error) {
	var match []jwk
	for _, k := range ks {
		if k.alg == alg && (kid == "" || k.kid == kid) {
			match = append(match, k)
		}
	}
	if len(match) != 1 {
		return nil, fmt.Errorf("no single %s key with kid %q", alg, kid)
	}
	return match[0].key, nil
}
