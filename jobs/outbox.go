package jobs

import (
	"context"
	"log/slog"

	"github.com/riverqueue/river"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/storage"
)

// outboxBatch is how many outbox entries one transaction of a drain handles.
const outboxBatch = 200

// OutboxDB is what OutboxWorker needs of the database; the PostgreSQL adapter implements it.
type OutboxDB interface {
	// ExpireUploads deletes the direct uploads not completed in time, sending their staging
	// objects to the outbox, and returns how many expired.
	ExpireUploads(ctx context.Context) (int64, error)
	// ExpireEvents deletes, in bounded batches, the events older than gallery.EventRetention,
	// and returns how many it deleted.
	ExpireEvents(ctx context.Context) (int64, error)
	// DrainObjectOutbox deletes through del, in batches of batch keys, the outbox's objects
	// that no row refers to, and empties the outbox of the keys it handled.
	DrainObjectOutbox(ctx context.Context, batch int, del func(ctx context.Context, keys []string) error) (gallery.OutboxResult, error)
}

// OutboxWorker drains the object outbox: it deletes the objects that rows stopped using,
// keeping any that a row refers to again by the time it runs (the same bytes uploaded anew).
type OutboxWorker struct {
	river.WorkerDefaults[DrainOutboxArgs]
	DB     OutboxDB
	Store  storage.Store
	Logger *slog.Logger
}

// Work drains the outbox, after expiring the direct uploads not completed in time and the
// events older than their retention when the job is the periodic sweep. A store failure leaves the failing batch in the outbox and fails
// the job, which River retries with backoff; deleting a missing object is not an error, so a
// batch done in part is harmless to redo.
func (w *OutboxWorker) Work(ctx context.Context, job *river.Job[DrainOutboxArgs]) error {
	ctx = gallery.WithCaller(ctx, gallery.Service())
	if job.Args.Sweep {
		expired, err := w.DB.ExpireUploads(ctx)
		if err != nil {
			return err
		}
		if expired > 0 {
			w.Logger.InfoContext(ctx, "direct uploads expired", "job_id", job.ID, "count", expired)
		}
		events, err := w.DB.ExpireEvents(ctx)
		if err != nil {
			return err
		}
		if events > 0 {
			w.Logger.InfoContext(ctx, "old events deleted", "job_id", job.ID, "count", events)
		}
	}
	res, err := w.DB.DrainObjectOutbox(ctx, outboxBatch, func(ctx context.Context, keys []string) error {
		return storage.DeleteAll(ctx, w.Store, keys)
	})
	if res.Deleted+res.KeptInUse > 0 {
		w.Logger.InfoContext(ctx, "object outbox drained", "job_id", job.ID, "deleted", res.Deleted, "kept_in_use", res.KeptInUse)
	}
	return err
}
