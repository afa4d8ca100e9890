package jobs

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/reconcile"
	"github.com/vitrine-dev/vitrine/storage"
)

// PurgeArgs asks for a scheduled run of the orphan purge. River's leader enqueues one every
// PurgeWorker.Every and one whenever it starts leading: River's periodic schedule starts
// afresh with each leader, so the worker decides from the last completed run, recorded in
// PostgreSQL, whether a run is due. That way a run that is overdue starts at boot, and
// frequent restarts do not cause extra runs.
type PurgeArgs struct{}

// Kind names the job in River's table.
func (PurgeArgs) Kind() string { return "purge" }

// InsertOpts puts the job on the objects queue, one active at a time.
func (PurgeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueObjects, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: activeStates}}
}

// PurgeDB is what PurgeWorker needs of the database; the PostgreSQL adapter implements it.
type PurgeDB interface {
	reconcile.DB
	// LastPurgeRun returns the newest run, or the newest completed full run when completed
	// is true; nil when there is none.
	LastPurgeRun(ctx context.Context, completed bool) (*gallery.PurgeRun, error)
}

// PurgeWorker runs the scheduled orphan purge.
type PurgeWorker struct {
	river.WorkerDefaults[PurgeArgs]
	DB     PurgeDB
	Store  storage.Store
	Every  time.Duration // the schedule: a run is due this long after the last completed one
	Grace  time.Duration // objects younger than this are kept
	Logger *slog.Logger
}

// Timeout lets a purge of a large store run for hours.
func (w *PurgeWorker) Timeout(*river.Job[PurgeArgs]) time.Duration { return 12 * time.Hour }

// Work runs the purge if it is due. A run already going on elsewhere makes this one a no-op.
func (w *PurgeWorker) Work(ctx context.Context, job *river.Job[PurgeArgs]) error {
	ctx = gallery.WithCaller(ctx, gallery.Service())
	last, err := w.DB.LastPurgeRun(ctx, true)
	if err != nil {
		return err
	}
	// A little slack, so that the weekly tick right after a boot-time run still runs.
	if last != nil && last.FinishedAt != nil && time.Since(*last.FinishedAt) < w.Every*9/10 {
		w.Logger.InfoContext(ctx, "purge not due", "job_id", job.ID, "last_run", last.ID, "last_finished_at", last.FinishedAt)
		return nil
	}
	run, err := reconcile.Run(ctx, w.DB, w.Store, reconcile.Options{Grace: w.Grace, Trigger: gallery.PurgeBySchedule})
	var ge *gallery.Error
	if errors.As(err, &ge) && ge.Code == gallery.ECONFLICT {
		w.Logger.InfoContext(ctx, "purge already running elsewhere", "job_id", job.ID)
		return nil
	}
	if err != nil {
		return err
	}
	w.Logger.InfoContext(ctx, "purge completed", "job_id", job.ID, "run", run.ID, "scanned", run.ObjectsScanned,
		"orphans", run.Orphans, "deleted", run.Deleted, "bytes_reclaimed", run.BytesReclaimed, "too_young", run.TooYoung)
	return nil
}
