package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/vitrine-dev/vitrine/imaging"
	"github.com/vitrine-dev/vitrine/internal/safehttp"
	"github.com/vitrine-dev/vitrine/jobs"
	"github.com/vitrine-dev/vitrine/postgres"
	"github.com/vitrine-dev/vitrine/storage"
	"github.com/vitrine-dev/vitrine/upload"
)

// app is Vitrine wired together: the database, the object store, libvips and River.
type app struct {
	cfg   config
	log   *slog.Logger
	db    *postgres.DB
	store storage.Store
	jobs  *river.Client[pgx.Tx]
	// uploads takes uploads (for the API) and fetches imports (for the import workers).
	uploads   *upload.Service
	objectURL func(string) string
	// objectLocation, when not nil, is where GET /objects/{key} redirects (objects in S3),
	// cacheable for objectMaxAge.
	objectLocation func(ctx context.Context, key string) (string, error)
	objectMaxAge   time.Duration
	obs            observability
	close          []func()
}

// newApp connects everything. With workers it can work jobs (River started by start),
// otherwise it only inserts them. It migrates the database when it knows the owner's URL
// (VITRINE_MIGRATE_DATABASE_URL, or the private cluster), and logs in as a role that row-level
// security binds. Commands act as the service role.
func newApp(ctx context.Context, cfg config, log *slog.Logger, workers bool) (_ *app, err error) {
	a := &app{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	dbs, err := locateDatabases(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	a.close = append(a.close, dbs.stop)
	if dbs.ownerURL != "" {
		if _, err := migrateWith(ctx, dbs.ownerURL, log); err != nil {
			return nil, err
		}
	}
	obs, flush, err := startObservability(ctx, cfg)
	if err != nil {
		return nil, err
	}
	a.obs = obs
	a.close = append(a.close, flush)
	db, err := openApp(ctx, dbs.appURL)
	if err != nil {
		return nil, err
	}
	a.db = db
	a.close = append(a.close, db.Close)

	objects, err := openStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	a.close = append(a.close, objects.close)
	store := obs.store(objects.store)
	a.store, a.objectURL = store, objects.url
	a.objectLocation, a.objectMaxAge = objects.location, objects.maxAge

	jcfg := jobs.Config{
		MaxAttempts: cfg.JobMaxAttempts, RetryBase: cfg.JobRetryBase, RescueAfter: cfg.JobRescueAfter,
		JobTimeout: cfg.JobRescueAfter * 4 / 5, FetchCooldown: 10 * time.Millisecond, FetchPoll: time.Second,
		Logger: log.With("component", "river"), Middleware: obs.jobMiddleware(),
		WebhookWorkers: cfg.WebhookWorkers, WebhookAttempts: cfg.WebhookAttempts,
	}
	// Gallery writes enqueue their jobs through a client that only inserts; the workers get
	// the database that enqueues, and their own client works the queues.
	enq, err := jobs.NewEnqueuer(db.Pool(), jcfg)
	if err != nil {
		return nil, fmt.Errorf("starting River: %w", err)
	}
	db = db.WithJobs(enq, cfg.ThumbnailsFor)
	a.db = db
	// Uploads being stripped keep what they hold back in unnamed files here.
	spool := filepath.Join(cfg.DataDir, "spool")
	if err := os.MkdirAll(spool, 0o700); err != nil {
		return nil, fmt.Errorf("creating the spool directory: %w", err)
	}
	a.uploads = &upload.Service{
		Store: store, Gallery: db, MaxBytes: cfg.MaxUploadBytes, MaxPixels: cfg.MaxPixels, ObjectURL: a.objectURL,
		MaxPixelsPerByte: cfg.MaxPixelsPerByte, DensityFrom: cfg.DensityFrom,
		KeepMetadata: cfg.KeepMetadata, DirectTTL: cfg.DirectTTL, TempDir: spool, Types: cfg.UploadTypes,
		ImportClient: safehttp.NewClient(safehttp.Options{
			AllowHosts: cfg.ImportAllowHosts, UserAgent: "Vitrine (+image import)", MaxConnsPerHost: cfg.ImportPerHost,
		}),
		ImportTimeout: cfg.ImportTimeout,
	}
	var imports *jobs.ImportWorker
	var thumbs *jobs.ThumbnailWorker
	var outbox *jobs.OutboxWorker
	var purge *jobs.PurgeWorker
	var hooks *jobs.WebhookWorker
	var hookSweep *jobs.WebhookSweepWorker
	var bulk *jobs.BulkImportWorker
	if workers && cfg.Workers > 0 {
		proc, err := imaging.Start(imaging.Config{Concurrency: 1, MaxJobs: cfg.Workers, MemoryBudget: cfg.JobMemoryMiB << 20,
			Observe: obs.imaging()})
		if err != nil {
			return nil, err
		}
		a.close = append(a.close, proc.Close)
		formats := make([]imaging.Format, len(cfg.ThumbnailFormats))
		for i, f := range cfg.ThumbnailFormats {
			formats[i] = imaging.Format(f)
		}
		thumbs = &jobs.ThumbnailWorker{
			DB: db, Store: store, Imaging: proc, Presets: cfg.Presets, Formats: formats,
			DefaultFormat: formats[0], ObjectURL: a.objectURL,
			Logger: log.With("component", "thumbnails"),
		}
		outbox = &jobs.OutboxWorker{DB: db, Store: store, Logger: log.With("component", "outbox")}
		purge = &jobs.PurgeWorker{DB: db, Store: store, Every: cfg.PurgeEvery, Grace: cfg.PurgeGrace,
			Logger: log.With("component", "purge")}
		hooks = &jobs.WebhookWorker{
			DB: db, Client: jobs.NewWebhookClient(cfg.WebhookAllowHosts, cfg.WebhookTimeout),
			AttemptTimeout: cfg.WebhookTimeout, RetryBase: cfg.WebhookRetryBase,
			MaxResponseBytes: jobs.DefaultWebhookResponseBytes, Hosts: jobs.NewHostSlots(cfg.WebhookPerHost),
			Logger: log.With("component", "webhooks"),
		}
		hookSweep = &jobs.WebhookSweepWorker{DB: db, Logger: log.With("component", "webhooks")}
		// A bulk import's job admits its next lines as soon as one of its fetches ends here.
		ended := jobs.NewImportEnded()
		bulk = &jobs.BulkImportWorker{DB: db, Images: a.uploads, InFlight: cfg.ImportInFlight, Ended: ended,
			Logger: log.With("component", "bulk_imports")}
		jcfg.ThumbnailWorkers, jcfg.ObjectWorkers = cfg.Workers, 2
		if cfg.ImportWorkers > 0 {
			imports = &jobs.ImportWorker{Importer: a.uploads, PerHost: cfg.ImportPerHost, Fetch: cfg.ImportTimeout, Ended: ended,
				Logger: log.With("component", "imports")}
			jcfg.ImportWorkers = cfg.ImportWorkers
		}
	}
	client, err := jobs.NewClient(db.Pool(), jcfg, jobs.Workers{Thumbnails: thumbs, Outbox: outbox, Purge: purge, Imports: imports,
		BulkImports: bulk, Webhooks: hooks, WebhookSweep: hookSweep})
	if err != nil {
		return nil, fmt.Errorf("starting River: %w", err)
	}
	a.jobs = client
	return a, nil
}

// startWorkers starts working jobs; the returned function stops fetching, waits for running
// jobs up to the shutdown timeout, then cancels those still running (River rescues them later).
func (a *app) startWorkers(ctx context.Context) (func(), error) {
	stopStatus := jobs.ReportThumbnailStatus(a.jobs, a.db, a.log.With("component", "thumbnails"))
	if err := a.jobs.Start(ctx); err != nil {
		stopStatus()
		return nil, fmt.Errorf("starting workers: %w", err)
	}
	a.log.Info("workers started", "workers", a.cfg.Workers)
	return func() {
		defer stopStatus()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.ShutdownTimeout)
		defer cancel()
		if err := a.jobs.Stop(sctx); err != nil {
			a.log.Warn("jobs still running at the shutdown timeout: cancelling them", "error", err)
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			_ = a.jobs.StopAndCancel(cctx)
		}
		a.log.Info("workers stopped")
	}, nil
}

// Close releases everything, in reverse order of opening.
func (a *app) Close() {
	for i := len(a.close) - 1; i >= 0; i-- {
		a.close[i]()
	}
	a.close = nil
}
