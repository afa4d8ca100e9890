// Package gallery holds Vitrine's domain: products, their ordered image galleries, and the
// errors every adapter speaks. It imports nothing of the database, the object store or HTTP.
package gallery

import (
	"time"

	"github.com/google/uuid"
)

// Product is a host shop's product as far as Vitrine needs it: an id and the supplier that owns it.
type Product struct {
	ID         uuid.UUID
	SupplierID uuid.UUID
	Title      string // at most MaxTitleLength characters; "" when none was given
	// ExternalRef is the supplier's own reference of the product (a SKU, a feed's id), unique
	// per supplier, at most MaxExternalRefLength characters; "" when none was given.
	ExternalRef string
	Published   bool // anonymous callers read the galleries of published products only
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Image is one entry of a product's gallery. Order is its zero-based position; the image at
// order 0 is the product's main image. Orders of one product are always exactly 0..n-1.
type Image struct {
	ID          uuid.UUID
	ProductID   uuid.UUID
	Order       int
	URL         string // the public URL recorded at upload (image_url); "" while importing
	StoragePath string // the object key of the original; "" while importing
	// SourceURL is the URL the image was imported from, or "" for an upload.
	SourceURL string
	SHA256    string // hex digest of the stored original
	Bytes     int64
	Width     int
	Height    int
	MediaType string
	Alt       string
	CreatedAt time.Time
	UpdatedAt time.Time

	// Thumbnails maps each preset to the URL of its default format (the legacy design's shape);
	// ThumbnailURL is the desktop one.
	Thumbnails    map[string]string
	ThumbnailURL  string
	Variants      Variants
	ThumbHash     string
	DominantColor string
	// The thumbnail job's progress, from the newest job of this image; for an image being
	// imported or whose import failed, the import's (StatusImporting, StatusFailed).
	Status    ThumbnailStatus
	Attempts  int
	LastError string
	// ImportFailure is the code of a failed import (Status is StatusFailed and LastError its
	// message), or "".
	ImportFailure ImportFailure
}

// NewImage is what an upload knows about an image before it has a place in the gallery.
type NewImage struct {
	ID          uuid.UUID
	ProductID   uuid.UUID
	URL         string
	StoragePath string
	SHA256      string
	Bytes       int64
	Width       int
	Height      int
	MediaType   string
	Alt         string
	// UploadID is the direct upload this image completes, or zero. The upload is removed in
	// the image's transaction; one already completed or expired makes the append a conflict.
	UploadID uuid.UUID
}

// Upload is a direct upload in flight: the client PUTs its file to ObjectKey, a staging key,
// through a presigned URL, then completes the upload, which checks the object and adds it to
// the product's gallery. An upload not completed by ExpiresAt is removed with its object.
type Upload struct {
	ID        uuid.UUID
	ProductID uuid.UUID
	ObjectKey string
	Alt       string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// MaxTitleLength bounds a product's title, in characters.
const MaxTitleLength = 200

// MaxExternalRefLength bounds a product's external reference, in characters.
const MaxExternalRefLength = 200

// ProductChange is a change to a product: each field that is not nil is set.
type ProductChange struct {
	Title     *string
	Published *bool
}

// ProductQuery asks for one page of the products a caller may read, newest first.
type ProductQuery struct {
	// Search, when not "", keeps the products whose title contains it, ignoring case, and
	// the product whose id it is.
	Search string
	// Limit is the page's size, from 1 to MaxProductPage.
	Limit int
	// Cursor is the NextCursor of the previous page; "" starts at the newest product.
	Cursor string
}

// The bounds of a page of products.
const (
	DefaultProductPage = 50
	MaxProductPage     = 100
)

// ProductSummary is a product as a list shows it: with the size of its gallery and its main
// image (nil when the gallery is empty).
type ProductSummary struct {
	Product
	ImageCount int
	MainImage  *Image
}

// ProductPage is one page of products. NextCursor, when not "", asks for the next page.
type ProductPage struct {
	Products   []ProductSummary
	NextCursor string
}

// MaxAltLength bounds an image's alt text, in characters.
const MaxAltLength = 1000
