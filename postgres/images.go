package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/vitrine-dev/vitrine/gallery"
)

// imageColumns are the columns of an image with its thumbnail job's progress, read from
// product_images AS i and vitrine_image_job(i.id) AS j (vitrine_image_job reads River's table
// for callers that may not), mapped to the API's statuses. imageRow scans them.
const imageColumns = `i.id, i.product_id, i.image_order, i.image_url, i.storage_path, i.source_url,
	coalesce(i.content_sha256, ''), coalesce(i.byte_size, 0), coalesce(i.width, 0), coalesce(i.height, 0),
	coalesce(i.media_type, ''), i.alt, i.created_at, i.updated_at,
	i.thumbnails, coalesce(i.thumbnail_url, ''), i.variants, coalesce(i.thumbhash, ''), coalesce(i.dominant_color, ''),
	` + imageStatus + `,
	coalesce(j.attempt, 0), coalesce(j.last_error, ''), i.import_error_code, i.import_error`

// imageStatus is an image's thumbnail status (gallery.ThumbnailStatus) from product_images AS
// i and vitrine_image_job(i.id) AS j; an image without its original yet has its import's
// status (importing or failed).
const imageStatus = `CASE WHEN i.import_status IS NOT NULL THEN i.import_status
	     WHEN vitrine_thumbnails_complete(i.thumbnails, i.thumbnail_url) THEN 'ready'
	     WHEN j.state IN ('available', 'scheduled', 'pending', 'retryable') THEN 'pending'
	     WHEN j.state = 'running' THEN 'processing'
	     WHEN j.state IN ('discarded', 'cancelled') THEN 'failed'
	     ELSE 'none' END`

// imageSelect reads images with their thumbnail job's progress.
const imageSelect = `SELECT ` + imageColumns + `
FROM product_images AS i
LEFT JOIN LATERAL vitrine_image_job(i.id) AS j ON true`

// imageRow receives imageColumns. Every column is scanned through a pointer, so that an
// outer join that found no image (every column NULL) scans too.
type imageRow struct {
	id, productID                    *uuid.UUID
	order, width, height, attempts   *int
	url, path, sha256, mediaType     *string
	sourceURL, importCode, importErr *string
	alt, thumbnailURL, thumbHash     *string
	dominantColor, status, lastErr   *string
	bytes                            *int64
	createdAt, updatedAt             *time.Time
	thumbnails, variants             []byte
}

// dest returns the scan destinations of imageColumns, in order.
func (r *imageRow) dest() []any {
	return []any{&r.id, &r.productID, &r.order, &r.url, &r.path, &r.sourceURL,
		&r.sha256, &r.bytes, &r.width, &r.height, &r.mediaType, &r.alt,
		&r.createdAt, &r.updatedAt,
		&r.thumbnails, &r.thumbnailURL, &r.variants, &r.thumbHash, &r.dominantColor,
		&r.status, &r.attempts, &r.lastErr, &r.importCode, &r.importErr}
}

// orZero returns what p points to, or T's zero value for nil.
func orZero[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// image returns the scanned image, or nil when the row held none (an outer join's NULLs).
func (r *imageRow) image() *gallery.Image {
	if r.id == nil {
		return nil
	}
	im := gallery.Image{
		ID: *r.id, ProductID: orZero(r.productID), Order: orZero(r.order),
		URL: orZero(r.url), StoragePath: orZero(r.path), SHA256: orZero(r.sha256),
		Bytes: orZero(r.bytes), Width: orZero(r.width), Height: orZero(r.height),
		MediaType: orZero(r.mediaType), Alt: orZero(r.alt),
		CreatedAt: orZero(r.createdAt), UpdatedAt: orZero(r.updatedAt),
		ThumbnailURL: orZero(r.thumbnailURL), ThumbHash: orZero(r.thumbHash), DominantColor: orZero(r.dominantColor),
		Status: gallery.ThumbnailStatus(orZero(r.status)), Attempts: orZero(r.attempts),
		LastError: safeJobError(orZero(r.lastErr)),
		SourceURL: orZero(r.sourceURL),
	}
	if im.Status == gallery.StatusFailed && r.importCode != nil {
		// The import's message was written by Vitrine for clients (see FailImport).
		im.ImportFailure = gallery.ImportFailure(*r.importCode)
		im.LastError = orZero(r.importErr)
	}
	if r.thumbnails != nil {
		// The legacy design's RPC may have stored any JSON here; only string URLs are shown.
		var raw map[string]any
		if json.Unmarshal(r.thumbnails, &raw) == nil {
			im.Thumbnails = map[string]string{}
			for k, v := range raw {
				if s, ok := v.(string); ok {
					im.Thumbnails[k] = s
				}
			}
		}
	}
	if r.variants != nil {
		im.Variants = decodeVariants(r.variants)
	}
	return &im
}

func scanImage(row pgx.Row) (gallery.Image, error) {
	var r imageRow
	if err := row.Scan(r.dest()...); err != nil {
		return gallery.Image{}, err
	}
	return *r.image(), nil
}

// safeJobError turns a job's last error as vitrine_image_job answers it (a failure code, or
// the recorded error, which may hold libvips' or the store's own words) into a message safe
// to show to clients.
func safeJobError(raw string) string {
	switch {
	case raw == "":
		return ""
	case gallery.JobFailure(raw).Message() != "":
		// vitrine_image_job answers a failure's code, as the job recorded it.
		return gallery.JobFailure(raw).Message()
	default:
		return "making thumbnails failed; the job retries with backoff"
	}
}

func readImage(ctx context.Context, q pgx.Tx, id uuid.UUID) (gallery.Image, error) {
	return scanImage(q.QueryRow(ctx, imageSelect+` WHERE i.id = $1`, id))
}

// Image returns one image, or a not-found error.
func (db *DB) Image(ctx context.Context, id uuid.UUID) (gallery.Image, error) {
	var im gallery.Image
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		im, err = readImage(ctx, tx, id)
		return err
	})
	return im, domainError("reading image", err)
}

// Images returns a product's gallery in order; a missing product is a not-found error.
func (db *DB) Images(ctx context.Context, productID uuid.UUID) ([]gallery.Image, error) {
	var out []gallery.Image
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = listImages(ctx, tx, productID)
		return err
	})
	return out, domainError("listing images", err)
}

func listImages(ctx context.Context, tx pgx.Tx, productID uuid.UUID) ([]gallery.Image, error) {
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM products WHERE id = $1)`, productID).Scan(&exists); err != nil {
		return nil, err
	}
	if !exists {
		return nil, gallery.Errorf(gallery.ENOTFOUND, "product %s does not exist", productID)
	}
	rows, err := tx.Query(ctx, imageSelect+` WHERE i.product_id = $1 ORDER BY i.image_order`, productID)
	if err != nil {
		return nil, err
	}
	out := []gallery.Image{}
	for rows.Next() {
		im, err := scanImage(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, im)
	}
	return out, rows.Err()
}
