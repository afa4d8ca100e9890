// Package reconcile is Vitrine's orphan purge: it walks the object store's keys and the keys
// PostgreSQL refers to, both in ascending byte order, merges the two streams, and deletes the
// objects that no row refers to and that are older than a grace period.
//
// Memory stays flat however many objects there are: both sides are streamed, and only a
// small batch of deletion candidates is held at a time. Safety does not rest on the listing,
// which is stale by the time it is read: each candidate is deleted only under its key's
// exclusive lock after checking again that no row refers to it (DB.DeleteUnusedObjects),
// and writers publish an object and insert the row naming it under the same lock, shared. The
// grace period protects what the locks cannot see: an object written by a transaction that
// has not inserted its row yet.
package reconcile

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/storage"
)

// DB is what the reconciler needs of the database; the PostgreSQL adapter implements it.
type DB interface {
	// LockPurge takes the lock one run holds for its length, or answers a conflict error when
	// another run holds it.
	LockPurge(ctx context.Context) (release func(), err error)
	// StartPurgeRun records a run as running and fills in its id and start time.
	StartPurgeRun(ctx context.Context, run *gallery.PurgeRun) error
	// FinishPurgeRun records the end of a run.
	FinishPurgeRun(ctx context.Context, run *gallery.PurgeRun) error
	// ReferencedKeys yields, in ascending byte order, every object key under prefix that a
	// row refers to.
	ReferencedKeys(ctx context.Context, prefix string) iter.Seq2[string, error]
	// DeleteUnusedObjects deletes through del those of keys that no row refers to, under
	// each key's exclusive lock, and returns them.
	DeleteUnusedObjects(ctx context.Context, keys []string, del func(ctx context.Context, keys []string) error) ([]string, error)
}

// Options says what one run does.
type Options struct {
	DryRun  bool          // count what would be deleted, delete nothing
	Grace   time.Duration // objects younger than this are kept (never negative)
	Prefix  string        // only keys starting with this
	Trigger string        // gallery.PurgeByCommand or gallery.PurgeBySchedule
	// Progress, when set, is called with the counts so far every ProgressEvery objects.
	Progress      func(gallery.PurgeRun)
	ProgressEvery int
	// BatchSize is how many candidates are deleted per transaction (default 256).
	BatchSize int
}

// sampleSize is how many deleted keys a report keeps.
const sampleSize = 10

// Run runs the reconciler once: it takes the purge lock (a conflict error if another run
// holds it), records the run in PostgreSQL when it starts and when it ends, and returns its
// report. A run that fails midway has deleted only orphans; running again finishes the job.
// ctx must carry the service role.
func Run(ctx context.Context, db DB, store storage.Store, opts Options) (gallery.PurgeRun, error) {
	run := gallery.PurgeRun{Trigger: opts.Trigger, DryRun: opts.DryRun, Grace: opts.Grace, Prefix: opts.Prefix, SampleKeys: []string{}}
	if opts.Grace < 0 {
		return run, gallery.Errorf(gallery.EINVALID, "the grace period must not be negative")
	}
	if opts.Trigger == "" {
		run.Trigger = gallery.PurgeByCommand
	}
	release, err := db.LockPurge(ctx)
	if err != nil {
		return run, err
	}
	defer release()
	if err := db.StartPurgeRun(ctx, &run); err != nil {
		return run, err
	}
	err = scan(ctx, db, store, opts, &run)
	run.Status = gallery.PurgeCompleted
	if err != nil {
		run.Status, run.Error = gallery.PurgeFailed, err.Error()
	}
	// Record the end even when ctx is cancelled (an interrupted command).
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if ferr := db.FinishPurgeRun(fctx, &run); ferr != nil {
		err = errors.Join(err, ferr)
	}
	now := time.Now()
	run.FinishedAt = &now
	return run, err
}

// scan merges the two sorted streams and deletes (or counts) the old orphans.
func scan(ctx context.Context, db DB, store storage.Store, opts Options, run *gallery.PurgeRun) error {
	batchSize := opts.BatchSize
	if batchSize <= 0 {
		batchSize = 256
	}
	// Listing starts after the referenced keys' query, so an object written after that
	// query's snapshot may show up unreferenced: the lock check and the grace period keep it.
	nextRef, stopRef := iter.Pull2(db.ReferencedKeys(ctx, opts.Prefix))
	defer stopRef()
	ref, refOK, err := pull(nextRef)
	if err != nil {
		return err
	}
	cutoff := time.Now().Add(-opts.Grace)
	var batch []storage.ObjectInfo
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := deleteBatch(ctx, db, store, opts.DryRun, batch, run)
		batch = batch[:0]
		return err
	}
	for obj, err := range store.List(ctx, opts.Prefix, "") {
		if err != nil {
			return fmt.Errorf("listing the store: %w", err)
		}
		if storage.Reserved(obj.Key) {
			continue // Vitrine's own probe objects are no gallery objects, orphaned or not
		}
		run.ObjectsScanned++
		run.BytesScanned += obj.Size
		for refOK && ref < obj.Key {
			if ref, refOK, err = pull(nextRef); err != nil {
				return err
			}
		}
		if opts.Progress != nil && opts.ProgressEvery > 0 && run.ObjectsScanned%int64(opts.ProgressEvery) == 0 {
			opts.Progress(*run)
		}
		if refOK && ref == obj.Key {
			run.Referenced++
			continue
		}
		run.Orphans++
		if obj.ModTime.After(cutoff) {
			run.TooYoung++
			continue
		}
		batch = append(batch, obj)
		if len(batch) >= batchSize {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if opts.Progress != nil {
		opts.Progress(*run)
	}
	return nil
}

func pull(next func() (string, error, bool)) (string, bool, error) {
	k, err, ok := next()
	if err != nil {
		return "", false, err
	}
	return k, ok, nil
}

// deleteBatch deletes the batch's objects that are still unused, or counts them in a dry run.
func deleteBatch(ctx context.Context, db DB, store storage.Store, dryRun bool, batch []storage.ObjectInfo, run *gallery.PurgeRun) error {
	sizes := make(map[string]int64, len(batch))
	keys := make([]string, len(batch))
	for i, obj := range batch {
		sizes[obj.Key] = obj.Size
		keys[i] = obj.Key
	}
	deleted := keys
	if !dryRun {
		var err error
		del := func(ctx context.Context, keys []string) error { return storage.DeleteAll(ctx, store, keys) }
		if deleted, err = db.DeleteUnusedObjects(ctx, keys, del); err != nil {
			return err
		}
	}
	run.KeptInUse += int64(len(keys) - len(deleted))
	for _, k := range deleted {
		run.Deleted++
		run.BytesReclaimed += sizes[k]
		if len(run.SampleKeys) < sampleSize {
			run.SampleKeys = append(run.SampleKeys, k)
		}
	}
	return nil
}
