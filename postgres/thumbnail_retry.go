package postgres

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/vitrine-dev/vitrine/gallery"
)

// RetryThumbnails enqueues a new thumbnail job for an image whose last one failed (its status
// is gallery.StatusFailed), and returns the image as it is then (status pending). It is a
// gallery write like the others: it takes the product's lock, the caller must be allowed to
// change the gallery (an image it cannot see is not found, one of another supplier's
// published product is forbidden), and it touches the image's row, so that a maintenance
// pause refuses it. An image in any other status is a conflict: its job is queued, running or
// done, or it wants no thumbnails. A DB without a job queue (see WithJobs) answers
// EUNSUPPORTED for an image it would retry.
//
// An image whose import failed is imported again: its status becomes importing and a new
// import job fetches its source URL.
func (db *DB) RetryThumbnails(ctx context.Context, imageID uuid.UUID) (gallery.Image, error) {
	var out gallery.Image
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		w, err := db.beginImageWrite(ctx, tx, imageID)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT vitrine_check_writable($1)`, w.productID); err != nil {
			return err
		}
		im, err := readImage(ctx, tx, imageID)
		if err != nil {
			return err
		}
		if im.Status != gallery.StatusFailed {
			return gallery.Errorf(gallery.ECONFLICT, "image %s has thumbnail status %q; only a failed job can be retried", imageID, im.Status)
		}
		if im.ImportFailure != "" {
			if db.jobs == nil {
				return gallery.Errorf(gallery.EUNSUPPORTED, "this server enqueues no import jobs")
			}
			if err := db.retryImport(ctx, tx, im); err != nil {
				return err
			}
			out, err = readImage(ctx, tx, imageID)
			return err
		}
		if !db.thumbnails.Wants(im.Order) || im.SHA256 == "" {
			return gallery.Errorf(gallery.ECONFLICT, "image %s gets no thumbnails at position %d", imageID, im.Order)
		}
		if db.jobs == nil {
			return gallery.Errorf(gallery.EUNSUPPORTED, "this server enqueues no thumbnail jobs")
		}
		tag, err := tx.Exec(ctx, `UPDATE product_images SET updated_at = now() WHERE id = $1`, imageID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return gallery.Errorf(gallery.ENOTFOUND, "image %s does not exist", imageID)
		}
		target := []gallery.ThumbnailTarget{{ImageID: imageID, SourceSHA256: im.SHA256}}
		// River's table is the service's: the caller's role may not insert into it.
		if err := asService(ctx, tx, func() error { return db.jobs.EnqueueThumbnails(ctx, tx, target) }); err != nil {
			return err
		}
		out, err = readImage(ctx, tx, imageID)
		return err
	})
	if err == nil && out.Status == gallery.StatusImporting {
		db.notify(out.ProductID) // the status event of the import's retry
	}
	return out, domainError("retrying thumbnails", err)
}
