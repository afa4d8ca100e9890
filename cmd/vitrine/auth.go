package main

import (
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/jwtauth"
)

// verifier checks bearer tokens as configured. With neither a secret nor a JWKS file it is
// dev mode: a random secret for this process only (returned as devSecret, nil otherwise), a
// service-role token printed for the operator, and dev_mode=true on every log line.
func verifier(cfg config, log *slog.Logger) (v *jwtauth.Verifier, _ *slog.Logger, devSecret []byte, err error) {
	jc := jwtauth.Config{Secret: []byte(cfg.JWTSecret), JWKSFile: cfg.JWKSFile, Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience,
		SupplierClaim: cfg.SupplierClaim}
	if cfg.JWTSecret != "" || cfg.JWKSFile != "" {
		v, err := jwtauth.New(jc)
		return v, log, nil, err
	}
	if cfg.Env == "production" {
		return nil, nil, nil, errors.New("dev mode is refused when VITRINE_ENV=production: set VITRINE_JWT_SECRET or VITRINE_JWKS_FILE")
	}
	jc.Secret = make([]byte, 32)
	rand.Read(jc.Secret)
	if v, err = jwtauth.New(jc); err != nil {
		return nil, nil, nil, err
	}
	token, err := jwtauth.Mint(jc.Secret, gallery.Service(), cfg.JWTIssuer, cfg.JWTAudience, 24*time.Hour)
	if err != nil {
		return nil, nil, nil, err
	}
	log = log.With("dev_mode", true)
	log.Warn("no VITRINE_JWT_SECRET: dev mode, tokens are signed with a random secret of this process only; "+
		"this service-role token is valid for 24h", "dev_token", token)
	return v, log, jc.Secret, nil
}

// tokenCommand is `vitrine token [-supplier ID] [-role R] [-ttl D]`: it mints a token with
// the configured secret, for operators and tests.
func tokenCommand(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var supplier, role string
	var ttl time.Duration
	cfg, err := parseFlags("token", args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&supplier, "supplier", "", "the supplier (user id, the token's sub)")
		fs.StringVar(&role, "role", string(gallery.RoleAuthenticated), "anon, authenticated or service_role")
		fs.DurationVar(&ttl, "ttl", time.Hour, "how long the token is valid")
	})
	if err != nil {
		return err
	}
	c := gallery.Caller{Role: gallery.Role(role)}
	switch c.Role {
	case gallery.RoleAuthenticated:
		if c.UserID, err = uuid.Parse(supplier); err != nil {
			return errors.New("-supplier must be a supplier id (UUID) for an authenticated token")
		}
	case gallery.RoleAnon, gallery.RoleService:
	default:
		return fmt.Errorf("-role %q is not anon, authenticated or service_role", role)
	}
	token, err := jwtauth.Mint([]byte(cfg.JWTSecret), c, cfg.JWTIssuer, cfg.JWTAudience, ttl)
	if err != nil {
		return fmt.Errorf("%w (set VITRINE_JWT_SECRET or VITRINE_JWT_SECRET_FILE)", err)
	}
	fmt.Fprintln(stdout, token)
	return nil
}
