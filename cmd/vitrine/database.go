package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"path/filepath"

	"github.com/vitrine-dev/vitrine/pgcluster"
	"github.com/vitrine-dev/vitrine/postgres"
)

// appRole is Vitrine's login role, created by the migrations.
const appRole = "vitrine_app"

// databases are the two connections Vitrine uses: the tables' owner runs migrations, and the
// login role (not a superuser, not BYPASSRLS, not the owner) serves.
type databases struct {
	ownerURL string // empty: no migrations from this process
	appURL   string
	stop     func() // stops the private cluster, if one was started
}

// schemaURL is the URL that changes the schema: the owner's, or when none is configured the
// login URL, since whoever DATABASE_URL names may well be the owner when migrating.
func (d databases) schemaURL() string {
	if d.ownerURL != "" {
		return d.ownerURL
	}
	return d.appURL
}

// locateDatabases finds the owner and login URLs: from DATABASE_URL and
// VITRINE_MIGRATE_DATABASE_URL, or from a private cluster started under the data directory
// when DATABASE_URL is not set (its superuser owns the tables; Vitrine logs in as vitrine_app).
func locateDatabases(ctx context.Context, cfg config, log *slog.Logger) (databases, error) {
	if cfg.DatabaseURL != "" {
		return databases{ownerURL: cfg.MigrateURL, appURL: cfg.DatabaseURL, stop: func() {}}, nil
	}
	dir := filepath.Join(cfg.DataDir, "pg")
	log.Info("no DATABASE_URL: starting a private PostgreSQL cluster", "dir", dir)
	c, err := pgcluster.Start(ctx, dir)
	if err != nil {
		return databases{}, err
	}
	owner := c.URL("vitrine")
	return databases{ownerURL: owner, appURL: withUser(owner, appRole), stop: func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pgcluster.StopTimeout)
		defer cancel()
		if err := c.Stop(sctx); err != nil {
			log.Error("stopping private cluster", "error", err)
		} else {
			log.Info("private PostgreSQL cluster stopped")
		}
	}}, nil
}

// withUser returns a URL that logs in as user instead.
func withUser(rawURL, user string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	q := u.Query()
	if q.Has("user") {
		q.Set("user", user)
		u.RawQuery = q.Encode()
	} else {
		u.User = url.User(user)
	}
	return u.String()
}

// migrateWith applies every migration as the owner at url.
func migrateWith(ctx context.Context, url string, log *slog.Logger) (int, error) {
	db, err := postgres.Open(ctx, url)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	n, err := db.Migrate(ctx)
	if err == nil {
		log.Info("database migrated", "applied", n)
	}
	return n, err
}

// openApp connects as the login role and refuses a role that could get around row-level
// security.
func openApp(ctx context.Context, url string) (*postgres.DB, error) {
	db, err := postgres.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	r, err := db.LoginRole(ctx)
	if err != nil {
		db.Close()
		return nil, noSchemaError(err)
	}
	if !r.Safe() {
		db.Close()
		return nil, fmt.Errorf("the login role %q could get around row-level security (superuser %t, bypassrls %t, owns the tables %t, RLS forced %t, member of anon/authenticated/service_role %t): "+
			"set DATABASE_URL to the %s role that `vitrine migrate up` creates, and VITRINE_MIGRATE_DATABASE_URL to the owner ('vitrine setup' with the owner's URL does it and prints both)",
			r.Name, r.Superuser, r.BypassRLS, r.OwnsTables, r.RLSForced, r.CanActAsAll, appRole)
	}
	return db, nil
}

func migrate(ctx context.Context, cfg config, action string, log *slog.Logger, out io.Writer) error {
	dbs, err := locateDatabases(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer dbs.stop()
	url := dbs.schemaURL()
	if url == "" {
		return errors.New("migrate needs VITRINE_MIGRATE_DATABASE_URL or DATABASE_URL")
	}
	if action == "up" {
		n, err := migrateWith(ctx, url, log)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "applied %d migration(s)\n", n)
		return nil
	}
	db, err := postgres.Open(ctx, url)
	if err != nil {
		return err
	}
	defer db.Close()
	st, err := db.MigrationStatuses(ctx)
	if err != nil {
		return err
	}
	for _, s := range st {
		state := "pending"
		if s.Applied {
			state = "applied"
		}
		fmt.Fprintf(out, "%05d  %-8s %s\n", s.Version, state, s.Name)
	}
	return nil
}
