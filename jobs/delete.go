package jobs

import (
	"context"
	"log/slog"

	"github.com/riverqueue/river"

	"github.com/vitrine-dev/vitrine/gallery"

	"github.com/vitrine-dev/vitrine/postgres"
	"github.com/vitrine-dev/vitrine/storage"
)

// DeleteObjectsWorker deletes objects that no row refers to. An object that is referenced
// again by the time the job runs (the same bytes uploaded anew) is kept.
type DeleteObjectsWorker struct {
	river.WorkerDefaults[DeleteObjectsArgs]
	DB     *postgres.DB
	Store  storage.Store
	Logger *slog.Logger
}

// Work deletes each unused key; a failure is retried with the whole job (deleting a missing
// object is not an error, so keys done before are harmless to redo).
func (w *DeleteObjectsWorker) Work(ctx context.Context, job *river.Job[DeleteObjectsArgs]) error {
	ctx = gallery.WithCaller(ctx, gallery.Service())
	deleted, kept := 0, 0
	for _, key := range job.Args.Keys {
		ok, err := w.DB.DeleteObjectIfUnused(ctx, key, func(ctx context.Context) error {
			return w.Store.Delete(ctx, key)
		})
		if err != nil {
			return err
		}
		if ok {
			deleted++
		} else {
			kept++
		}
	}
	w.Logger.InfoContext(ctx, "objects deleted", "job_id", job.ID, "deleted", deleted, "kept_in_use", kept)
	return nil
}
