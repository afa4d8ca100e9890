package postgres

import (
	"context"
	"encoding/json"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/vitrine-dev/vitrine/gallery"
)

// imageSelect reads images with their thumbnail job's progress: the newest job of the image
// (vitrine_image_job reads River's table for callers that may not), mapped to the API's
// statuses.
const imageSelect = `SELECT i.id, i.product_id, i.image_order, i.image_url, i.storage_path,
	coalesce(i.content_sha256, ''), coalesce(i.byte_size, 0), coalesce(i.width, 0), coalesce(i.height, 0),
	coalesce(i.media_type, ''), i.alt, i.created_at, i.updated_at,
	i.thumbnails, coalesce(i.thumbnail_url, ''), i.variants, coalesce(i.thumbhash, ''), coalesce(i.dominant_color, ''),
	CASE WHEN vitrine_thumbnails_complete(i.thumbnails, i.thumbnail_url) THEN 'ready'
	     WHEN j.state IN ('available', 'scheduled', 'pending', 'retryable') THEN 'pending'
	     WHEN j.state = 'running' THEN 'processing'
	     WHEN j.state IN ('discarded', 'cancelled') THEN 'failed'
	     ELSE 'none' END,
	coalesce(j.attempt, 0), coalesce(j.last_error, '')
FROM product_images AS i
LEFT JOIN LATERAL vitrine_image_job(i.id) AS j ON true`

func scanImage(row pgx.Row) (gallery.Image, error) {
	var (
		im         gallery.Image
		thumbnails []byte
		variants   []byte
		status     string
		lastError  string
	)
	err := row.Scan(&im.ID, &im.ProductID, &im.Order, &im.URL, &im.StoragePath,
		&im.SHA256, &im.Bytes, &im.Width, &im.Height, &im.MediaType, &im.Alt,
		&im.CreatedAt, &im.UpdatedAt,
		&thumbnails, &im.ThumbnailURL, &variants, &im.ThumbHash, &im.DominantColor,
		&status, &im.Attempts, &lastError)
	if err != nil {
		return im, err
	}
	im.Status = gallery.ThumbnailStatus(status)
	im.LastError = safeJobError(lastError)
	if thumbnails != nil {
		// The legacy design's RPC may have stored any JSON here; only string URLs are shown.
		var raw map[string]any
		if json.Unmarshal(thumbnails, &raw) == nil {
			im.Thumbnails = map[string]string{}
			for k, v := range raw {
				if s, ok := v.(string); ok {
					im.Thumbnails[k] = s
				}
			}
		}
	}
	if variants != nil {
		im.Variants = decodeVariants(variants)
	}
	return im, nil
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
