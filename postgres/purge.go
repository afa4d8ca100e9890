package postgres

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vitrine-dev/vitrine/gallery"
)

// purgeLockKey is the session advisory lock that one reconciler run holds for its length.
const purgeLockKey = int64(0x76697472696e6570) // "vitrinep"

// ReferencedKeys yields, in ascending byte order, every object key under prefix that a row
// refers to: the originals and variants of images and the staging objects of direct uploads
// (expired ones too: their cleanup deletes them). A key may be yielded more than once (the
// same bytes in two galleries). It streams from one read-only query, so the caller's memory
// does not grow with the number of keys; PostgreSQL sorts them, spilling to disk if need be.
// The caller in ctx needs the service role.
func (db *DB) ReferencedKeys(ctx context.Context, prefix string) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		stopped := errors.New("stopped")
		err := db.inTx(ctx, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `SELECT k FROM (
					SELECT storage_path AS k FROM product_images
					UNION ALL SELECT unnest(variant_keys) FROM product_images
					UNION ALL SELECT object_key FROM vitrine_uploads
				) AS s
				WHERE k IS NOT NULL AND starts_with(k, $1) -- an image being imported names no object yet
				ORDER BY k COLLATE "C"`, prefix)
			if err != nil {
				return err
			}
			defer rows.Close()
			var k string
			for rows.Next() {
				if err := rows.Scan(&k); err != nil {
					return err
				}
				if !yield(k, nil) {
					return stopped
				}
			}
			return rows.Err()
		})
		if err != nil && !errors.Is(err, stopped) {
			yield("", fmt.Errorf("listing referenced keys: %w", err))
		}
	}
}

// LockPurge takes the reconciler's lock, a session advisory lock held on a connection of its
// own until release is called, so that only one run goes on at a time across every process.
// It answers a conflict error when another run holds it. Runs left 'running' by a killed
// process are marked 'interrupted' once the lock is taken.
func (db *DB) LockPurge(ctx context.Context) (release func(), err error) {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("taking the purge lock: %w", err)
	}
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, purgeLockKey).Scan(&ok); err != nil {
		conn.Release()
		return nil, fmt.Errorf("taking the purge lock: %w", err)
	}
	if !ok {
		conn.Release()
		return nil, gallery.Errorf(gallery.ECONFLICT, "another purge is running")
	}
	release = func() { unlockPurge(conn) }
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE vitrine_purge_runs SET status = 'interrupted', finished_at = now()
			WHERE status = 'running'`)
		return err
	})
	if err != nil {
		release()
		return nil, fmt.Errorf("closing interrupted purge runs: %w", err)
	}
	return release, nil
}

func unlockPurge(conn *pgxpool.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, purgeLockKey); err != nil {
		// The lock dies with the session: drop the connection rather than pool it locked.
		_ = conn.Conn().Close(ctx)
	}
	conn.Release()
}

// StartPurgeRun records a run as running and fills in its id and start time.
func (db *DB) StartPurgeRun(ctx context.Context, run *gallery.PurgeRun) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO vitrine_purge_runs (trigger, dry_run, grace, prefix)
			VALUES ($1, $2, $3, $4) RETURNING id, started_at, status`,
			run.Trigger, run.DryRun, run.Grace, run.Prefix).Scan(&run.ID, &run.StartedAt, &run.Status)
	})
	if err != nil {
		return fmt.Errorf("recording the start of a purge: %w", err)
	}
	return nil
}

// FinishPurgeRun records the end of a run: its status, counts, sample and error.
func (db *DB) FinishPurgeRun(ctx context.Context, run *gallery.PurgeRun) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE vitrine_purge_runs SET finished_at = now(), status = $2,
				objects_scanned = $3, bytes_scanned = $4, referenced = $5, orphans = $6, too_young = $7,
				deleted = $8, bytes_reclaimed = $9, kept_in_use = $10, sample_keys = $11, error = nullif($12, '')
			WHERE id = $1`,
			run.ID, run.Status, run.ObjectsScanned, run.BytesScanned, run.Referenced, run.Orphans, run.TooYoung,
			run.Deleted, run.BytesReclaimed, run.KeptInUse, run.SampleKeys, run.Error)
		if err == nil && tag.RowsAffected() != 1 {
			err = fmt.Errorf("purge run %d does not exist", run.ID)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("recording the end of purge run %d: %w", run.ID, err)
	}
	return nil
}

// LastPurgeRun returns the newest run, or only the newest completed run that deleted for real
// over the whole store (not a dry run, no prefix) when completed is true; nil when there is
// none.
func (db *DB) LastPurgeRun(ctx context.Context, completed bool) (*gallery.PurgeRun, error) {
	var run *gallery.PurgeRun
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, started_at, finished_at, status, trigger, dry_run, grace, prefix,
				objects_scanned, bytes_scanned, referenced, orphans, too_young, deleted, bytes_reclaimed,
				kept_in_use, sample_keys, coalesce(error, '')
			FROM vitrine_purge_runs
			WHERE NOT $1 OR (status = 'completed' AND NOT dry_run AND prefix = '')
			ORDER BY id DESC LIMIT 1`, completed)
		if err != nil {
			return err
		}
		runs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (gallery.PurgeRun, error) {
			var r gallery.PurgeRun
			err := row.Scan(&r.ID, &r.StartedAt, &r.FinishedAt, &r.Status, &r.Trigger, &r.DryRun, &r.Grace, &r.Prefix,
				&r.ObjectsScanned, &r.BytesScanned, &r.Referenced, &r.Orphans, &r.TooYoung, &r.Deleted,
				&r.BytesReclaimed, &r.KeptInUse, &r.SampleKeys, &r.Error)
			return r, err
		})
		if len(runs) == 1 {
			run = &runs[0]
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading the last purge run: %w", err)
	}
	return run, nil
}
