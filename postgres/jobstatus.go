package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/vitrine-dev/vitrine/gallery"
)

// ThumbnailJob is one row of the image_thumbnail_jobs view.
type ThumbnailJob struct {
	JobID       int64
	ImageID     uuid.UUID
	State       string
	Attempts    int
	MaxAttempts int
	LastError   string
	CreatedAt   time.Time
	FinishedAt  *time.Time
}

// failedStates are River's states of a job that gave up.
var failedStates = []string{"discarded", "cancelled"}

// ThumbnailJobs lists thumbnail jobs, newest first, at most limit of them. state filters by
// River's state; "failed" means discarded or cancelled; "" lists all.
func (db *DB) ThumbnailJobs(ctx context.Context, state string, limit int) ([]ThumbnailJob, error) {
	states := []string{state}
	if state == "failed" {
		states = failedStates
	}
	var out []ThumbnailJob
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT job_id, image_id, state, attempts, max_attempts,
				coalesce(errors[array_upper(errors, 1)] ->> 'error', ''), created_at, finished_at
			FROM image_thumbnail_jobs
			WHERE $1 = '' OR state = ANY ($2)
			ORDER BY job_id DESC LIMIT $3`, state, states, limit)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (ThumbnailJob, error) {
			var j ThumbnailJob
			err := row.Scan(&j.JobID, &j.ImageID, &j.State, &j.Attempts, &j.MaxAttempts, &j.LastError, &j.CreatedAt, &j.FinishedAt)
			return j, err
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listing thumbnail jobs: %w", err)
	}
	return out, nil
}

// RegenerationTargets returns the images whose thumbnails `vitrine thumbnails regenerate`
// remakes: those of one product (productID not nil) or of all, main images only unless
// every image gets thumbnails. Only images whose original Vitrine stored qualify.
func (db *DB) RegenerationTargets(ctx context.Context, productID *uuid.UUID) ([]gallery.ThumbnailTarget, error) {
	var out []gallery.ThumbnailTarget
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, content_sha256 FROM product_images
			WHERE content_sha256 IS NOT NULL AND ($1::uuid IS NULL OR product_id = $1)
			  AND ($2 OR image_order = 0)
			ORDER BY product_id, image_order`, productID, db.thumbnailsBeyondMain())
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (gallery.ThumbnailTarget, error) {
			var t gallery.ThumbnailTarget
			err := row.Scan(&t.ImageID, &t.SourceSHA256)
			return t, err
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listing images to regenerate: %w", err)
	}
	return out, nil
}

// EnqueueRegeneration enqueues jobs that remake and replace the thumbnails of targets, in one
// transaction. The current thumbnails stay until their replacements are recorded.
func (db *DB) EnqueueRegeneration(ctx context.Context, targets []gallery.ThumbnailTarget) error {
	if db.jobs == nil {
		return fmt.Errorf("no job queue configured")
	}
	return db.inTx(ctx, func(tx pgx.Tx) error {
		for i := range targets {
			targets[i].Replace = true
		}
		return db.jobs.EnqueueThumbnails(ctx, tx, targets)
	})
}
