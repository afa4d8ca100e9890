package jobs

import (
	"cmp"
	"context"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
)

// QueueBulkImports is the queue of the jobs that admit the lines of bulk imports.
const QueueBulkImports = "bulk_imports"

// BulkImportArgs asks for the lines of a bulk import to be admitted. A job is unique per
// import among active jobs.
type BulkImportArgs struct {
	ImportID uuid.UUID `json:"import_id" river:"unique"`
}

// Kind names the job in River's table.
func (BulkImportArgs) Kind() string { return "bulk_import" }

// InsertOpts puts the job on the bulk imports queue, unique per import.
func (BulkImportArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		Queue:      QueueBulkImports,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: activeStates},
	}
}

// BulkImportDB is what the bulk import job needs of the database.
type BulkImportDB interface {
	// AdvanceBulkImport admits the next lines of an import while fewer than inFlight of its
	// images are being fetched, and reports whether the import is finished.
	AdvanceBulkImport(ctx context.Context, id uuid.UUID, inFlight int) (finished bool, err error)
}

// BulkImportWorker admits the lines of a bulk import a few at a time: at most InFlight of
// an import's images are being fetched at once, so that a feed of thousands of lines holds
// neither thousands of fetch jobs nor the fetch workers, and the imports of other suppliers
// go on beside it. A job works its import for a Slice, then snoozes to the back of its queue
// (River's JobSnooze, which counts no attempt), so that the queue's few workers take turns
// over every running import.
type BulkImportWorker struct {
	river.WorkerDefaults[BulkImportArgs]
	DB       BulkImportDB
	InFlight int           // an import's images fetched at once (default 8)
	Slice    time.Duration // how long one job works before it yields (default 2s)
	Poll     time.Duration // how often it looks for fetches that ended (default 50ms)
	Logger   *slog.Logger
}

// Work admits lines until the import is finished (the job completes) or its slice is over
// (the job snoozes, to run again at once behind the other imports' jobs).
func (w *BulkImportWorker) Work(ctx context.Context, job *river.Job[BulkImportArgs]) error {
	inFlight, slice, poll := cmp.Or(w.InFlight, 8), cmp.Or(w.Slice, 2*time.Second), cmp.Or(w.Poll, 50*time.Millisecond)
	end := time.Now().Add(slice)
	for {
		finished, err := w.DB.AdvanceBulkImport(ctx, job.Args.ImportID, inFlight)
		if err != nil {
			return err
		}
		if finished {
			w.Logger.InfoContext(ctx, "bulk import finished", "import_id", job.Args.ImportID)
			return nil
		}
		if time.Now().After(end) {
			return river.JobSnooze(0)
		}
		select {
		case <-ctx.Done():
			return river.JobSnooze(0)
		case <-time.After(poll):
		}
	}
}
