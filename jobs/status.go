package jobs

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/vitrine-dev/vitrine/gallery"
)

// StatusDB is what the thumbnail status events need of the database; the PostgreSQL adapter
// implements it.
type StatusDB interface {
	// RecordImageStatus records that an image's thumbnail status changed, and notifies the
	// streams of its product.
	RecordImageStatus(ctx context.Context, imageID uuid.UUID) error
}

// statusTimeout bounds the recording of one status change.
const statusTimeout = 10 * time.Second

// ReportThumbnailStatus records a status event for the image of every thumbnail job that
// client finishes (completed, failed and to be retried or for good, cancelled), once River has
// stored the job's new state, so that the streams of the image's product read its new status.
// (A job that starts records its own event, see ThumbnailWorker.Work.) It must be called before
// the client starts; the returned function stops it, and it stops with the client too.
func ReportThumbnailStatus(client *river.Client[pgx.Tx], db StatusDB, log *slog.Logger) (stop func()) {
	events, cancel := client.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed, river.EventKindJobCancelled)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range events {
			if ev.Job == nil || ev.Job.Kind != gallery.ThumbnailJobKind {
				continue
			}
			var args ThumbnailArgs
			if err := json.Unmarshal(ev.Job.EncodedArgs, &args); err != nil {
				log.Warn("thumbnail job with arguments that do not decode", "job_id", ev.Job.ID, "error", err)
				continue
			}
			ctx, cancelCtx := context.WithTimeout(context.Background(), statusTimeout)
			if err := db.RecordImageStatus(ctx, args.ImageID); err != nil {
				log.Warn("recording a thumbnail status event", "job_id", ev.Job.ID, "image_id", args.ImageID, "error", err)
			}
			cancelCtx()
		}
	}()
	return func() {
		cancel()
		<-done
	}
}
