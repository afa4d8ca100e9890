package metrics

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/postgres"
)

// DBStats collects the database's counts (images by thumbnail status, River's jobs by kind
// and state, the object outbox, the last purge runs) when scraped. It reads them with one
// call of read, at most once per maxAge: scrapes in between get the cached counts, so that
// scrapes cost the database a bounded amount whatever their rate.
type DBStats struct {
	read   func(context.Context) (postgres.Stats, error)
	maxAge time.Duration

	mu      sync.Mutex
	at      time.Time
	last    postgres.Stats
	lastErr error

	images, jobs, outboxLen, outboxAge, up                              *prometheus.Desc
	purgeFinished, purgeDeleted, purgeOrphans, purgeBytes, purgeScanned *prometheus.Desc
}

// NewDBStats returns a DBStats reading with read, cached for maxAge.
func NewDBStats(read func(context.Context) (postgres.Stats, error), maxAge time.Duration) *DBStats {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &DBStats{read: read, maxAge: maxAge,
		images:        d("vitrine_images", "Images by thumbnail status.", "status"),
		jobs:          d("vitrine_jobs", "River's jobs by kind and state.", "kind", "state"),
		outboxLen:     d("vitrine_outbox_length", "Keys waiting in the object outbox."),
		outboxAge:     d("vitrine_outbox_oldest_age_seconds", "Age of the oldest key in the object outbox; 0 when it is empty."),
		up:            d("vitrine_db_stats_up", "1 when the last read of the database's counts succeeded."),
		purgeFinished: d("vitrine_purge_last_finished_timestamp_seconds", "When the last purge run of each final status ended.", "status"),
		purgeScanned:  d("vitrine_purge_last_objects_scanned", "Objects listed by the last purge run of each final status.", "status"),
		purgeOrphans:  d("vitrine_purge_last_orphans", "Orphans found by the last purge run of each final status.", "status"),
		purgeDeleted:  d("vitrine_purge_last_deleted", "Orphans deleted by the last purge run of each final status.", "status"),
		purgeBytes:    d("vitrine_purge_last_bytes_reclaimed", "Bytes reclaimed by the last purge run of each final status.", "status"),
	}
}

// Describe sends the descriptions of the series.
func (c *DBStats) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.images, c.jobs, c.outboxLen, c.outboxAge, c.up,
		c.purgeFinished, c.purgeScanned, c.purgeOrphans, c.purgeDeleted, c.purgeBytes} {
		ch <- d
	}
}

// statuses are the thumbnail statuses, each reported even when no image has it.
var statuses = []gallery.ThumbnailStatus{gallery.StatusNone, gallery.StatusPending,
	gallery.StatusProcessing, gallery.StatusReady, gallery.StatusFailed, gallery.StatusImporting}

// Collect reads the counts (or takes the cached ones) and sends them.
func (c *DBStats) Collect(ch chan<- prometheus.Metric) {
	st, err := c.stats()
	up := 1.0
	if err != nil {
		up = 0
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up)
	if err != nil {
		return
	}
	for _, s := range statuses {
		ch <- prometheus.MustNewConstMetric(c.images, prometheus.GaugeValue, float64(st.Images[s]), string(s))
	}
	for _, j := range st.Jobs {
		ch <- prometheus.MustNewConstMetric(c.jobs, prometheus.GaugeValue, float64(j.Count), j.Kind, j.State)
	}
	ch <- prometheus.MustNewConstMetric(c.outboxLen, prometheus.GaugeValue, float64(st.OutboxLength))
	ch <- prometheus.MustNewConstMetric(c.outboxAge, prometheus.GaugeValue, st.OutboxOldest.Seconds())
	for _, r := range st.LastPurgeRuns {
		if r.FinishedAt != nil {
			ch <- prometheus.MustNewConstMetric(c.purgeFinished, prometheus.GaugeValue, float64(r.FinishedAt.Unix()), r.Status)
		}
		ch <- prometheus.MustNewConstMetric(c.purgeScanned, prometheus.GaugeValue, float64(r.ObjectsScanned), r.Status)
		ch <- prometheus.MustNewConstMetric(c.purgeOrphans, prometheus.GaugeValue, float64(r.Orphans), r.Status)
		ch <- prometheus.MustNewConstMetric(c.purgeDeleted, prometheus.GaugeValue, float64(r.Deleted), r.Status)
		ch <- prometheus.MustNewConstMetric(c.purgeBytes, prometheus.GaugeValue, float64(r.BytesReclaimed), r.Status)
	}
}

// stats returns counts at most maxAge old, reading them (one scrape at a time) when the
// cached ones are older.
func (c *DBStats) stats() (postgres.Stats, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() && time.Since(c.at) < c.maxAge {
		return c.last, c.lastErr
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c.last, c.lastErr = c.read(ctx)
	c.at = time.Now()
	return c.last, c.lastErr
}

// PoolStats collects the statistics of a pgx pool.
type PoolStats struct {
	pool                                         *pgxpool.Pool
	acquired, idle, total, max, acquires, waits  *prometheus.Desc
	waitSeconds, emptyAcquires, canceledAcquires *prometheus.Desc
}

// NewPoolStats returns a collector of pool's statistics.
func NewPoolStats(pool *pgxpool.Pool) *PoolStats {
	d := func(name, help string) *prometheus.Desc { return prometheus.NewDesc(name, help, nil, nil) }
	return &PoolStats{pool: pool,
		acquired:         d("vitrine_db_pool_acquired_connections", "Connections of the pool in use."),
		idle:             d("vitrine_db_pool_idle_connections", "Idle connections of the pool."),
		total:            d("vitrine_db_pool_total_connections", "Connections of the pool, in use, idle or being opened."),
		max:              d("vitrine_db_pool_max_connections", "The pool's largest size."),
		acquires:         d("vitrine_db_pool_acquires_total", "Connections acquired from the pool."),
		waitSeconds:      d("vitrine_db_pool_acquire_wait_seconds_total", "Time spent waiting for a connection."),
		emptyAcquires:    d("vitrine_db_pool_empty_acquires_total", "Acquires that found no idle connection and waited."),
		canceledAcquires: d("vitrine_db_pool_canceled_acquires_total", "Acquires cancelled by their context."),
	}
}

// Describe sends the descriptions of the series.
func (c *PoolStats) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.acquired, c.idle, c.total, c.max, c.acquires,
		c.waitSeconds, c.emptyAcquires, c.canceledAcquires} {
		ch <- d
	}
}

// Collect reads the pool's statistics (no I/O).
func (c *PoolStats) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.Stat()
	g := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	k := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	g(c.acquired, float64(s.AcquiredConns()))
	g(c.idle, float64(s.IdleConns()))
	g(c.total, float64(s.TotalConns()))
	g(c.max, float64(s.MaxConns()))
	k(c.acquires, float64(s.AcquireCount()))
	k(c.waitSeconds, s.AcquireDuration().Seconds())
	k(c.emptyAcquires, float64(s.EmptyAcquireCount()))
	k(c.canceledAcquires, float64(s.CanceledAcquireCount()))
}
