package gallery

import (
	"time"

	"github.com/google/uuid"
)

// A bulk import is a feed of images to fetch by URL into galleries (POST /v1/imports, `vitrine
// import`), one per line. Each line names its product by id or by the supplier's external
// reference (a product is created for a reference the supplier has no product with), the
// source URL, an alt text and, optionally, the position the image must take. A line that is
// bad when the feed is read is a failed line of the import, not a failure of the import.

// BulkImportLine is one line of a feed as it was read. Line numbers start at 1 (the first line
// of a feed, or the first line after a CSV header).
type BulkImportLine struct {
	Line        int
	ProductID   uuid.UUID // uuid.Nil when the line names its product by ExternalRef
	ExternalRef string
	SourceURL   string
	Alt         string
	Position    *int // nil: after the images already there, in line order
	// Err, when not nil, is why the line cannot be imported; the other fields may be empty.
	Err *Error
}

// BulkImport is a bulk import's progress: its lines queued (not yet admitted, or their image is
// still being fetched), done (the image is in the gallery) and failed, and the failed lines
// from After on, at most the limit asked for, in line order.
type BulkImport struct {
	ID         uuid.UUID
	SupplierID uuid.UUID // uuid.Nil: an import of the service's
	Lines      int
	Queued     int
	Done       int
	Failed     int
	CreatedAt  time.Time
	FinishedAt *time.Time // nil until every line is done or failed
	Failures   []BulkImportFailure
	// NextAfter, when not 0, is the After that reads the next page of failures.
	NextAfter int
}

// BulkImportBatch is what the job of an import needs to admit its next lines: whose import
// it is (uuid.Nil: the service's), whether it is finished, how many of its images are being
// fetched, and the next lines to admit.
type BulkImportBatch struct {
	SupplierID uuid.UUID
	Finished   bool
	Fetching   int
	Lines      []BulkImportLine
}

// BulkImportFailure is a failed line of an import and why it failed: a Code of the domain
// when the line was refused as it was read or admitted, an ImportFailure's when its image's
// fetch failed.
type BulkImportFailure struct {
	Line    int
	Code    string
	Message string
}

// The bounds of bulk imports.
const (
	// MaxImportLineBytes bounds one line of a feed, in bytes.
	MaxImportLineBytes = 16 << 10
	// DefaultImportFailures and MaxImportFailures bound a page of an import's failed lines.
	DefaultImportFailures = 100
	MaxImportFailures     = 1000
)

// BulkImportQueue is the job queue of the jobs that admit bulk imports' lines, as the job
// adapter inserts them and the database reads them.
const BulkImportQueue = "bulk_imports"
