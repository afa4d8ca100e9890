package jobs

import (
	"cmp"
	"context"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/vitrine-dev/vitrine/gallery"
)

// QueueBulkImports is the queue of the jobs that admit the lines of bulk imports.
const QueueBulkImports = gallery.BulkImportQueue

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

// BulkImportDB is what the bulk import job needs of the database; postgres.DB implements it.
// Each method acts as the caller its context carries.
type BulkImportDB interface {
	NextBulkImportLines(ctx context.Context, id uuid.UUID, inFlight int) (gallery.BulkImportBatch, error)
	FailBulkImportLine(ctx context.Context, id uuid.UUID, line int, cause error) error
	FinishBulkImport(ctx context.Context, id uuid.UUID) (bool, error)
	EnsureProductByRef(ctx context.Context, supplier uuid.UUID, ref string) (gallery.Product, error)
	// BulkImportsWaiting reports whether the jobs of other imports wait for a worker.
	BulkImportsWaiting(ctx context.Context) (bool, error)
}

// ImageImporter starts imports of images by URL (their importing rows and their fetch jobs,
// in one transaction), each import's result at its index, and returns an error only when
// none was made; upload.Service implements it.
type ImageImporter interface {
	ImportMany(ctx context.Context, ins []gallery.NewImport) ([]gallery.ImportResult, error)
}

// BulkImportWorker admits the lines of a bulk import a few at a time: at most InFlight of
// an import's images are being fetched at once, so that a feed of thousands of lines holds
// neither thousands of fetch jobs nor the fetch workers, and the imports of other suppliers
// go on beside it. A job works its import for a Slice at least, then, if other imports' jobs
// wait for a worker, snoozes to the back of its queue (River's JobSnooze, which counts no
// attempt), so that the queue's few workers take turns over every running import; alone, it
// goes on (a snoozed job waits for River's next fetch of its queue, up to a second).
//
// A line is admitted as the import's supplier, so that row-level security decides which
// products it may name: its product is found by id, or by external reference (created when
// the supplier has none with it), and its image is made by Images.ImportMany, which is
// idempotent per product and source URL, so that a feed sent again after a crash makes no
// duplicate. The lines admitted together have their images made, and their fetch jobs
// enqueued, in one transaction. A line given a position takes it, or the gallery's end when the gallery is
// shorter. A line refused (unknown product, another supplier's) is failed with the reason.
type BulkImportWorker struct {
	river.WorkerDefaults[BulkImportArgs]
	DB       BulkImportDB
	Images   ImageImporter
	InFlight int           // an import's images fetched at once (default 8)
	Slice    time.Duration // how long one job works before it yields to others (default 2s)
	Poll     time.Duration // how often it looks for fetches that ended (default 10ms)
	// Ended, shared with the process's ImportWorker, wakes the job when one of its fetches
	// ends, before its next poll (nil: it polls only).
	Ended  *ImportEnded
	Logger *slog.Logger
}

// Work admits lines until the import is finished (the job completes), or its slice is over
// and other imports wait (the job snoozes, to run again at once behind their jobs).
func (w *BulkImportWorker) Work(ctx context.Context, job *river.Job[BulkImportArgs]) error {
	ctx = gallery.WithCaller(ctx, gallery.Service())
	inFlight, slice, poll := cmp.Or(w.InFlight, 8), cmp.Or(w.Slice, 2*time.Second), cmp.Or(w.Poll, 10*time.Millisecond)
	start := time.Now()
	end := start.Add(slice)
	for {
		ended := w.Ended.Next() // before advance reads the fetches, so that none ends unseen
		finished, err := w.advance(ctx, job.Args.ImportID, inFlight)
		if err != nil && ctx.Err() != nil {
			return river.JobSnooze(0) // stopped (shutdown, or the job's time is up): no attempt lost
		}
		if err != nil {
			return err
		}
		if finished {
			w.Logger.InfoContext(ctx, "bulk import finished", "import_id", job.Args.ImportID)
			return nil
		}
		if now := time.Now(); now.After(end) {
			// Alone, the job goes on, but not past maxRun, well within River's job timeout.
			waiting, err := w.DB.BulkImportsWaiting(ctx)
			if err != nil {
				return err
			}
			if waiting || now.Sub(start) > maxRun {
				return river.JobSnooze(0)
			}
			end = now.Add(slice)
		}
		select {
		case <-ctx.Done():
			return river.JobSnooze(0)
		case <-ended:
		case <-time.After(poll):
		}
	}
}

