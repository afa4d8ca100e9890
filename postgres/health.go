package postgres

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return fmt.Errorf("reaching the database: %w", err)
	}
	return nil
}

// PendingMigrations names the migrations that this binary has and the database lacks: River's
// ("river 6"), then Vitrine's ("00013_login_role_reads_migrations.sql"); none when the schema
// is current. It reads the bookkeeping of both with two queries, takes no lock (a migration
// running elsewhere does not block it), and works for the login role as for the owner.
func (db *DB) PendingMigrations(ctx context.Context) ([]string, error) {
	var pending []string
	m, err := rivermigrate.New(riverpgxv5.New(db.pool), nil)
	if err != nil {
		return nil, fmt.Errorf("loading River's migrations: %w", err)
	}
	existing, err := m.ExistingVersions(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading River's applied migrations: %w", err)
	}
	have := make(map[int]bool, len(existing))
	for _, e := range existing {
		have[e.Version] = true
	}
	for _, v := range m.AllVersions() {
		if !have[v.Version] {
			pending = append(pending, "river "+strconv.Itoa(v.Version))
		}
	}

	// goose records every apply and rollback; a version's latest row says whether it is in.
	rows, err := db.pool.Query(ctx, `SELECT version_id FROM (
			SELECT DISTINCT ON (version_id) version_id, is_applied FROM goose_db_version
			ORDER BY version_id, id DESC) AS latest
		WHERE is_applied`)
	if err != nil {
		return nil, fmt.Errorf("reading the applied migrations: %w", err)
	}
	applied, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("reading the applied migrations: %w", err)
	}
	files, err := fs.ReadDir(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		num, _, ok := strings.Cut(f.Name(), "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil || !strings.HasSuffix(f.Name(), ".sql") {
			continue
		}
		if !slices.Contains(applied, v) {
			pending = append(pending, f.Name())
		}
	}
	return pending, nil
}

// ServerTime returns the database's clock (now()) and the local time halfway through the
// round trip that read it, so that their difference is the skew between the two clocks, give
// or take half the round trip, which is returned too.
func (db *DB) ServerTime(ctx context.Context) (server, local time.Time, rtt time.Duration, err error) {
	start := time.Now()
	err = db.pool.QueryRow(ctx, `SELECT now()`).Scan(&server)
	rtt = time.Since(start)
	if err != nil {
		return server, local, rtt, fmt.Errorf("reading the database's clock: %w", err)
	}
	return server, start.Add(rtt / 2), rtt, nil
}

// TableSecurity is whether row-level security binds a table: enabled, and forced (so that it
// binds the table's owner too).
type TableSecurity struct {
	Table           string
	Enabled, Forced bool
}

// GalleryTables are the tables whose rows belong to suppliers, or say who acts for them,
// guarded by row-level security.
var GalleryTables = []string{"products", "product_images", "supplier_members", "vitrine_imports", "vitrine_import_lines",
	"vitrine_webhooks", "vitrine_webhook_messages", "vitrine_webhook_deliveries"}

// RowSecurity reads whether row-level security is enabled and forced on each gallery table.
func (db *DB) RowSecurity(ctx context.Context) ([]TableSecurity, error) {
	rows, err := db.pool.Query(ctx, `SELECT t.name, coalesce(c.relrowsecurity, false), coalesce(c.relforcerowsecurity, false)
		FROM unnest($1::text[]) WITH ORDINALITY AS t(name, n)
		LEFT JOIN pg_class c ON c.oid = to_regclass(t.name)
		ORDER BY t.n`, GalleryTables)
	if err != nil {
		return nil, fmt.Errorf("reading row-level security: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (TableSecurity, error) {
		var ts TableSecurity
		err := r.Scan(&ts.Table, &ts.Enabled, &ts.Forced)
		return ts, err
	})
	if err != nil {
		return nil, fmt.Errorf("reading row-level security: %w", err)
	}
	return out, nil
}
