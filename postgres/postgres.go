// Package postgres is Vitrine's PostgreSQL adapter: the schema (numbered goose migrations,
// embedded), and the gallery's reads and writes. Every SQL statement of the project lives here.
package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vitrine-dev/vitrine/gallery"
)

// DB is a pool of connections to Vitrine's database.
type DB struct {
	pool          *pgxpool.Pool
	jobs          Jobs // nil: no background jobs are enqueued
	thumbnailsFor gallery.ThumbnailsFor
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
	return &DB{pool: pool}, nil
}

// Close closes every connection of the pool.
func (db *DB) Close() { db.pool.Close() }

// Pool returns the underlying pool, for tests and tools that need plain SQL.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// inTx runs fn in one READ COMMITTED transaction, committing when fn returns nil and rolling
// back otherwise. The gallery functions need READ COMMITTED: they take a per-product lock and
// rely on each later statement seeing what the lock's previous holder committed.
func (db *DB) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, fn)
}