// maxRun bounds one run of an import's job, which then snoozes (and runs again at once).
const maxRun = time.Minute

// advance admits the lines that make the import's fetches inFlight, and reports whether the
// import is finished.
func (w *BulkImportWorker) advance(ctx context.Context, id uuid.UUID, inFlight int) (bool, error) {
	b, err := w.DB.NextBulkImportLines(ctx, id, inFlight)
	if err != nil || b.Finished {
		return b.Finished, err
	}
	as := gallery.Service()
	if b.SupplierID != uuid.Nil {
		as = gallery.Supplier(b.SupplierID)
	}
	// The lines' images are made in one transaction (ImageImporter.ImportMany), each
	// product's in line order (their order in its gallery), which records the admitted lines
	// too (NewImport.Line). A line refused for its own input is failed alone; a failure that
	// is not the line's (the database, writes paused for maintenance) leaves every line
	// queued, for the job's retry.
	actx := gallery.WithCaller(ctx, as)
	var (
		ins  []gallery.NewImport
		from []gallery.BulkImportLine
		refs = map[string]uuid.UUID{}
	)
	for _, l := range b.Lines {
		productID := l.ProductID
		if l.ExternalRef != "" {
			var err error
			if productID, err = w.productByRef(actx, b.SupplierID, l.ExternalRef, refs); err != nil {
				if err := w.refuse(ctx, id, l, err); err != nil {
					return false, err
				}
				continue
			}
		}
		ins = append(ins, gallery.NewImport{ProductID: productID, SourceURL: l.SourceURL, Alt: l.Alt, Position: l.Position,
			ClampPosition: true, Line: &gallery.ImportLineRef{ImportID: id, Line: l.Line}})
		from = append(from, l)
	}
	if len(ins) > 0 {
		res, err := w.Images.ImportMany(actx, ins)
		if err != nil {
			return false, err
		}
		for i, r := range res {
			if r.Err != nil {
				if err := w.refuse(ctx, id, from[i], r.Err); err != nil {
					return false, err
				}
			}
		}
	}
	if len(b.Lines) > 0 || b.Fetching > 0 {
		return false, nil
	}
	return w.DB.FinishBulkImport(ctx, id)
}

// productByRef finds (or makes) the supplier's product with an external reference, once per
// reference in one batch of lines (refs).
func (w *BulkImportWorker) productByRef(ctx context.Context, supplier uuid.UUID, ref string, refs map[string]uuid.UUID) (uuid.UUID, error) {
	if id, ok := refs[ref]; ok {
		return id, nil
	}
	if supplier == uuid.Nil {
		return uuid.Nil, gallery.Errorf(gallery.EINVALID, "external_ref names a supplier's product: the import names no supplier")
	}
	p, err := w.DB.EnsureProductByRef(ctx, supplier, ref)
	if err != nil {
		return uuid.Nil, err
	}
	refs[ref] = p.ID
	return p.ID, nil
}

// refuse fails a line refused for cause, unless cause is no fault of the line
// (gallery.Transient): then it returns cause, and the line stays queued.
func (w *BulkImportWorker) refuse(ctx context.Context, id uuid.UUID, l gallery.BulkImportLine, cause error) error {
	if gallery.Transient(cause) {
		return cause
	}
	return w.DB.FailBulkImportLine(ctx, id, l.Line, cause)
}
