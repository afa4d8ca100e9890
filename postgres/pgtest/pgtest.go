// Package pgtest gives tests real PostgreSQL databases: one template database migrated once
// per test binary, cloned for each test that needs one (CREATE DATABASE ... TEMPLATE), and
// dropped when the test ends.
//
// The server is TEST_DATABASE_URL when set (a superuser connection, usually to the database
// "postgres"); otherwise a private cluster is started from the machine's PostgreSQL binaries
// for the length of the test binary. There is no skipping: without a server the tests fail.
package pgtest

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vitrine-dev/vitrine/pgcluster"
	"github.com/vitrine-dev/vitrine/postgres"
)

var server struct {
	once     sync.Once
	err      error
	adminURL string
	template string
	cluster  *pgcluster.Cluster
	tmpDir   string
}

// Main runs the package's tests and then stops what Main or NewDB started. Call it from
// TestMain: func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }.
func Main(m *testing.M) int {
	code := m.Run()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if server.template != "" {
		if err := dropDatabase(ctx, server.adminURL, server.template); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
	}
	if server.cluster != nil {
		if err := server.cluster.Stop(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
		os.RemoveAll(server.tmpDir)
	}
	return code
}

func setUp() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	server.adminURL = os.Getenv("TEST_DATABASE_URL")
	if server.adminURL == "" {
		dir, err := os.MkdirTemp("", "vitrine-pgtest-")
		if err != nil {
			return err
		}
		if err := os.Chmod(dir, 0o755); err != nil {
			return err
		}
		server.tmpDir = dir
		c, err := pgcluster.Start(ctx, dir+"/pg")
		if err != nil {
			return fmt.Errorf("no TEST_DATABASE_URL and no private cluster: %w", err)
		}
		server.cluster = c
		server.adminURL = c.URL("postgres")
	}
	server.template = "vitrine_tmpl_" + randomSuffix()
	if err := createDatabase(ctx, server.adminURL, server.template, ""); err != nil {
		return err
	}
	db, err := postgres.Open(ctx, WithDatabase(server.adminURL, server.template))
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return err
	}
	return nil
}

// NewDB returns the URL of a fresh, migrated database of the test's own, dropped when the
// test and its subtests end.
func NewDB(t testing.TB) string {
	t.Helper()
	return newDatabase(t, true)
}

// newDatabase creates a database for t, a clone of the migrated template or an empty one,
// dropped when the test ends, and returns its URL.
func newDatabase(t testing.TB, migrated bool) string {
	t.Helper()
	server.once.Do(func() { server.err = setUp() })
	if server.err != nil {
		t.Fatalf("pgtest: %v", server.err)
	}
	template := ""
	if migrated {
		template = server.template
	}
	name := "vitrine_t_" + randomSuffix()
	if err := createDatabase(context.Background(), server.adminURL, name, template); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if err := dropDatabase(context.Background(), server.adminURL, name); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return WithDatabase(server.adminURL, name)
}

// Open returns a pool on a fresh database (see NewDB) that logs in as the owner (a
// superuser), for tests that also check rows directly; every transaction of the DB's methods
// still runs as the caller of its context, under row-level security. Closed when the test
// ends.
func Open(t testing.TB) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), NewDB(t))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(db.Close)
	return db
}

// AppURL returns the URL of the same database for Vitrine's login role, vitrine_app, which
// the migrations create (test servers trust local connections).
func AppURL(ownerURL string) string {
	u, err := url.Parse(ownerURL)
	if err != nil {
		return ownerURL
	}
	q := u.Query()
	if q.Has("user") {
		q.Set("user", "vitrine_app")
		u.RawQuery = q.Encode()
	} else {
		u.User = url.User("vitrine_app")
	}
	return u.String()
}

// OpenApp returns a pool on a fresh database (see NewDB) that logs in as vitrine_app, as
// Vitrine does, closed when the test ends.
func OpenApp(t testing.TB) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), AppURL(NewDB(t)))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(db.Close)
	return db
}

// WithDatabase returns rawURL with its database name replaced by name.
func WithDatabase(rawURL, name string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "" {
		// A keyword/value connection string.
		return rawURL + " dbname=" + name
	}
	u.Path = "/" + name
	return u.String()
}

func createDatabase(ctx context.Context, adminURL, name, template string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connecting to test server: %w", err)
	}
	defer conn.Close(ctx)
	sql := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()
	if template != "" {
		sql += " TEMPLATE " + pgx.Identifier{template}.Sanitize()
	}
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("creating database %s: %w", name, err)
	}
	return nil
}

func dropDatabase(ctx context.Context, adminURL, name string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connecting to test server: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("dropping database %s: %w", name, err)
	}
	return nil
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// NewEmptyDB returns the URL of a fresh database with no schema of Vitrine's (created from
// template1), dropped when the test ends. The cluster's roles exist already once any database
// of it has been migrated.
func NewEmptyDB(t testing.TB) string {
	t.Helper()
	return newDatabase(t, false)
}

//go:embed legacy.sql
var legacySQL string

// LegacySQL is the legacy design's schema with the legacy_generate(n) function (legacy.sql).
func LegacySQL() string { return legacySQL }

// NewLegacyDB returns the URL of a fresh database in the legacy design's shape (see legacy.sql)
// holding images images, dropped when the test ends.
func NewLegacyDB(t testing.TB, images int) string {
	t.Helper()
	url := NewEmptyDB(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, legacySQL); err != nil {
		t.Fatalf("pgtest: creating the legacy schema: %v", err)
	}
	if _, err := conn.Exec(ctx, `SELECT legacy_generate($1)`, images); err != nil {
		t.Fatalf("pgtest: generating legacy data: %v", err)
	}
	if _, err := conn.Exec(ctx, `DROP FUNCTION legacy_generate(integer); ANALYZE`); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return url
}
