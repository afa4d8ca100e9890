package gallery

import (
	"context"

	"github.com/google/uuid"
)

// Enqueuer enqueues background work inside the transaction of the change that calls for it,
// so that a job is committed with the rows that need it, or not at all. Tx is the storage
// adapter's transaction type; the job adapter implements Enqueuer for it.
type Enqueuer[Tx any] interface {
	// EnqueueThumbnails enqueues one thumbnail job per target inside tx; a target that
	// already has an active job for the same source is skipped.
	EnqueueThumbnails(ctx context.Context, tx Tx, targets []ThumbnailTarget) error
	// CancelJobs cancels jobs by id inside tx: a queued job at once, a running one by
	// cancelling its context (it ends cancelled unless it completes first).
	CancelJobs(ctx context.Context, tx Tx, ids []int64) error
	// EnqueueOutboxDrain enqueues a drain of the object outbox inside tx, for a transaction
	// that sent keys there.
	EnqueueOutboxDrain(ctx context.Context, tx Tx) error
	// EnqueueImports enqueues the fetch of each target's original from its source URL inside
	// tx, all in one statement; an image that already has an active import job is skipped.
	EnqueueImports(ctx context.Context, tx Tx, targets []ImportTarget) error
	// EnqueueWebhookDeliveries enqueues one job per webhook delivery inside tx and returns
	// the jobs' ids, in the order of deliveries.
	EnqueueWebhookDeliveries(ctx context.Context, tx Tx, deliveries []int64) ([]int64, error)
	// EnqueueBulkImport enqueues the job that admits the lines of a bulk import inside tx.
	EnqueueBulkImport(ctx context.Context, tx Tx, importID uuid.UUID) error
}

// How thumbnail jobs are stored, as the job adapter writes them and as the database's SQL
// (the image_thumbnail_jobs view, vitrine_image_job, the search for superseded jobs) selects
// them: the job's kind, and the key of its arguments that names the image.
const (
	ThumbnailJobKind     = "thumbnail"
	ThumbnailJobImageKey = "image_id"
)

// ImportJobKind is the kind of the job that fetches an imported image's original.
const ImportJobKind = "import"

// ThumbnailTarget names an image and the original its thumbnails must be made from. With
// Replace, the new thumbnails replace a complete record (a regeneration after the presets
// changed); without, they only fill a missing or partial one.
type ThumbnailTarget struct {
	ImageID      uuid.UUID
	SourceSHA256 string
	Replace      bool
}

// RecordOutcome says what recording a thumbnail job's result did.
type RecordOutcome string

// The outcomes of recording thumbnails. Every outcome but Recorded is an update that changed
// no row, reported with its reason rather than ignored.
const (
	Recorded        RecordOutcome = "recorded"
	ImageGone       RecordOutcome = "image gone"
	SourceChanged   RecordOutcome = "source changed"
	NotMain         RecordOutcome = "no longer the main image"
	AlreadyComplete RecordOutcome = "already complete"
)

// OutboxResult counts what one drain of the object outbox did.
type OutboxResult struct {
	Deleted   int // objects deleted
	KeptInUse int // keys dropped from the outbox because a row refers to them again
}
