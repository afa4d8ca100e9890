// Package postgres is Vitrine's PostgreSQL adapter: the schema (numbered goose migrations,
// embedded), and the gallery's reads and writes. Every SQL statement of the project lives here,
// next to the code that runs it, or in the migration tool of package postgres/adopt.
package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/trace"

	"github.com/vitrine-dev/vitrine/gallery"
)

// DB is a pool of connections to Vitrine's database. A DB from Open enqueues no background
// jobs; WithJobs returns one that does.
type DB struct {
	pool       *pgxpool.Pool
	jobs       gallery.Enqueuer[pgx.Tx] // nil: no background jobs are enqueued
	thumbnails gallery.ThumbnailsFor
	events     *eventNotifier // shared by every DB on the pool
}

// Open connects to the database at url and checks that it answers.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parsing database url: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to database: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connecting to database: %w", err)
	}
	return &DB{pool: pool, events: startEventNotifier(pool)}, nil
}

// WithJobs returns a DB on the same pool whose gallery writes enqueue, in their own
// transactions, the thumbnail jobs that the policy asks for and the drains of the object
// outbox. db itself is unchanged.
func (db *DB) WithJobs(jobs gallery.Enqueuer[pgx.Tx], policy gallery.ThumbnailsFor) *DB {
	return &DB{pool: db.pool, jobs: jobs, thumbnails: policy, events: db.events}
}

// ThumbnailsFor returns the policy that says which images get thumbnails.
func (db *DB) ThumbnailsFor() gallery.ThumbnailsFor { return db.thumbnails }

// thumbnailsBeyondMain reports whether images other than each product's main one get
// thumbnails: the policy wants either every position or position 0 only.
func (db *DB) thumbnailsBeyondMain() bool { return db.thumbnails.Wants(1) }

// Close stops the notifier of events and closes every connection of the pool.
func (db *DB) Close() {
	db.events.close()
	db.pool.Close()
}

// Pool returns the underlying pool, for tests and tools that need plain SQL.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// tracerName names the spans of this package.
const tracerName = "github.com/vitrine-dev/vitrine/postgres"

// inTx runs fn in one READ COMMITTED transaction as the caller that ctx carries, committing
// when fn returns nil and rolling back otherwise. Like PostgREST, it starts with SET LOCAL
// ROLE and a transaction-local request.jwt.claims, so row-level security applies to
// everything fn does, and nothing of the caller survives into the next transaction on the
// same pooled connection. A context without a caller is refused: there is no default
// identity. The gallery functions need READ COMMITTED: they take a per-product lock and rely
// on each later statement seeing what the lock's previous holder committed.
func (db *DB) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	caller, ok := gallery.CallerFrom(ctx)
	if !ok {
		return errors.New("database transaction without a caller")
	}
	// A span of the transaction when ctx is traced (otel's no-op otherwise).
	ctx, span := trace.SpanFromContext(ctx).TracerProvider().Tracer(tracerName).Start(ctx, "db.transaction")
	defer span.End()
	return pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
		if err := actAs(ctx, tx, caller); err != nil {
			return err
		}
		return fn(tx)
	})
}

// actAs switches the transaction to the caller's role, claims and request headers, until
// the transaction ends. A caller that asks to act for a supplier (ActFor) has that checked
// at once, so that a supplier it may not act for is refused (VT403) whatever the request
// then reads.
func actAs(ctx context.Context, tx pgx.Tx, c gallery.Caller) error {
	switch c.Role {
	case gallery.RoleAnon, gallery.RoleAuthenticated, gallery.RoleService:
	default:
		return fmt.Errorf("unknown role %q", c.Role)
	}
	sql := `SELECT set_config('role', $1, true), set_config('request.jwt.claims', $2, true),
		set_config('request.headers', $3, true)`
	if c.ActFor != uuid.Nil {
		sql += `, vitrine_supplier()`
	}
	if _, err := tx.Exec(ctx, sql, string(c.Role), string(c.ClaimsJSON()), string(c.HeadersJSON())); err != nil {
		return fmt.Errorf("acting as %s: %w", c.Role, err)
	}
	return nil
}

// asService runs fn with the service role inside a caller's transaction, then gives the
// transaction back the caller's role: for the bookkeeping a caller's change needs but that
// the caller itself may not do (inserting jobs into River's table).
func asService(ctx context.Context, tx pgx.Tx, fn func() error) error {
	caller, _ := gallery.CallerFrom(ctx)
	if err := actAs(ctx, tx, gallery.Service()); err != nil {
		return err
	}
	if err := fn(); err != nil {
		return err
	}
	return actAs(ctx, tx, caller)
}
