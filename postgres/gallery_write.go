package postgres

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/vitrine-dev/vitrine/gallery"
)

// galleryWrite is one transaction's change to one product's gallery, made under the
// product's lock. finish enqueues what the change calls for: thumbnails for a new main image
// (or for every new image), the clearing of thumbnails that no longer apply, a drain of
// the object outbox, where triggers put the keys of the objects the change stopped using, and
// the jobs of the webhook deliveries that triggers recorded for the change.
type galleryWrite struct {
	db         *DB
	tx         pgx.Tx
	productID  uuid.UUID
	mainBefore uuid.UUID
	added      uuid.UUID   // the appended image, if any
	gone       []uuid.UUID // the images the change deleted
	dropped    bool        // the change may have sent keys to the object outbox
}

// beginGalleryWrite takes the product's lock and notes its main image. The transaction
// notifies the readers of its events after it commits (the caller hands the product to
// db.notify then), not inside itself.
func (db *DB) beginGalleryWrite(ctx context.Context, tx pgx.Tx, productID uuid.UUID) (*galleryWrite, error) {
	if _, err := tx.Exec(ctx, `SELECT vitrine_lock_product($1), `+notifyAfterCommit, productID); err != nil {
		return nil, err
	}
	w := &galleryWrite{db: db, tx: tx, productID: productID}
	err := tx.QueryRow(ctx, `SELECT id FROM product_images WHERE product_id = $1 AND image_order = 0`, productID).Scan(&w.mainBefore)
	if err != nil && err != pgx.ErrNoRows {
		return nil, err
	}
	return w, nil
}

// beginImageWrite is beginGalleryWrite for the product of an image.
func (db *DB) beginImageWrite(ctx context.Context, tx pgx.Tx, imageID uuid.UUID) (*galleryWrite, error) {
	var productID uuid.UUID
	if err := tx.QueryRow(ctx, `SELECT vitrine_image_product($1)`, imageID).Scan(&productID); err != nil {
		return nil, err
	}
	return db.beginGalleryWrite(ctx, tx, productID)
}

func (w *galleryWrite) finish(ctx context.Context) error {
	if w.db.jobs == nil {
		return nil
	}
	tx := w.tx
	var targets []gallery.ThumbnailTarget
	superseded := w.gone // their jobs have nothing left to do
	if w.db.thumbnailsBeyondMain() {
		if w.added != uuid.Nil {
			targets = append(targets, gallery.ThumbnailTarget{ImageID: w.added})
		}
	} else {
		var mainAfter uuid.UUID
		err := tx.QueryRow(ctx, `SELECT id FROM product_images WHERE product_id = $1 AND image_order = 0`, w.productID).Scan(&mainAfter)
		if err != nil && err != pgx.ErrNoRows {
			return err
		}
		if mainAfter != w.mainBefore {
			if mainAfter != uuid.Nil {
				targets = append(targets, gallery.ThumbnailTarget{ImageID: mainAfter})
			}
			// Only a main image gets a job, so the one that was main until now is the only
			// image of the product that can have one in flight.
			if w.mainBefore != uuid.Nil {
				superseded = append(superseded, w.mainBefore)
			}
		}
		// Thumbnails belong to the main image only: clear them elsewhere and delete their objects.
		tag, err := tx.Exec(ctx, `UPDATE product_images
			SET thumbnails = NULL, thumbnail_url = NULL, variants = NULL, thumbhash = NULL, dominant_color = NULL
			WHERE product_id = $1 AND image_order > 0
			  AND (thumbnails IS NOT NULL OR thumbnail_url IS NOT NULL OR variants IS NOT NULL)`, w.productID)
		if err != nil {
			return err
		}
		w.dropped = w.dropped || tag.RowsAffected() > 0
	}
	// River's table is the service's: the caller's role may not insert into it.
	return asService(ctx, tx, func() error {
		if err := w.db.cancelThumbnails(ctx, tx, superseded); err != nil {
			return err
		}
		if err := w.db.enqueueThumbnails(ctx, tx, targets); err != nil {
			return err
		}
		if err := w.db.scheduleWebhooks(ctx, tx); err != nil {
			return err
		}
		if w.dropped {
			return w.db.jobs.EnqueueOutboxDrain(ctx, tx)
		}
		return nil
	})
}

// cancelThumbnails supersedes the thumbnail jobs in flight for images that no longer need
// them (no longer main, or deleted): a queued job is cancelled at once, a running one has its
// context cancelled. A running job keeps its place in River's uniqueness until it ends, which
// would make a new job for the same image and source a duplicate of one that is being
// cancelled (an image made main again at once): its unique key is cleared, so that the new
// job is enqueued.
func (db *DB) cancelThumbnails(ctx context.Context, tx pgx.Tx, images []uuid.UUID) error {
	if len(images) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, `SELECT DISTINCT j.id FROM unnest($1::uuid[]) AS i(id)
		JOIN river_job AS j ON j.kind = $2 AND j.args @> jsonb_build_object($3::text, i.id)
		WHERE j.state IN ('available', 'pending', 'scheduled', 'retryable', 'running')`,
		images, gallery.ThumbnailJobKind, gallery.ThumbnailJobImageKey)
	if err != nil {
		return fmt.Errorf("finding superseded thumbnail jobs: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return fmt.Errorf("finding superseded thumbnail jobs: %w", err)
	}
	if len(ids) == 0 {
		return nil
	}
	if err := db.jobs.CancelJobs(ctx, tx, ids); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE river_job SET unique_key = NULL WHERE id = ANY($1) AND state = 'running'`, ids); err != nil {
		return fmt.Errorf("releasing superseded thumbnail jobs: %w", err)
	}
	return nil
}

// enqueueThumbnails fills in the source hash of each target and enqueues a job for those
// whose thumbnail record is not complete. Rows written by the legacy design's RPC have no
// content hash and get none: Vitrine did not store their original.
func (db *DB) enqueueThumbnails(ctx context.Context, tx pgx.Tx, targets []gallery.ThumbnailTarget) error {
	var out []gallery.ThumbnailTarget
	for _, t := range targets {
		err := tx.QueryRow(ctx, `SELECT content_sha256 FROM product_images
			WHERE id = $1 AND content_sha256 IS NOT NULL
			  AND NOT vitrine_thumbnails_complete(thumbnails, thumbnail_url)`, t.ImageID).Scan(&t.SourceSHA256)
		if err == pgx.ErrNoRows {
			continue
		}
		if err != nil {
			return err
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil
	}
	return db.jobs.EnqueueThumbnails(ctx, tx, out)
}
