package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/url"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// setupCommand prepares a database reached with one owner's URL for `vitrine serve`: it applies
// the migrations, gives the login role a new password and prints the two URLs to serve with.
func setupCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags("setup", args, getenv, stderr)
	if err != nil {
		return err
	}
	owner := cfg.MigrateURL
	if owner == "" {
		owner = cfg.DatabaseURL
	}
	if owner == "" {
		return errors.New("setup needs DATABASE_URL (or VITRINE_MIGRATE_DATABASE_URL) set to the URL of a role that may create tables and roles in the database: its owner")
	}
	log := newLogger(cfg, stderr)
	if _, err := migrateWith(ctx, owner, log); err != nil {
		return err
	}
	password := rand.Text() // 26 characters of base32: nothing to quote
	conn, err := pgx.Connect(ctx, owner)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "ALTER ROLE "+appRole+" LOGIN PASSWORD '"+password+"'"); err != nil {
		return fmt.Errorf("giving %s a password: %w", appRole, err)
	}
	app := withLogin(owner, appRole, password)
	db, err := openApp(ctx, app)
	if err != nil {
		return fmt.Errorf("logging in as %s with its new password: %w", appRole, err)
	}
	db.Close()
	fmt.Fprintf(stdout, `The database is ready. Serve with these two settings (keep them secret):

DATABASE_URL='%s'
VITRINE_MIGRATE_DATABASE_URL='%s'

DATABASE_URL logs in as %s, which row-level security holds; the owner's URL is only used to
migrate at start. Running setup again gives %s a new password.
`, app, owner, appRole, appRole)
	return nil
}

// withLogin returns rawURL logging in as user with password instead.
func withLogin(rawURL, user, password string) string {
	u, err := url.Parse(withUser(rawURL, user))
	if err != nil {
		return rawURL
	}
	q := u.Query()
	if q.Has("password") || q.Has("user") {
		q.Set("password", password)
		u.RawQuery = q.Encode()
	} else {
		u.User = url.UserPassword(user, password)
	}
	return u.String()
}

// noSchemaError explains a login to a database that Vitrine's migrations never ran on.
func noSchemaError(err error) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42P01" /* undefined_table */ {
		return err
	}
	return fmt.Errorf(`the database DATABASE_URL names has no Vitrine tables yet (%s). Either:
  - run 'vitrine setup' with DATABASE_URL set to the database owner's URL: it migrates, gives the
    login role %s a password, and prints the DATABASE_URL and VITRINE_MIGRATE_DATABASE_URL to serve with; or
  - set VITRINE_MIGRATE_DATABASE_URL to the owner's URL (serve migrates at start) and DATABASE_URL
    to the %s role, after giving it a password (ALTER ROLE %s PASSWORD '...'); or
  - run 'vitrine migrate up' with the owner's URL, then set DATABASE_URL as above`, pgErr.Message, appRole, appRole, appRole)
}
