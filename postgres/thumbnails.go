package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/vitrine-dev/vitrine/gallery"
)

// RecordThumbnails attaches a job's variants to the image it was made for, and only to it:
// one conditional UPDATE keyed by the image's id and the source hash the job read, which
// fills a missing or partial record (thumbnails NULL, without 'desktop', or thumbnail_url
// NULL) and leaves a complete one alone. Under the main-only policy the image must still be
// its product's main image. The product's lock orders it against moves, and shared locks on
// the variant keys against deletes of the same objects; ensure runs under those locks and
// must make every variant object exist. A target with Replace overwrites a complete record
// too, and enqueues the deletion of the objects the old record named and the new one does
// not, in the same transaction. defaultFormat picks the URLs of the legacy design's
// thumbnails shape.
func (db *DB) RecordThumbnails(ctx context.Context, target gallery.ThumbnailTarget, th gallery.Thumbnails,
	defaultFormat string, ensure func(context.Context) error) (gallery.RecordOutcome, error) {
	urls := map[string]string{}
	for preset, formats := range th.Variants {
		v, ok := formats[defaultFormat]
		if !ok {
			return "", fmt.Errorf("preset %s has no %s variant", preset, defaultFormat)
		}
		urls[preset] = v.URL
	}
	if urls[gallery.MainPreset] == "" {
		return "", fmt.Errorf("the variants lack the %s preset", gallery.MainPreset)
	}
	thumbnails, err := json.Marshal(urls)
	if err != nil {
		return "", err
	}
	variants, err := encodeVariants(th.Variants)
	if err != nil {
		return "", err
	}
	var outcome gallery.RecordOutcome
	var productID uuid.UUID
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT product_id FROM product_images WHERE id = $1`, target.ImageID).Scan(&productID)
		if err == pgx.ErrNoRows {
			outcome = gallery.ImageGone
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := db.beginGalleryWrite(ctx, tx, productID); err != nil {
			return err
		}
		if err := lockObjects(ctx, tx, th.Variants.Keys(), true); err != nil {
			return err
		}
		if err := ensure(ctx); err != nil {
			return err
		}
		var replaced bool
		err = tx.QueryRow(ctx, `WITH old AS (SELECT id, variant_keys FROM product_images WHERE id = $1)
			UPDATE product_images AS i
			SET thumbnails = $3, thumbnail_url = $4, variants = $5, thumbhash = nullif($6, ''), dominant_color = nullif($7, '')
			FROM old
			WHERE i.id = old.id AND i.content_sha256 = $2
			  AND ($9 OR NOT vitrine_thumbnails_complete(i.thumbnails, i.thumbnail_url))
			  AND ($8 OR i.image_order = 0)
			RETURNING cardinality(old.variant_keys) > 0`,
			target.ImageID, target.SourceSHA256, thumbnails, urls[gallery.MainPreset], variants,
			th.ThumbHash, th.DominantColor, db.thumbnailsBeyondMain(), target.Replace).Scan(&replaced)
		if err == nil {
			outcome = gallery.Recorded
			if db.jobs == nil {
				return nil
			}
			return asService(ctx, tx, func() error {
				if err := db.scheduleWebhooks(ctx, tx); err != nil {
					return err
				}
				// A replaced record's objects that the new one does not reuse went to the outbox.
				if replaced {
					return db.jobs.EnqueueOutboxDrain(ctx, tx)
				}
				return nil
			})
		}
		if err != pgx.ErrNoRows {
			return err
		}
		var sha string
		var order int
		var complete bool
		err = tx.QueryRow(ctx, `SELECT coalesce(content_sha256, ''), image_order,
			vitrine_thumbnails_complete(thumbnails, thumbnail_url)
			FROM product_images WHERE id = $1`, target.ImageID).Scan(&sha, &order, &complete)
		if err == pgx.ErrNoRows {
			outcome = gallery.ImageGone // deleted while we waited for the product's lock
			return nil
		}
		if err != nil {
			return err
		}
		switch {
		case sha != target.SourceSHA256:
			outcome = gallery.SourceChanged
		case complete:
			outcome = gallery.AlreadyComplete
		default:
			outcome = gallery.NotMain
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("recording thumbnails of image %s: %w", target.ImageID, err)
	}
	if outcome == gallery.Recorded {
		db.notify(productID)
	}
	return outcome, nil
}
