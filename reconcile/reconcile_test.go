package reconcile_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/internal/testimages"
	"github.com/vitrine-dev/vitrine/postgres"
	"github.com/vitrine-dev/vitrine/postgres/pgtest"
	"github.com/vitrine-dev/vitrine/reconcile"
	"github.com/vitrine-dev/vitrine/storage"
	"github.com/vitrine-dev/vitrine/storage/localfs"
	"github.com/vitrine-dev/vitrine/storage/s3store/s3test"
	"github.com/vitrine-dev/vitrine/upload"
)

func TestMain(m *testing.M) {
	code := pgtest.Main(m)
	s3test.Stop()
	os.Exit(code)
}

var serviceCtx = gallery.WithCaller(context.Background(), gallery.Service())

// bundle is a test's Vitrine: a fresh database, a local store whose objects the test can
// age, and the real upload path.
type bundle struct {
	db      *postgres.DB
	dir     string
	store   storage.Store
	uploads *upload.Service
	product uuid.UUID
}

func setup(t *testing.T) *bundle {
	t.Helper()
	db := pgtest.Open(t)
	dir := t.TempDir()
	store, err := localfs.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	p, err := db.CreateProduct(serviceCtx, gallery.Product{SupplierID: uuid.New()})
	if err != nil {
		t.Fatal(err)
	}
	return &bundle{db: db, dir: dir, store: store, product: p.ID, uploads: &upload.Service{
		Store: store, Gallery: db, MaxBytes: 1 << 20, MaxPixels: 1 << 20,
		ObjectURL: func(k string) string { return "/objects/" + k },
	}}
}

// pngOf returns a distinct small real PNG for n.
func pngOf(t testing.TB, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, testimages.Pattern(16+n%97, 8+n/97)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// upload adds an image through the real upload path and returns it.
func (b *bundle) upload(t testing.TB, n int) gallery.Image {
	t.Helper()
	rec, err := b.uploads.Receive(serviceCtx, bytes.NewReader(pngOf(t, n)))
	if err != nil {
		t.Fatal(err)
	}
	im, err := b.uploads.Add(serviceCtx, b.product, rec, "")
	if err != nil {
		t.Fatal(err)
	}
	return im
}

// orphan writes an object no row refers to, last modified age ago.
func (b *bundle) orphan(t testing.TB, key string, size int, age time.Duration) {
	t.Helper()
	if err := storage.Put(serviceCtx, b.store, key, bytes.Repeat([]byte{'x'}, size)); err != nil {
		t.Fatal(err)
	}
	b.age(t, key, age)
}

func (b *bundle) age(t testing.TB, key string, age time.Duration) {
	t.Helper()
	when := time.Now().Add(-age)
	if err := os.Chtimes(filepath.Join(b.dir, key), when, when); err != nil {
		t.Fatal(err)
	}
}

func (b *bundle) keys(t testing.TB) []string {
	t.Helper()
	var keys []string
	for obj, err := range b.store.List(serviceCtx, "", "") {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, obj.Key)
	}
	return keys
}

// world is a store with referenced objects (old and new), old orphans, young orphans and an
// old staging object of a pending direct upload. It returns the keys a purge with a 48h
// grace must keep, sorted, and the old orphans it must delete.
func (b *bundle) world(t *testing.T, orphans int) (keep, doomed []string) {
	t.Helper()
	for i := range 5 {
		im := b.upload(t, i)
		b.age(t, im.StoragePath, 30*24*time.Hour)
		keep = append(keep, im.StoragePath)
	}
	variant := "variants/aa/" + fmt.Sprintf("%064x", 1) + ".webp"
	b.orphan(t, variant, 10, 90*24*time.Hour)
	if _, err := b.db.Pool().Exec(serviceCtx, `UPDATE product_images SET variants = jsonb_build_object('desktop', jsonb_build_object('webp', jsonb_build_object('key', $2::text)))
		WHERE id = (SELECT id FROM product_images WHERE product_id = $1 ORDER BY image_order LIMIT 1)`, b.product, variant); err != nil {
		t.Fatal(err)
	}
	keep = append(keep, variant)
	staging := "uploads/" + uuid.NewString()
	b.orphan(t, staging, 100, 72*time.Hour)
	if _, err := b.db.Pool().Exec(serviceCtx, `INSERT INTO vitrine_uploads (product_id, object_key, expires_at)
		VALUES ($1, $2, now() + interval '1 hour')`, b.product, staging); err != nil {
		t.Fatal(err)
	}
	keep = append(keep, staging)
	for i := range 3 {
		k := fmt.Sprintf("originals/yy/young-%d.png", i)
		b.orphan(t, k, 50, time.Hour)
		keep = append(keep, k)
	}
	for i := range orphans {
		k := fmt.Sprintf("originals/%02x/old-%04d.png", i%256, i)
		b.orphan(t, k, 1000, 49*time.Hour)
		doomed = append(doomed, k)
	}
	slices.Sort(keep)
	slices.Sort(doomed)
	return keep, doomed
}

