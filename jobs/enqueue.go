package jobs

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/vitrine-dev/vitrine/gallery"
)

// Enqueuer inserts Vitrine's jobs into the caller's transaction (River's InsertTx): a job
// inserted this way is not worked until that transaction commits, and vanishes if it rolls
// back. It implements gallery.Enqueuer for pgx transactions.
type Enqueuer struct {
	Client *river.Client[pgx.Tx]
	// WebhookAttempts is the attempts of a webhook delivery's job (0: River's client default).
	WebhookAttempts int
}

var _ gallery.Enqueuer[pgx.Tx] = Enqueuer{}

// NewEnqueuer returns an Enqueuer whose River client, configured by cfg, only inserts and
// cancels jobs: it is never started, and works nothing. Jobs it inserts are worked by the
// clients from NewClient, in this process or another.
func NewEnqueuer(pool *pgxpool.Pool, cfg Config) (Enqueuer, error) {
	client, err := river.NewClient(riverpgxv5.New(pool), riverConfig(cfg))
	if err != nil {
		return Enqueuer{}, fmt.Errorf("making River's inserting client: %w", err)
	}
	return Enqueuer{Client: client, WebhookAttempts: cfg.WebhookAttempts}, nil
}

// EnqueueThumbnails inserts one thumbnail job per target; a target that already has an
// active job for the same source is skipped by River's uniqueness.
func (e Enqueuer) EnqueueThumbnails(ctx context.Context, tx pgx.Tx, targets []gallery.ThumbnailTarget) error {
	for _, t := range targets {
		if _, err := e.Client.InsertTx(ctx, tx, ThumbnailArgs{ImageID: t.ImageID, SourceSHA256: t.SourceSHA256, Replace: t.Replace}, nil); err != nil {
			return fmt.Errorf("enqueueing thumbnails of image %s: %w", t.ImageID, err)
		}
	}
	return nil
}

// EnqueueOutboxDrain inserts a job that drains the object outbox.
func (e Enqueuer) EnqueueOutboxDrain(ctx context.Context, tx pgx.Tx) error {
	if _, err := e.Client.InsertTx(ctx, tx, DrainOutboxArgs{}, nil); err != nil {
		return fmt.Errorf("enqueueing a drain of the object outbox: %w", err)
	}
	return nil
}

// EnqueueImports inserts the jobs that fetch imported images' originals, in one statement
// (River's InsertManyTx); an image with an active import job already is skipped by River's
// uniqueness.
func (e Enqueuer) EnqueueImports(ctx context.Context, tx pgx.Tx, targets []gallery.ImportTarget) error {
	if len(targets) == 0 {
		return nil
	}
	params := make([]river.InsertManyParams, len(targets))
	for i, t := range targets {
		params[i] = river.InsertManyParams{Args: ImportArgs{ImageID: t.ImageID, SourceURL: t.SourceURL}}
	}
	if _, err := e.Client.InsertManyTx(ctx, tx, params); err != nil {
		return fmt.Errorf("enqueueing the import of %d images: %w", len(targets), err)
	}
	return nil
}

// EnqueueWebhookDeliveries inserts one job per webhook delivery, with e.WebhookAttempts
// attempts, and returns their ids in the order of deliveries.
func (e Enqueuer) EnqueueWebhookDeliveries(ctx context.Context, tx pgx.Tx, deliveries []int64) ([]int64, error) {
	params := make([]river.InsertManyParams, len(deliveries))
	for i, id := range deliveries {
		params[i] = river.InsertManyParams{Args: WebhookArgs{DeliveryID: id}, InsertOpts: &river.InsertOpts{MaxAttempts: e.WebhookAttempts}}
	}
	res, err := e.Client.InsertManyTx(ctx, tx, params)
	if err != nil {
		return nil, fmt.Errorf("enqueueing %d webhook deliveries: %w", len(deliveries), err)
	}
	ids := make([]int64, len(res))
	for i, r := range res {
		ids[i] = r.Job.ID
	}
	return ids, nil
}

// EnqueueBulkImport inserts the job that admits the lines of a bulk import.
func (e Enqueuer) EnqueueBulkImport(ctx context.Context, tx pgx.Tx, importID uuid.UUID) error {
	if _, err := e.Client.InsertTx(ctx, tx, BulkImportArgs{ImportID: importID}, nil); err != nil {
		return fmt.Errorf("enqueueing bulk import %s: %w", importID, err)
	}
	return nil
}

// CancelJobs cancels each job inside tx (River's JobCancelTx): a queued job is cancelled
// when tx commits; a running one has its context cancelled then, and ends cancelled unless
// it completes first.
func (e Enqueuer) CancelJobs(ctx context.Context, tx pgx.Tx, ids []int64) error {
	for _, id := range ids {
		if _, err := e.Client.JobCancelTx(ctx, tx, id); err != nil {
			return fmt.Errorf("cancelling job %d: %w", id, err)
		}
	}
	return nil
}
