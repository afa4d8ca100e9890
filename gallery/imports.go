package gallery

import "github.com/google/uuid"

// NewImport asks for an image to be imported from a URL into a product's gallery. The row is
// made at once, at Position, with status StatusImporting; a job fetches SourceURL later.
type NewImport struct {
	ProductID uuid.UUID
	SourceURL string // an absolute http or https URL, without credentials
	Alt       string
	// Position is the image's place in the gallery (0 makes it the main image), from 0 to the
	// gallery's size; nil puts it at the end. The images from that place on move down by one.
	Position *int
	// ClampPosition puts an image whose Position is past the gallery's end at the end, rather
	// than refusing it (a bulk import's line names a place in the gallery the feed means).
	ClampPosition bool
	// Line, when set, is the bulk import line the import comes from: the transaction that
	// makes the image records it on the line (admitted, naming the image).
	Line *ImportLineRef
}

// ImportLineRef names a line of a bulk import.
type ImportLineRef struct {
	ImportID uuid.UUID
	Line     int
}

// ImportResult is what became of one NewImport of a batch: its image and whether the
// product had one from that URL already, or the error that refused it alone.
type ImportResult struct {
	Image   Image
	Existed bool
	Err     error
}

// ImportTarget names an image being imported and the URL its job fetches.
type ImportTarget struct {
	ImageID   uuid.UUID
	SourceURL string
}

// MaxSourceURLLength bounds an import's source URL, in characters.
const MaxSourceURLLength = 2048

// ImportFailure is the code of a failed import, shown to clients with its message.
type ImportFailure string

// The ways an import fails. The codes of a refused body are the upload's own (ETOOLARGE,
// EMEDIATYPE, EPIXELS, ECORRUPT), so that an import and an upload of the same bytes fail alike.
const (
	ImportSourceStatus     ImportFailure = "source_status"      // the source answered with an HTTP error status
	ImportTimeout          ImportFailure = "timeout"            // the source did not answer, or send the whole body, in time
	ImportForbiddenAddress ImportFailure = "forbidden_address"  // the source, or a redirect, is at an address Vitrine must not reach
	ImportTooManyRedirects ImportFailure = "too_many_redirects" // the source redirected too many times
	ImportBadScheme        ImportFailure = "bad_scheme"         // a redirect led to a URL that is not http or https
	ImportUnreachable      ImportFailure = "unreachable"        // the source's name did not resolve, or the connection failed
	ImportTooLarge                       = ImportFailure(ETOOLARGE)
	ImportNotImage                       = ImportFailure(EMEDIATYPE)
	ImportTooManyPixels                  = ImportFailure(EPIXELS)
	ImportCorrupt                        = ImportFailure(ECORRUPT)
	ImportInternal                       = ImportFailure(EINTERNAL) // anything else; its details are logged
)

// ImportError is the outcome of a failed import, as the image records it.
type ImportError struct {
	Code    ImportFailure
	Message string // safe to show to clients
}
