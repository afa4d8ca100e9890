package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vitrine-dev/vitrine/gallery"
)

// Stats are the counts that /metrics reports of the database.
type Stats struct {
	Images        map[gallery.ThumbnailStatus]int64 // images by thumbnail status
	Jobs          []JobCount                        // River's jobs by kind and state
	OutboxLength  int64                             // keys waiting in the object outbox
	OutboxOldest  time.Duration                     // age of the oldest of them; 0 when empty
	LastPurgeRuns []gallery.PurgeRun                // the latest run of each status
}

// JobCount is the number of River's jobs of one kind in one state.
type JobCount struct {
	Kind, State string
	Count       int64
}

// Stats reads the database's counts in one transaction of three statements and one of River's table, as the service
// role. It reads every image row and River's job table: callers cache it (metrics.DBStats).
func (db *DB) Stats(ctx context.Context) (Stats, error) {
	st := Stats{Images: map[gallery.ThumbnailStatus]int64{}}
	ctx = gallery.WithCaller(ctx, gallery.Service())
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+imageStatus+` AS status, count(*)
			FROM product_images AS i LEFT JOIN LATERAL vitrine_image_job(i.id) AS j ON true
			GROUP BY 1`)
		if err != nil {
			return err
		}
		var status string
		var n int64
		if _, err := pgx.ForEachRow(rows, []any{&status, &n}, func() error {
			st.Images[gallery.ThumbnailStatus(status)] = n
			return nil
		}); err != nil {
			return fmt.Errorf("counting images: %w", err)
		}
		var oldest float64
		if err := tx.QueryRow(ctx, `SELECT count(*), coalesce(extract(epoch FROM now() - min(enqueued_at)), 0)::float8
			FROM vitrine_object_outbox`).Scan(&st.OutboxLength, &oldest); err != nil {
			return fmt.Errorf("measuring the object outbox: %w", err)
		}
		st.OutboxOldest = time.Duration(oldest * float64(time.Second))
		rows, err = tx.Query(ctx, `SELECT DISTINCT ON (status) status, finished_at, objects_scanned, orphans, deleted, bytes_reclaimed
			FROM vitrine_purge_runs WHERE status <> 'running' ORDER BY status, id DESC`)
		if err != nil {
			return err
		}
		st.LastPurgeRuns, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (gallery.PurgeRun, error) {
			var r gallery.PurgeRun
			err := row.Scan(&r.Status, &r.FinishedAt, &r.ObjectsScanned, &r.Orphans, &r.Deleted, &r.BytesReclaimed)
			return r, err
		})
		if err != nil {
			return fmt.Errorf("reading the last purge runs: %w", err)
		}
		return nil
	})
	if err != nil {
		return Stats{}, fmt.Errorf("reading the database's counts: %w", err)
	}
	// River's table is read by the login role itself, as River's own UI does.
	rows, err := db.pool.Query(ctx, `SELECT kind, state::text, count(*) FROM river_job GROUP BY 1, 2`)
	if err != nil {
		return Stats{}, fmt.Errorf("counting jobs: %w", err)
	}
	st.Jobs, err = pgx.CollectRows(rows, pgx.RowToStructByPos[JobCount])
	if err != nil {
		return Stats{}, fmt.Errorf("counting jobs: %w", err)
	}
	return st, nil
}