func TestPurgeDeletesOldOrphansOnly(t *testing.T) {
	t.Parallel()
	b := setup(t)
	keep, doomed := b.world(t, 20)
	opts := reconcile.Options{Grace: 48 * time.Hour, BatchSize: 7}

	// A dry run deletes nothing and reports what the real run then deletes.
	dry, err := reconcile.Run(serviceCtx, b.db, b.store, reconcile.Options{DryRun: true, Grace: opts.Grace})
	if err != nil {
		t.Fatal(err)
	}
	if got := b.keys(t); len(got) != len(keep)+len(doomed) {
		t.Fatalf("a dry run left %d objects, want all %d", len(got), len(keep)+len(doomed))
	}
	real, err := reconcile.Run(serviceCtx, b.db, b.store, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.keys(t); !slices.Equal(got, keep) {
		t.Fatalf("after the purge the store holds\n%v\nwant\n%v", got, keep)
	}
	total := int64(len(keep) + len(doomed))
	if real.ObjectsScanned != total || real.Orphans != 23 || real.TooYoung != 3 || real.Deleted != 20 ||
		real.BytesReclaimed != 20_000 || real.Referenced != 7 || real.KeptInUse != 0 || len(real.SampleKeys) != 10 {
		t.Errorf("report %+v", real)
	}
	if dry.Deleted != real.Deleted || dry.BytesReclaimed != real.BytesReclaimed || !slices.Equal(dry.SampleKeys, real.SampleKeys) ||
		dry.ObjectsScanned != real.ObjectsScanned || !dry.DryRun {
		t.Errorf("the dry run reported %+v, the real run %+v", dry, real)
	}
	for _, k := range real.SampleKeys {
		if _, ok := slices.BinarySearch(doomed, k); !ok {
			t.Errorf("sample key %s was not an old orphan", k)
		}
	}
	last, err := b.db.LastPurgeRun(serviceCtx, true)
	if err != nil || last == nil || last.ID != real.ID || last.Status != gallery.PurgeCompleted || last.Deleted != 20 || last.Grace != 48*time.Hour {
		t.Fatalf("recorded run %+v, %v; want run %d completed", last, err, real.ID)
	}
	again, err := reconcile.Run(serviceCtx, b.db, b.store, opts)
	if err != nil || again.Deleted != 0 || again.Orphans != 3 {
		t.Fatalf("a second run: %+v, %v", again, err)
	}
}

func TestPurgeOnlyUnderPrefix(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.orphan(t, "originals/aa/x.png", 1, 100*time.Hour)
	b.orphan(t, "variants/aa/x.webp", 1, 100*time.Hour)
	run, err := reconcile.Run(serviceCtx, b.db, b.store, reconcile.Options{Grace: time.Hour, Prefix: "variants/"})
	if err != nil || run.Deleted != 1 || run.ObjectsScanned != 1 {
		t.Fatalf("%+v, %v", run, err)
	}
	if got := b.keys(t); !slices.Equal(got, []string{"originals/aa/x.png"}) {
		t.Fatalf("store %v", got)
	}
}

// TestPurgeLeavesReservedKeysAlone: an object under storage.ReservedPrefix (a probe of
// `vitrine doctor`) is no gallery object, however old: the purge neither counts nor deletes it.
func TestPurgeLeavesReservedKeysAlone(t *testing.T) {
	t.Parallel()
	b := setup(t)
	probe := storage.ReservedPrefix + "-probe-0123"
	b.orphan(t, probe, 3, 100*time.Hour)
	b.orphan(t, "originals/aa/x.png", 1, 100*time.Hour)
	run, err := reconcile.Run(serviceCtx, b.db, b.store, reconcile.Options{Grace: time.Hour})
	if err != nil || run.Deleted != 1 || run.ObjectsScanned != 1 || run.Orphans != 1 {
		t.Fatalf("%+v, %v", run, err)
	}
	if got := b.keys(t); !slices.Equal(got, []string{probe}) {
		t.Fatalf("store %v", got)
	}
}

// killingStore cancels the run's context after some deletes, as a killed process stops.
type killingStore struct {
	storage.Store
	mu      sync.Mutex
	left    int
	cancel  context.CancelFunc
	deleted int
}

func (s *killingStore) Delete(ctx context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.left == 0 {
		s.cancel()
		return ctx.Err()
	}
	s.left--
	s.deleted++
	return s.Store.Delete(ctx, key)
}

func TestPurgeStoppedMidwayThenRunAgainEndsClean(t *testing.T) {
	t.Parallel()
	b := setup(t)
	keep, doomed := b.world(t, 60)
	ctx, cancel := context.WithCancel(serviceCtx)
	defer cancel()
	killer := &killingStore{Store: b.store, left: 25, cancel: cancel}
	first, err := reconcile.Run(ctx, b.db, killer, reconcile.Options{Grace: 48 * time.Hour, BatchSize: 10})
	if err == nil {
		t.Fatal("the stopped run reported no error")
	}
	if first.Status != gallery.PurgeFailed || killer.deleted != 25 {
		t.Fatalf("stopped run: %+v after %d deletes", first, killer.deleted)
	}
	if got := b.keys(t); len(got) != len(keep)+len(doomed)-25 {
		t.Fatalf("%d objects left after the stopped run, want %d", len(got), len(keep)+len(doomed)-25)
	}
	// A process killed outright leaves its run 'running'; the next run marks it interrupted.
	if _, err := b.db.Pool().Exec(serviceCtx, `INSERT INTO vitrine_purge_runs (trigger, dry_run, grace) VALUES ('schedule', false, '48 hours')`); err != nil {
		t.Fatal(err)
	}
	second, err := reconcile.Run(serviceCtx, b.db, b.store, reconcile.Options{Grace: 48 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if got := b.keys(t); !slices.Equal(got, keep) {
		t.Fatalf("after the second run the store holds %v, want %v", got, keep)
	}
	if second.Deleted != int64(len(doomed)-25) {
		t.Errorf("second run deleted %d, want the %d left", second.Deleted, len(doomed)-25)
	}
	var statuses []string
	if err := b.db.Pool().QueryRow(serviceCtx, `SELECT array_agg(status ORDER BY id) FROM vitrine_purge_runs`).Scan(&statuses); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(statuses, []string{gallery.PurgeFailed, gallery.PurgeInterrupted, gallery.PurgeCompleted}) {
		t.Fatalf("run statuses %v", statuses)
	}
}

func TestOnlyOnePurgeRunsAtOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	release, err := b.db.LockPurge(serviceCtx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = reconcile.Run(serviceCtx, b.db, b.store, reconcile.Options{Grace: time.Hour})
	var ge *gallery.Error
	if !errors.As(err, &ge) || ge.Code != gallery.ECONFLICT {
		t.Fatalf("a second purge: %v, want a conflict", err)
	}
	release()
	if _, err := reconcile.Run(serviceCtx, b.db, b.store, reconcile.Options{Grace: time.Hour}); err != nil {
		t.Fatal(err)
	}
}

// TestPurgeRacingUploadsDeletesNoneOfThem runs purges with no grace period at all, back to
// back, while 100 uploads go on at once: every uploaded image's original must still exist
// afterwards (invariant 2), which only the key locks can ensure.
func TestPurgeRacingUploadsDeletesNoneOfThem(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for i := range 50 {
		b.orphan(t, fmt.Sprintf("originals/zz/old-%d.png", i), 10, time.Hour)
	}
	var wg sync.WaitGroup
	images := make([]gallery.Image, 100)
	start := make(chan struct{})
	for i := range images {
		wg.Go(func() {
			<-start
			images[i] = b.upload(t, 1000+i)
		})
	}
	done := make(chan struct{})
	var runs []gallery.PurgeRun
	purgeErr := make(chan error, 1)
	go func() {
		defer close(purgeErr)
		for {
			run, err := reconcile.Run(serviceCtx, b.db, b.store, reconcile.Options{BatchSize: 3})
			if err != nil {
				purgeErr <- err
				return
			}
			runs = append(runs, run)
			select {
			case <-done:
				return
			default:
			}
		}
	}()
	close(start)
	wg.Wait()
	close(done)
	if err := <-purgeErr; err != nil {
		t.Fatal(err)
	}
	// One more, after the uploads: it must not delete them either.
	run, err := reconcile.Run(serviceCtx, b.db, b.store, reconcile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	runs = append(runs, run)
	t.Logf("%d purges ran", len(runs))
	for _, im := range images {
		if _, err := b.store.Stat(serviceCtx, im.StoragePath); err != nil {
			t.Errorf("image %s: its original %s: %v", im.ID, im.StoragePath, err)
		}
	}
	var deleted int64
	for _, r := range runs {
		deleted += r.Deleted
	}
	if deleted != 50 {
		t.Errorf("the purges deleted %d objects, want the 50 orphans", deleted)
	}
	if n := len(b.keys(t)); n != 100 {
		t.Errorf("%d objects left, want the 100 originals", n)
	}
}

// TestPurgeOnABucket runs the purge against a real S3 server (versitygw): the listing's
// order and pagination are the bucket's, and the deletes go through the S3 API.
func TestPurgeOnABucket(t *testing.T) {
	t.Parallel()
	b := setup(t)
	bucket := s3test.NewStore(t)
	b.store, b.uploads.Store = bucket, bucket
	var keep []string
	for i := range 3 {
		keep = append(keep, b.upload(t, i).StoragePath)
	}
	var doomed []string
	for i := range 5 {
		k := fmt.Sprintf("variants/%02x/gone-%d.webp", i*50, i)
		if err := storage.Put(serviceCtx, bucket, k, []byte("orphan")); err != nil {
			t.Fatal(err)
		}
		doomed = append(doomed, k)
	}
	run, err := reconcile.Run(serviceCtx, b.db, bucket, reconcile.Options{Grace: 0})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keep)
	if got := b.keys(t); !slices.Equal(got, keep) || run.Deleted != 5 || run.Referenced != 3 {
		t.Fatalf("bucket holds %v after %+v; want %v", got, run, keep)
	}
}
