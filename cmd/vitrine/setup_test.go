package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/vitrine-dev/vitrine/postgres/pgtest"
)

// TestFirstRunWithOneOwnerURL is a shop's first run with one PostgreSQL URL, its owner's, and an
// empty database: serve stops with an error that says what to do; `vitrine setup` prepares the
// database and prints the two URLs, with which serve comes up and takes writes.
func TestFirstRunWithOneOwnerURL(t *testing.T) {
	t.Parallel()
	owner := pgtest.NewEmptyDB(t)
	env0 := map[string]string{"DATABASE_URL": owner, "VITRINE_DATA_DIR": t.TempDir(), "VITRINE_ADDR": "127.0.0.1:0"}
	err := run(context.Background(), []string{"serve"}, env(env0), io.Discard, io.Discard)
	if err == nil {
		t.Fatal("serve on an empty database did not fail")
	}
	for _, want := range []string{`relation "products" does not exist`, "vitrine setup", "VITRINE_MIGRATE_DATABASE_URL", "vitrine migrate up"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("serve's error does not say %q:\n%v", want, err)
		}
	}

	if err := run(context.Background(), []string{"setup"}, env(map[string]string{}), io.Discard, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "setup needs DATABASE_URL") {
		t.Errorf("setup without a URL: %v", err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"setup"}, env(map[string]string{"DATABASE_URL": owner}), &out, io.Discard); err != nil {
		t.Fatalf("setup: %v", err)
	}
	m := regexp.MustCompile(`(?m)^DATABASE_URL='([^']+)'\nVITRINE_MIGRATE_DATABASE_URL='([^']+)'$`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("setup printed no URLs:\n%s", out.String())
	}
	login, err := pgx.ParseConfig(m[1])
	if err != nil || m[2] != owner || login.User != appRole || login.Password == "" {
		t.Fatalf("setup printed %q and %q for owner %q (%v)", m[1], m[2], owner, err)
	}
	// Setup again: the migrations are there, the login role gets a new password.
	var again bytes.Buffer
	if err := run(context.Background(), []string{"setup"}, env(map[string]string{"DATABASE_URL": owner}), &again, io.Discard); err != nil {
		t.Fatalf("setup again: %v", err)
	}
	if again.String() == out.String() {
		t.Error("setup again printed the same password")
	}

	s := startServe(t, map[string]string{"DATABASE_URL": m[1], "VITRINE_MIGRATE_DATABASE_URL": m[2]})
	st, _, body := s.request(t, http.MethodPost, "/v1/products", strings.NewReader(`{"supplier_id": "7d6f4a0e-8a6b-4c1e-9a55-3f1f6f0c2a11"}`),
		"Content-Type", "application/json")
	if st != http.StatusCreated {
		t.Fatalf("creating a product on the prepared database: %d %s", st, body)
	}
}
