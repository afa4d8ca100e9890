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
	mainAfter  uuid.UUID   // read by settle
	added      uuid.UUID   // the appended image, if any
	gone       []uuid.UUID // the images the change deleted
	dropped    bool        // the change may have sent keys to the object outbox
}

// beginGalleryWrite takes the product's lock and notes its main image. The transaction
// notifies the readers of its events after it commits (the caller hands the product to
// db.notify then), not inside itself.
func (db *DB) beginGalleryWrite(ctx context.Context, tx pgx.Tx, productID uuid.UUID) (*galleryWrite, error) {
	var b pgx.Batch
	w := db.queueGalleryWrite(&b, tx, productID)
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return nil, err
	}
	return w, nil
}

// queueGalleryWrite is beginGalleryWrite's statements queued in b, for a caller that sends
// several writes' statements in one round trip: the write is begun once b is sent and closed.
// The main image is read after the lock is taken: each statement has its own snapshot.
func (db *DB) queueGalleryWrite(b *pgx.Batch, tx pgx.Tx, productID uuid.UUID) *galleryWrite {
	w := &galleryWrite{db: db, tx: tx, productID: productID}
	b.Queue(`SELECT vitrine_lock_product($1), `+notifyAfterCommit, productID)
	b.Queue(`SELECT id FROM product_images WHERE product_id = $1 AND image_order = 0`, productID).QueryRow(func(row pgx.Row) error {
		if err := row.Scan(&w.mainBefore); err != nil && err != pgx.ErrNoRows {
			return err
		}
		return nil
	})
	return w
}

// beginImageWrite is beginGalleryWrite for the product of an image.
func (db *DB) beginImageWrite(ctx context.Context, tx pgx.Tx, imageID uuid.UUID) (*galleryWrite, error) {
	var productID uuid.UUID
	if err := tx.QueryRow(ctx, `SELECT vitrine_image_product($1)`, imageID).Scan(&productID); err != nil {
		return nil, err
	}
	return db.beginGalleryWrite(ctx, tx, productID)
}

// afterWrite is what the writes of a transaction call for once they are made: the thumbnail
// jobs to enqueue and to supersede, and whether keys went to the object outbox.
type afterWrite struct {
	targets    []gallery.ThumbnailTarget
	superseded []uuid.UUID
	dropped    bool
}

// add notes what b calls for too.
func (a *afterWrite) add(b afterWrite) {
	a.targets = append(a.targets, b.targets...)
	a.superseded = append(a.superseded, b.superseded...)
	a.dropped = a.dropped || b.dropped
}

// finish enqueues what the write calls for (see settle and enqueue).
func (w *galleryWrite) finish(ctx context.Context) error {
	var after afterWrite
	if err := w.settle(ctx, &after); err != nil {
		return err
	}
	return w.db.enqueueAfterWrites(ctx, w.tx, after)
}

// settle notes in after what the write calls for, as the caller: thumbnails for a new main
// image (or for the new image), the jobs of images no longer main or deleted, and, where only
// the main image has thumbnails, clears them on the others. A transaction of several writes
// settles each, then enqueues what they call for once (enqueueAfterWrites).
func (w *galleryWrite) settle(ctx context.Context, after *afterWrite) error {
	var b pgx.Batch
	if w.queueSettle(&b); b.Len() > 0 {
		if err := w.tx.SendBatch(ctx, &b).Close(); err != nil {
			return err
		}
	}
	w.settled(after)
	return nil
}

// queueSettle queues in b the statement settle needs, if any: where only the main image has
// thumbnails, they are cleared elsewhere (their objects go to the outbox), and the main image
// is read, in one statement (the clearing changes no order). Once b is sent and closed,
// settled notes what the write calls for.
func (w *galleryWrite) queueSettle(b *pgx.Batch) {
	if w.db.jobs == nil || w.db.thumbnailsBeyondMain() {
		return
	}
	b.Queue(`WITH cleared AS (
			UPDATE product_images
			SET thumbnails = NULL, thumbnail_url = NULL, variants = NULL, thumbhash = NULL, dominant_color = NULL
			WHERE product_id = $1 AND image_order > 0
			  AND (thumbnails IS NOT NULL OR thumbnail_url IS NOT NULL OR variants IS NOT NULL)
			RETURNING 1)
		SELECT (SELECT id FROM product_images WHERE product_id = $1 AND image_order = 0), (SELECT count(*) > 0 FROM cleared)`,
		w.productID).QueryRow(func(row pgx.Row) error {
		var main *uuid.UUID
		var cleared bool
		if err := row.Scan(&main, &cleared); err != nil {
			return err
		}
		if main != nil {
			w.mainAfter = *main
		}
		w.dropped = w.dropped || cleared
		return nil
	})
}

// settled notes in after what the write calls for, once queueSettle's statement has run.
func (w *galleryWrite) settled(after *afterWrite) {
	if w.db.jobs == nil {
		return
	}
	after.superseded = append(after.superseded, w.gone...) // their jobs have nothing left to do
	after.dropped = after.dropped || w.dropped
	if w.db.thumbnailsBeyondMain() {
		if w.added != uuid.Nil {
			after.targets = append(after.targets, gallery.ThumbnailTarget{ImageID: w.added})
		}
		return
	}
	if w.mainAfter != w.mainBefore {
		if w.mainAfter != uuid.Nil {
			after.targets = append(after.targets, gallery.ThumbnailTarget{ImageID: w.mainAfter})
		}
		// Only a main image gets a job, so the one that was main until now is the only
		// image of the product that can have one in flight.
		if w.mainBefore != uuid.Nil {
			after.superseded = append(after.superseded, w.mainBefore)
		}
	}
}

// enqueueAfterWrites enqueues, as the service (River's table is the service's: the caller's
// role may not insert into it), what a transaction's writes call for: their thumbnail jobs,
// the supersession of others, the jobs of the webhook deliveries that triggers recorded in
// the transaction, and a drain of the object outbox when keys went to it.
func (db *DB) enqueueAfterWrites(ctx context.Context, tx pgx.Tx, after afterWrite) error {
	if db.jobs == nil {
		return nil
	}
	return asService(ctx, tx, func() error { return db.enqueueAfterWritesAsService(ctx, tx, after) })
}

// enqueueAfterWritesAsService is enqueueAfterWrites in a transaction acting as the service.
func (db *DB) enqueueAfterWritesAsService(ctx context.Context, tx pgx.Tx, after afterWrite) error {
	if err := db.cancelThumbnails(ctx, tx, after.superseded); err != nil {
		return err
	}
	if err := db.enqueueThumbnails(ctx, tx, after.targets); err != nil {
		return err
	}
	if err := db.scheduleWebhooks(ctx, tx); err != nil {
		return err
	}
	if after.dropped {
		return db.jobs.EnqueueOutboxDrain(ctx, tx)
	}
	return nil
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
