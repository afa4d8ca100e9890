package jobs

import (
	"cmp"
	"context"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/vitrine-dev/vitrine/gallery"
)

// Importer fetches an imported image's original and publishes it, or records why it cannot;
// upload.Service implements it.
type Importer interface {
	// FetchImport returns nil once the image is published or its failure recorded, and an
	// error for a failure of Vitrine's own, to be retried (recorded too when final is set).
	FetchImport(ctx context.Context, imageID uuid.UUID, sourceURL string, final bool) error
}

// ImportWorker works import jobs. Besides the imports queue's bound on the jobs this process
// works at once, it bounds the fetches from one source host, so that one supplier's feed
// neither hammers its own server nor takes every worker from the others: a job whose host
// has PerHost fetches running in this process waits for one of them to end, but no longer than
// Wait (a fetch of a photograph takes some tens of milliseconds), then is snoozed (River's
// JobSnooze, which does not count as an attempt) rather than left to hold a worker longer.
type ImportWorker struct {
	river.WorkerDefaults[ImportArgs]
	Importer Importer
	PerHost  int           // fetches from one host at once in this process (default 4)
	Fetch    time.Duration // one fetch's limit, which a job's attempt gets a minute more than
	Wait     time.Duration // how long a job holds its worker waiting for a slot of its host (default 50 ms)
	Snooze   time.Duration // then how long it is snoozed, and as much again at random (default 250 ms)
	Ended    *ImportEnded  // told when a fetch ends (nil: no one)
	Logger   *slog.Logger

	slotsOnce sync.Once
	slots     *HostSlots
}

// Timeout gives a job its fetch's time and a minute to store and record the result. An attempt
// that outlives River's rescue delay may be started again meanwhile; publishing and recording
// a failure only change an image still importing from that URL, so the later of the two
// changes nothing.
func (w *ImportWorker) Timeout(*river.Job[ImportArgs]) time.Duration {
	return w.Fetch + time.Minute
}

// Work takes a slot of the source's host, or snoozes, then fetches and publishes.
func (w *ImportWorker) Work(ctx context.Context, job *river.Job[ImportArgs]) error {
	ctx = gallery.WithCaller(ctx, gallery.Service())
	host := sourceHost(job.Args.SourceURL)
	w.slotsOnce.Do(func() { w.slots = NewHostSlots(cmp.Or(w.PerHost, 4)) })
	release, ok := w.slots.acquireWithin(ctx, host, cmp.Or(w.Wait, 50*time.Millisecond))
	if !ok {
		snooze := w.Snooze
		if snooze <= 0 {
			snooze = 250 * time.Millisecond
		}
		w.Logger.DebugContext(ctx, "import snoozed: its host's fetches are at their limit", "job_id", job.ID, "host", host)
		return river.JobSnooze(snooze + rand.N(snooze))
	}
	defer release()
	defer w.Ended.Broadcast()
	return w.Importer.FetchImport(ctx, job.Args.ImageID, job.Args.SourceURL, job.Attempt >= job.MaxAttempts)
}

// sourceHost is the host whose slots a fetch of raw takes: its host name, lower case (any
// port of it counts, since they are usually one server).
func sourceHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Hostname())
}
