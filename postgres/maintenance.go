package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// PauseWrites sets the maintenance flag of migration 00005, so that every image write (through
// the API, the legacy design's RPCs or plain SQL on product_images) fails with EUNAVAILABLE
// while reads go on, and then waits up to wait for the writes that checked the flag before it
// was set to finish. When PauseWrites returns nil, no transaction that may still write to
// product_images has passed the check. The flag lapses by itself after ttl if nobody calls
// ResumeWrites, so a process that dies with it set cannot pause writes for long. When the
// wait times out, the flag is cleared again and the error says so.
func (db *DB) PauseWrites(ctx context.Context, reason string, ttl, wait time.Duration) error {
	if _, err := db.pool.Exec(ctx, sqlPauseWrites, reason, ttl.String()); err != nil {
		return fmt.Errorf("setting the maintenance flag: %w", err)
	}
	if err := db.drainWriters(ctx, wait); err != nil {
		if rerr := db.ResumeWrites(context.WithoutCancel(ctx)); rerr != nil {
			return fmt.Errorf("waiting for writers: %w (and clearing the flag: %v)", err, rerr)
		}
		return fmt.Errorf("waiting for writers: %w", err)
	}
	return nil
}

// drainWriters takes product_images in SHARE mode, in a transaction of its own with lock_timeout
// wait, and lets go at once: that waits for every transaction that has written to the table.
func (db *DB) drainWriters(ctx context.Context, wait time.Duration) error {
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, sqlSetLocalLockTimeout, fmt.Sprint(wait.Milliseconds())); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, sqlDrainWriters)
		return err
	})
}

// ResumeWrites clears the maintenance flag; clearing a flag that is not set is not an error.
func (db *DB) ResumeWrites(ctx context.Context) error {
	if _, err := db.pool.Exec(ctx, sqlResumeWrites); err != nil {
		return fmt.Errorf("clearing the maintenance flag: %w", err)
	}
	return nil
}

// WritesPaused returns the reason image writes are paused, or "" when they are not.
func (db *DB) WritesPaused(ctx context.Context) (string, error) {
	var reason string
	if err := db.pool.QueryRow(ctx, sqlWritesPaused).Scan(&reason); err != nil {
		return "", fmt.Errorf("reading the maintenance flag: %w", err)
	}
	return reason, nil
}

// The statements this file runs, next to the code that runs them.
const (
	// $1 reason, $2 how long the flag holds at most (an interval) if nobody clears it.
	sqlPauseWrites = `INSERT INTO vitrine_maintenance (singleton, reason, started_at, expires_at)
VALUES (true, $1, clock_timestamp(), clock_timestamp() + $2::interval)
ON CONFLICT (singleton) DO UPDATE
    SET reason = excluded.reason, started_at = excluded.started_at, expires_at = excluded.expires_at;`

	// In a transaction of its own: waits for every transaction that has written to product_images
	// to end (they hold ROW EXCLUSIVE, which SHARE waits for); later writes meet the flag.
	sqlDrainWriters = `LOCK TABLE product_images IN SHARE MODE;`

	sqlResumeWrites = `DELETE FROM vitrine_maintenance;`

	sqlWritesPaused = `SELECT coalesce((SELECT reason FROM vitrine_maintenance WHERE expires_at > clock_timestamp()), '');`

	// $1 milliseconds; for the transaction.
	sqlSetLocalLockTimeout = `SELECT set_config('lock_timeout', $1::text, true);`
)
