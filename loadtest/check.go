package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/postgres"
	"github.com/vitrine-dev/vitrine/storage"
)

// galleryPrefixes are where the objects that image rows name live (staging objects of direct
// uploads are not written until their client sends them).
var galleryPrefixes = []string{"originals/", "variants/"}

// unfinishedJobStates are River's states of a thumbnail job that has not ended.
var unfinishedJobStates = []string{"available", "pending", "scheduled", "retryable", "running"}

// Objects compares the object store with the keys that rows name.
type Objects struct {
	Missing []string             // keys an image row names that are not in the store
	Orphans map[string]time.Time // objects no row names, with the time each was written
}

// AuditObjects lists the store and the keys that rows name. It holds both sets of keys in
// memory: it is meant for the deployments a load test runs against, not for a store of
// millions of objects (the purge walks those). ctx must carry the service role.
func AuditObjects(ctx context.Context, db *postgres.DB, store storage.Store) (Objects, error) {
	named := make(map[string]bool)
	for k, err := range db.ReferencedKeys(ctx, "") {
		if err != nil {
			return Objects{}, err
		}
		named[k] = true
	}
	o := Objects{Orphans: make(map[string]time.Time)}
	stored := make(map[string]bool)
	for obj, err := range store.List(ctx, "", "") {
		if err != nil {
			return Objects{}, fmt.Errorf("listing the store: %w", err)
		}
		if storage.Reserved(obj.Key) {
			continue
		}
		stored[obj.Key] = true
		if !named[obj.Key] {
			o.Orphans[obj.Key] = obj.ModTime
		}
	}
	for k := range named {
		if !stored[k] && slices.ContainsFunc(galleryPrefixes, func(p string) bool { return strings.HasPrefix(k, p) }) {
			o.Missing = append(o.Missing, k)
		}
	}
	slices.Sort(o.Missing)
	return o, nil
}

// CheckOptions says what Check waits for and what it holds the run to.
type CheckOptions struct {
	// Before is the audit of the objects taken before the run: orphans already there are not
	// the run's.
	Before Objects
	// Settle bounds the wait for the thumbnail jobs to end and the object outbox to drain.
	Settle time.Duration
	// Thumbnails: workers run, so every main image must end with its thumbnails.
	Thumbnails bool
	// Waiting, when set, is told what the check still waits for, about once a second.
	Waiting func(string)
}

// Report is the outcome of Check.
type Report struct {
	Products, Images int
	JobsEnded        bool // no thumbnail job was left unfinished
	OutboxDrained    bool
	FailedJobs       int // thumbnail jobs of the run that ended discarded
	NewOrphans       int // unnamed objects written during the run (allowed only where a request went unanswered)
	Violations       []string
}

// OK says whether every invariant held.
func (r *Report) OK() bool { return len(r.Violations) == 0 }

// Print writes the report.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "checked %d products, %d images: thumbnail jobs ended %t, outbox drained %t, %d failed jobs, %d orphans written during the run\n",
		r.Products, r.Images, r.JobsEnded, r.OutboxDrained, r.FailedJobs, r.NewOrphans)
	for _, v := range r.Violations {
		fmt.Fprintln(w, "VIOLATION:", v)
	}
	if r.OK() {
		fmt.Fprintln(w, "every invariant held")
	}
}

// Check waits for the thumbnail jobs to end and the object outbox to drain, then checks the
// invariants against the database and the store: each product's positions are 0..n-1; every
// image acknowledged is there and every image whose delete was acknowledged is not; where no
// write went unanswered, the gallery is in the order last acknowledged; every object a row
// names exists; no object older than the run is named by no row; and, with workers, every
// main image has its thumbnails. It returns an error only when it could not check. ctx must
// carry the service role.
func Check(ctx context.Context, db *postgres.DB, store storage.Store, res *Result, opts CheckOptions) (*Report, error) {
	rep := &Report{}
	rep.Violations = append(rep.Violations, res.Violations...)
	if err := settle(ctx, db, opts, rep); err != nil {
		return nil, err
	}
	if !rep.JobsEnded {
		rep.Violations = append(rep.Violations, fmt.Sprintf("thumbnail jobs were still unfinished after %s", opts.Settle))
	}
	if !rep.OutboxDrained {
		rep.Violations = append(rep.Violations, fmt.Sprintf("the object outbox was not drained after %s", opts.Settle))
	}
	for _, p := range res.Products {
		if err := checkProduct(ctx, db, p, opts.Thumbnails, rep); err != nil {
			return nil, err
		}
	}
	failed, err := db.ThumbnailJobs(ctx, "discarded", 1_000_000)
	if err != nil {
		return nil, err
	}
	for _, j := range failed {
		if j.CreatedAt.After(res.Started) {
			rep.FailedJobs++
		}
	}
	objs, err := AuditObjects(ctx, db, store)
	if err != nil {
		return nil, err
	}
	for _, k := range objs.Missing {
		rep.Violations = append(rep.Violations, "object "+k+" is named by a row but not in the store")
	}
	for k, mod := range objs.Orphans {
		if _, before := opts.Before.Orphans[k]; before {
			continue
		}
		if mod.Before(res.Started) {
			rep.Violations = append(rep.Violations, fmt.Sprintf("object %s, written %s before the run, is named by no row", k, res.Started.Sub(mod).Round(time.Second)))
			continue
		}
		rep.NewOrphans++
	}
	if rep.NewOrphans > 0 && res.Unanswered() == 0 {
		rep.Violations = append(rep.Violations, fmt.Sprintf("%d objects written during the run are named by no row, though every request was answered", rep.NewOrphans))
	}
	return rep, nil
}

