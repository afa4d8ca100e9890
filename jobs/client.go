package jobs

import (
	"cmp"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
)

// Config is how Vitrine runs River.
type Config struct {
	ThumbnailWorkers int           // thumbnail jobs worked at once by this process; 0 inserts only
	ObjectWorkers    int           // delete jobs worked at once by this process
	ImportWorkers    int           // import jobs worked at once by this process (default 4)
	WebhookWorkers   int           // webhook deliveries sent at once by this process (default 8)
	WebhookAttempts  int           // attempts of a webhook delivery before it is failed (default 8)
	MaxAttempts      int           // attempts before a job is discarded (default 10)
	RetryBase        time.Duration // the first retry's delay; each next one doubles, up to an hour
	RescueAfter      time.Duration // a running job is rescued once it has run this long without finishing (its process died)
	JobTimeout       time.Duration // one attempt's limit
	FetchCooldown    time.Duration // the least time between two fetches of a queue
	FetchPoll        time.Duration // the fallback poll when no notification arrives
	Logger           *slog.Logger
	// Middleware runs around every insert and every job worked, after the one that carries a
	// request's id and trace into its jobs (metrics, tracing).
	Middleware []rivertype.Middleware
}

// Workers are the workers of a process that works jobs.
type Workers struct {
	Thumbnails *ThumbnailWorker
	Outbox     *OutboxWorker
	Purge      *PurgeWorker  // nil, or Every 0: no scheduled purge
	Imports    *ImportWorker // nil: this process works no imports
	// Webhooks and WebhookSweep send webhook deliveries; nil: this process sends none.
	Webhooks     *WebhookWorker
	WebhookSweep *WebhookSweepWorker
	// BulkImports admits the lines of bulk imports, BulkImportWorkers (default 2) at once.
	BulkImports       *BulkImportWorker
	BulkImportWorkers int
}

// webhookSweep is how often the leader enqueues the scheduling of the webhook deliveries
// that plain SQL writes recorded (Vitrine's own writes schedule theirs themselves).
const webhookSweep = 15 * time.Second

// outboxSweep is how often the leader enqueues a drain of the object outbox for the keys
// that plain SQL writes put there (Vitrine's own writes enqueue one themselves).
const outboxSweep = time.Minute

// NewClient returns a River client for Vitrine's jobs. With workers (cfg.ThumbnailWorkers >
// 0) it works the queues once started, and its leader enqueues the periodic jobs; without,
// it only inserts.
func NewClient(pool *pgxpool.Pool, cfg Config, w Workers) (*river.Client[pgx.Tx], error) {
	rc := riverConfig(cfg)
	if cfg.ThumbnailWorkers > 0 {
		workers := river.NewWorkers()
		river.AddWorker(workers, w.Thumbnails)
		river.AddWorker(workers, w.Outbox)
		if w.Purge != nil {
			river.AddWorker(workers, w.Purge)
		}
		if w.BulkImports != nil {
			river.AddWorker(workers, w.BulkImports)
		}
		rc.Workers = workers
		rc.Queues = map[string]river.QueueConfig{
			QueueThumbnails: {MaxWorkers: cfg.ThumbnailWorkers},
			QueueObjects:    {MaxWorkers: max(cfg.ObjectWorkers, 1)},
		}
		if w.Imports != nil {
			river.AddWorker(workers, w.Imports)
			n := cfg.ImportWorkers
			if n <= 0 {
				n = 4
			}
			rc.Queues[QueueImports] = river.QueueConfig{MaxWorkers: n}
		}
		if w.Webhooks != nil {
			river.AddWorker(workers, w.Webhooks)
			river.AddWorker(workers, w.WebhookSweep)
			rc.Queues[QueueWebhooks] = river.QueueConfig{MaxWorkers: cmp.Or(cfg.WebhookWorkers, 8)}
			rc.PeriodicJobs = append(rc.PeriodicJobs, river.NewPeriodicJob(river.PeriodicInterval(webhookSweep),
				func() (river.JobArgs, *river.InsertOpts) { return WebhookSweepArgs{}, nil },
				&river.PeriodicJobOpts{RunOnStart: true}))
		}
		if w.BulkImports != nil {
			rc.Queues[QueueBulkImports] = river.QueueConfig{MaxWorkers: cmp.Or(w.BulkImportWorkers, 2)}
		}
		rc.PeriodicJobs = append(rc.PeriodicJobs,
			river.NewPeriodicJob(river.PeriodicInterval(outboxSweep),
				func() (river.JobArgs, *river.InsertOpts) { return DrainOutboxArgs{Sweep: true}, nil },
				&river.PeriodicJobOpts{RunOnStart: true}))
		if w.Purge != nil && w.Purge.Every > 0 {
			rc.PeriodicJobs = append(rc.PeriodicJobs, river.NewPeriodicJob(river.PeriodicInterval(w.Purge.Every),
				func() (river.JobArgs, *river.InsertOpts) { return PurgeArgs{}, nil },
				&river.PeriodicJobOpts{RunOnStart: true}))
		}
	}
	return river.NewClient(riverpgxv5.New(pool), rc)
}

// riverConfig is the River configuration of cfg, without workers.
func riverConfig(cfg Config) *river.Config {
	return &river.Config{
		MaxAttempts:          cfg.MaxAttempts,
		RetryPolicy:          backoff{base: cfg.RetryBase},
		RescueStuckJobsAfter: cfg.RescueAfter,
		JobTimeout:           cfg.JobTimeout,
		FetchCooldown:        cfg.FetchCooldown,
		FetchPollInterval:    cfg.FetchPoll,
		Logger:               cfg.Logger,
		Middleware:           append([]rivertype.Middleware{&requestContext{}}, cfg.Middleware...),
	}
}
