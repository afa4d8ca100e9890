package postgres

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns Vitrine's goose migrations, as files named migrations/NNNNN_name.sql.
func Migrations() fs.FS { return migrations }

// MarkApplied records migrations as applied in goose's table without running them, creating
// the table as goose does when it is missing, for a schema built to their end state by other
// means. A version recorded already is left alone.
func (db *DB) MarkApplied(ctx context.Context, versions []int64) error {
	p, sqlDB, err := db.provider()
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	// GetDBVersion creates goose's table (with its version 0 row) when it is missing.
	if _, err := p.GetDBVersion(ctx); err != nil {
		return fmt.Errorf("preparing goose's table: %w", err)
	}
	_, err = db.pool.Exec(ctx, `INSERT INTO goose_db_version (version_id, is_applied)
		SELECT v, true FROM unnest($1::bigint[]) AS v
		WHERE NOT EXISTS (SELECT 1 FROM goose_db_version WHERE version_id = v AND is_applied)`, versions)
	if err != nil {
		return fmt.Errorf("recording migrations %v as applied: %w", versions, err)
	}
	return nil
}

// MigrationStatus is one migration and whether it has been applied.
type MigrationStatus struct {
	Version int64
	Name    string
	Applied bool
}

func (db *DB) provider() (*goose.Provider, *sql.DB, error) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, nil, err
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, nil, err
	}
	sqlDB := stdlib.OpenDBFromPool(db.pool)
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, sub, goose.WithSessionLocker(locker))
	if err != nil {
		sqlDB.Close()
		return nil, nil, fmt.Errorf("loading migrations: %w", err)
	}
	return p, sqlDB, nil
}

// migrationLockKey is the advisory lock that serialises River's migrations across processes.
const migrationLockKey = 0x76697472696e65 // "vitrine"

// MigrateRiver applies River's own migrations (its job tables), which Vitrine's migrations
// build on, holding a session advisory lock so that processes starting together take turns.
func (db *DB) MigrateRiver(ctx context.Context) error {
	m, err := rivermigrate.New(riverpgxv5.New(db.pool), nil)
	if err != nil {
		return fmt.Errorf("loading River's migrations: %w", err)
	}
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLockKey); err != nil {
		return fmt.Errorf("waiting for the migration lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLockKey)
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("applying River's migrations: %w", err)
	}
	return nil
}

// Migrate applies every pending migration, River's first, and returns how many of Vitrine's
// it applied. Concurrent calls from several processes are serialised by advisory locks.
func (db *DB) Migrate(ctx context.Context) (int, error) {
	if err := db.MigrateRiver(ctx); err != nil {
		return 0, err
	}
	p, sqlDB, err := db.provider()
	if err != nil {
		return 0, err
	}
	defer sqlDB.Close()
	res, err := p.Up(ctx)
	if err != nil {
		return len(res), fmt.Errorf("applying migrations: %w", err)
	}
	if _, err := db.pool.Exec(ctx, `SELECT vitrine_grant_river()`); err != nil {
		return len(res), fmt.Errorf("granting River's tables: %w", err)
	}
	return len(res), nil
}

// MigrationStatuses lists every embedded migration and whether the database has it.
func (db *DB) MigrationStatuses(ctx context.Context) ([]MigrationStatus, error) {
	p, sqlDB, err := db.provider()
	if err != nil {
		return nil, err
	}
	defer sqlDB.Close()
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading migration status: %w", err)
	}
	out := make([]MigrationStatus, 0, len(st))
	for _, s := range st {
		out = append(out, MigrationStatus{
			Version: s.Source.Version,
			Name:    s.Source.Path,
			Applied: s.State == goose.StateApplied,
		})
	}
	return out, nil
}