// settle waits, up to opts.Settle, for no thumbnail job to be unfinished and the outbox to be
// empty.
func settle(ctx context.Context, db *postgres.DB, opts CheckOptions, rep *Report) error {
	deadline := time.Now().Add(opts.Settle)
	lastSaid := time.Time{}
	for {
		unfinished := 0
		for _, state := range unfinishedJobStates {
			jobs, err := db.ThumbnailJobs(ctx, state, 1000)
			if err != nil {
				return err
			}
			unfinished += len(jobs)
		}
		outbox, err := db.ObjectOutboxStatus(ctx)
		if err != nil {
			return err
		}
		rep.JobsEnded, rep.OutboxDrained = unfinished == 0, outbox.Length == 0
		if rep.JobsEnded && rep.OutboxDrained || time.Now().After(deadline) {
			return nil
		}
		if opts.Waiting != nil && time.Since(lastSaid) >= time.Second {
			opts.Waiting(fmt.Sprintf("waiting for %d thumbnail jobs and %d outbox entries", unfinished, outbox.Length))
			lastSaid = time.Now()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func checkProduct(ctx context.Context, db *postgres.DB, p ProductLedger, thumbnails bool, rep *Report) error {
	images, err := db.Images(ctx, p.ID)
	var ge *gallery.Error
	if errors.As(err, &ge) && ge.Code == gallery.ENOTFOUND {
		if p.Created {
			rep.Violations = append(rep.Violations, fmt.Sprintf("product %s, acknowledged, does not exist", p.ID))
		}
		return nil
	}
	if err != nil {
		return err
	}
	rep.Products++
	rep.Images += len(images)
	bad := func(format string, args ...any) {
		rep.Violations = append(rep.Violations, fmt.Sprintf("product %s: ", p.ID)+fmt.Sprintf(format, args...))
	}
	ids := make([]string, len(images))
	for i, im := range images {
		ids[i] = im.ID.String()
		if im.Order != i {
			bad("image %d of the gallery has position %d", i, im.Order)
		}
	}
	for _, id := range p.Present {
		if !slices.Contains(ids, id.String()) {
			bad("image %s, acknowledged, is missing", id)
		}
	}
	for _, id := range p.Deleted {
		if slices.Contains(ids, id.String()) {
			bad("image %s, whose delete was acknowledged, is there", id)
		}
	}
	if p.Order != nil {
		want := make([]string, len(p.Order))
		for i, id := range p.Order {
			want[i] = id.String()
		}
		if !slices.Equal(ids, want) {
			bad("the gallery is %v, its writer was last acknowledged %v", ids, want)
		}
	}
	// A main image being imported, or whose import failed, has no original to make
	// thumbnails from yet: it is legitimately without them.
	if thumbnails && len(images) > 0 && images[0].Status != gallery.StatusReady &&
		images[0].Status != gallery.StatusImporting && images[0].ImportFailure == "" {
		bad("main image %s has thumbnails %s (%s)", images[0].ID, images[0].Status, images[0].LastError)
	}
	return nil
}

// Unanswered counts the requests that got no answer or a 5xx other than 503: those whose
// effect is not known.
func (r *Result) Unanswered() int {
	n := 0
	for _, rs := range r.Routes {
		for k, v := range rs.Errors {
			if k == noAnswer || (k >= "500" && k != "503") {
				n += v
			}
		}
	}
	return n
}
