package jobs_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/imaging"
	"github.com/vitrine-dev/vitrine/internal/safehttp"
	"github.com/vitrine-dev/vitrine/jobs"
	"github.com/vitrine-dev/vitrine/postgres"
	"github.com/vitrine-dev/vitrine/postgres/pgtest"
	"github.com/vitrine-dev/vitrine/storage/localfs"
	"github.com/vitrine-dev/vitrine/storage/storagetest"
	"github.com/vitrine-dev/vitrine/upload"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// processor is the one libvips of the test binary.
var processor = func() *imaging.Processor {
	p, err := imaging.Start(imaging.Config{Concurrency: 1, MaxJobs: 2})
	if err != nil {
		panic(err)
	}
	return p
}()

// bundle is a test's Vitrine: a fresh database, a store that can be made to fail, the
// thumbnail and delete workers and a River client (not started unless the test starts it).
type bundle struct {
	db      *postgres.DB
	store   *storagetest.Faulty
	client  *river.Client[pgx.Tx]
	thumbs  *jobs.ThumbnailWorker
	uploads *upload.Service
	log     *slog.Logger
}

func setup(t testing.TB, policy gallery.ThumbnailsFor) *bundle {
	t.Helper()
	db := pgtest.Open(t)
	local, err := localfs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { local.Close() })
	store := &storagetest.Faulty{Store: local}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	objectURL := func(key string) string { return "http://test/objects/" + key }
	enq, err := jobs.NewEnqueuer(db.Pool(), jobs.Config{MaxAttempts: 10, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	db = db.WithJobs(enq, policy)
	thumbs := &jobs.ThumbnailWorker{
		DB: db, Store: store, Imaging: processor, Presets: gallery.DefaultPresets(),
		Formats: []imaging.Format{"webp", "jpeg"}, DefaultFormat: "webp",
		ObjectURL: objectURL, Logger: log,
	}
	b := &bundle{db: db, store: store, thumbs: thumbs, log: log, uploads: &upload.Service{
		Store: store, Gallery: db, MaxBytes: 25 << 20, MaxPixels: 50_000_000, ObjectURL: objectURL,
		// The sources of these tests are httptest servers on loopback.
		ImportClient: safehttp.NewClient(safehttp.Options{AllowHosts: []string{"127.0.0.1"}}), ImportTimeout: 30 * time.Second,
	}}
	client := b.newClient(t, nil)
	b.client = client
	return b
}

// newClient returns a River client working the bundle's queues, with purge as its scheduled
// purge (nil: none).
func (b *bundle) newClient(t testing.TB, purge *jobs.PurgeWorker) *river.Client[pgx.Tx] {
	t.Helper()
	client, err := jobs.NewClient(b.db.Pool(), jobs.Config{
		ThumbnailWorkers: 2, ObjectWorkers: 1, MaxAttempts: 10, RetryBase: 50 * time.Millisecond,
		RescueAfter: time.Minute, JobTimeout: 30 * time.Second, FetchCooldown: 10 * time.Millisecond,
		FetchPoll: 100 * time.Millisecond, Logger: b.log,
	}, jobs.Workers{Thumbnails: b.thumbs, Outbox: &jobs.OutboxWorker{DB: b.db, Store: b.store, Logger: b.log}, Purge: purge,
		Imports: &jobs.ImportWorker{Importer: b.uploads, PerHost: 2, Fetch: 30 * time.Second, Snooze: 50 * time.Millisecond, Logger: b.log}})
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// start works jobs until the test ends.
func (b *bundle) start(t testing.TB) {
	t.Helper()
	startClient(t, b.client)
}

// startClient works jobs with client until the test ends.
func startClient(t testing.TB, client *river.Client[pgx.Tx]) {
	t.Helper()
	ctx, cancel := context.WithCancel(serviceCtx)
	if err := client.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(serviceCtx, 30*time.Second)
		defer scancel()
		client.Stop(sctx)
		cancel()
	})
}

func photo(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "src", "image", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (b *bundle) product(t testing.TB) uuid.UUID {
	t.Helper()
	p, err := b.db.CreateProduct(serviceCtx, gallery.Product{SupplierID: uuid.New()})
	if err != nil {
		t.Fatal(err)
	}
	return p.ID
}

// upload sends data through the real upload path: streamed checks, publish, row and job.
func (b *bundle) upload(t testing.TB, productID uuid.UUID, data []byte) gallery.Image {
	t.Helper()
	ctx := serviceCtx
	rec, err := b.uploads.Receive(ctx, bytesReader(data))
	if err != nil {
		t.Fatal(err)
	}
	im, err := b.uploads.Add(ctx, productID, rec, "")
	if err != nil {
		t.Fatal(err)
	}
	return im
}

// waitFor polls the image until cond holds, failing the test after a minute.
func (b *bundle) waitFor(t *testing.T, id uuid.UUID, what string, cond func(gallery.Image) bool) gallery.Image {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		im, err := b.db.Image(serviceCtx, id)
		if err != nil {
			t.Fatal(err)
		}
		if cond(im) {
			return im
		}
		if time.Now().After(deadline) {
			t.Fatalf("image %s never became %s: %+v", id, what, im)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// objectKeys lists every object in the store under prefix.
func (b *bundle) objectKeys(t *testing.T, prefix string) []string {
	t.Helper()
	var keys []string
	for obj, err := range b.store.List(serviceCtx, prefix, "") {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, obj.Key)
	}
	return keys
}

// jobRows returns the thumbnail jobs of an image from the image_thumbnail_jobs view.
func (b *bundle) jobRows(t *testing.T, imageID uuid.UUID) []postgres.ThumbnailJob {
	t.Helper()
	all, err := b.db.ThumbnailJobs(serviceCtx, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []postgres.ThumbnailJob
	for _, j := range all {
		if j.ImageID == imageID {
			out = append(out, j)
		}
	}
	return out
}

func sleepBriefly() { time.Sleep(20 * time.Millisecond) }

// waitJob waits until the image's newest thumbnail job is in state, and returns its jobs.
func (b *bundle) waitJob(t *testing.T, imageID uuid.UUID, state string) []postgres.ThumbnailJob {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		js := b.jobRows(t, imageID)
		if len(js) > 0 && js[0].State == state {
			return js
		}
		if time.Now().After(deadline) {
			t.Fatalf("the jobs of image %s never reached %s: %+v", imageID, state, js)
		}
		sleepBriefly()
	}
}

// serviceCtx acts as the service role, as workers do.
var serviceCtx = gallery.WithCaller(context.Background(), gallery.Service())

// holdFirstVariant makes the first job to store a variant stop just before it does: held is
// closed when it gets there, and it goes on once release is closed.
func (b *bundle) holdFirstVariant() (held, release chan struct{}) {
	held, release = make(chan struct{}), make(chan struct{})
	var once sync.Once
	b.store.BeforeCommit = func(ctx context.Context, key string) {
		if strings.HasPrefix(key, jobs.VariantsPrefix+"/") {
			once.Do(func() { close(held); <-release })
		}
	}
	return held, release
}
