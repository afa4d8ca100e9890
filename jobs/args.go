// Package jobs is Vitrine's background work on River: making an image's thumbnails and
// deleting objects no row uses any more. Jobs are inserted in the same transaction as the
// rows that need them (see Enqueuer), worked with retries and backoff, and visible to
// operators (the image_thumbnail_jobs view, `vitrine jobs`, River's UI).
package jobs

import (
	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/vitrine-dev/vitrine/gallery"
)

// The queues Vitrine's jobs run in.
const (
	QueueThumbnails = "thumbnails"
	QueueObjects    = "objects"
	QueueImports    = "imports"
)

// activeStates are the states in which a job blocks a duplicate: once a job is completed,
// failed or cancelled, the same image and source may be enqueued again (for example when
// an image becomes the main one a second time).
var activeStates = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
	rivertype.JobStateRunning, rivertype.JobStateScheduled,
}

// ThumbnailArgs asks for the thumbnails of one image, made from the original whose hash is
// SourceSHA256. A job is unique per (image, source) among active jobs. The JSON key of
// ImageID is gallery.ThumbnailJobImageKey, which the database's SQL reads.
type ThumbnailArgs struct {
	ImageID      uuid.UUID `json:"image_id" river:"unique"`
	SourceSHA256 string    `json:"source_sha256" river:"unique"`
	// Replace remakes a complete record too (after the presets changed).
	Replace bool `json:"replace,omitempty"`
}

// Kind names the job in River's table; the image_thumbnail_jobs view selects on it.
func (ThumbnailArgs) Kind() string { return gallery.ThumbnailJobKind }

// InsertOpts puts the job on the thumbnails queue, unique per (image, source).
func (ThumbnailArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		Queue:      QueueThumbnails,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: activeStates},
	}
}

// ThumbnailOutput is what a thumbnail job records as its output (River's metadata "output"):
// the code of a permanent failure clients may be told about, which the database's
// vitrine_image_job answers as the image's last error.
type ThumbnailOutput struct {
	Failure gallery.JobFailure `json:"failure,omitempty"`
}

// DrainOutboxArgs asks for a drain of the object outbox: the deletion of the objects that
// rows stopped using, each only if no row refers to it when the job runs. Gallery writes
// enqueue one in the transaction that fills the outbox; a periodic one catches what plain SQL
// writes (PostgREST, scripts) put there.
type DrainOutboxArgs struct {
	// Sweep, set on the periodic job only, also expires the direct uploads that were not
	// completed in time, sending their staging objects to the outbox first.
	Sweep bool `json:"sweep,omitempty"`
}

// Kind names the job in River's table.
func (DrainOutboxArgs) Kind() string { return "drain_object_outbox" }

// InsertOpts puts the job on the objects queue.
func (DrainOutboxArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueObjects}
}

// ImportArgs asks for the original of an image being imported to be fetched from SourceURL,
// checked as an upload is, and published. A job is unique per image among active jobs.
type ImportArgs struct {
	ImageID   uuid.UUID `json:"image_id" river:"unique"`
	SourceURL string    `json:"source_url"`
}

// Kind names the job in River's table.
func (ImportArgs) Kind() string { return gallery.ImportJobKind }

// InsertOpts puts the job on the imports queue, unique per image.
func (ImportArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		Queue:      QueueImports,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: activeStates},
	}
}
