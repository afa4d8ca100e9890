package postgres

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/vitrine-dev/vitrine/gallery"
)

// ImportImage is where an import by URL starts, for every caller (the API, bulk imports): in
// one transaction, under the product's lock, it inserts an image with status importing at
// in.Position (nil: the end of the gallery; the images from there on move down by one) and
// enqueues the job that fetches in.SourceURL. It returns the image and false.
//
// The same (product, source URL) is one image: when the product already has an image
// imported from in.SourceURL, whatever its status, it returns that image and true, and changes
// nothing (in.Alt and in.Position are not applied).
//
// The caller is the one that ctx carries, as for every write: a supplier must own the
// product (a product it cannot see is not found, one it can see but not change is
// forbidden). A position outside 0..n (n the gallery's size) is invalid. A DB without a job
// queue (see WithJobs) answers EUNSUPPORTED. It does not check the URL itself: callers check
// it first (upload.Service.Import does).
func (db *DB) ImportImage(ctx context.Context, in gallery.NewImport) (gallery.Image, bool, error) {
	if db.jobs == nil {
		return gallery.Image{}, false, gallery.Errorf(gallery.EUNSUPPORTED, "this server enqueues no import jobs")
	}
	var pos *int32
	if in.Position != nil {
		p, err := int4("position", *in.Position)
		if err != nil {
			return gallery.Image{}, false, err
		}
		pos = &p
	}
	var (
		out     gallery.Image
		existed bool
	)
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		w, err := db.beginGalleryWrite(ctx, tx, in.ProductID)
		if err != nil {
			return err
		}
		caller, _ := gallery.CallerFrom(ctx)
		var id uuid.UUID
		if err := tx.QueryRow(ctx, `SELECT o_id, o_existed FROM vitrine_import_image($1, $2, $3, $4, $5, $6)`,
			in.ProductID, caller.SupplierRef(), uuid.New(), in.SourceURL, in.Alt, pos).Scan(&id, &existed); err != nil {
			return err
		}
		if !existed {
			w.added = id
			if err := w.finish(ctx); err != nil {
				return err
			}
			// River's table is the service's: the caller's role may not insert into it.
			if err := asService(ctx, tx, func() error { return db.jobs.EnqueueImport(ctx, tx, id, in.SourceURL) }); err != nil {
				return err
			}
		}
		out, err = readImage(ctx, tx, id)
		return err
	})
	if err == nil && !existed {
		db.notify(in.ProductID)
	}
	return out, existed, domainError("importing image", err)
}

// PublishImport gives an image being imported from sourceURL its original: im.ID names the
// image, and im's URL, StoragePath, SHA256, Bytes, Width, Height and MediaType are the checked
// original's. publish runs as AppendImage's does: after the row is updated, under a shared lock
// on the original's key, and it must make the object exist. The image keeps its place; its
// thumbnail job is enqueued in the same transaction when the policy wants thumbnails at that
// place. An image that is gone, or no longer importing from sourceURL (deleted, or imported
// again meanwhile), is a conflict, and publish is not called.
func (db *DB) PublishImport(ctx context.Context, im gallery.NewImage, sourceURL string, publish func(context.Context) error) (gallery.Image, error) {
	var out gallery.Image
	var productID uuid.UUID
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if err := lockObjects(ctx, tx, []string{im.StoragePath}, true); err != nil {
			return err
		}
		w, err := db.beginImageWrite(ctx, tx, im.ID)
		if err != nil {
			return err
		}
		productID = w.productID
		var order int
		err = tx.QueryRow(ctx, `UPDATE product_images
			SET image_url = $3, storage_path = $4, content_sha256 = $5, byte_size = $6, width = $7, height = $8,
			    media_type = $9, import_status = NULL, import_error_code = NULL, import_error = NULL,
			    -- Legacy thumbnails recorded (by set_main_thumbnails) while it had no original
			    -- are not of this original.
			    thumbnails = NULL, thumbnail_url = NULL
			WHERE id = $1 AND source_url = $2 AND import_status = 'importing'
			RETURNING image_order`,
			im.ID, sourceURL, im.URL, im.StoragePath, im.SHA256, im.Bytes, im.Width, im.Height, im.MediaType).Scan(&order)
		if err == pgx.ErrNoRows {
			return gallery.Errorf(gallery.ECONFLICT, "image %s is no longer being imported from its source", im.ID)
		}
		if err != nil {
			return err
		}
		if publish != nil {
			if err := publish(ctx); err != nil {
				return err
			}
		}
		if db.jobs != nil && db.thumbnails.Wants(order) {
			target := []gallery.ThumbnailTarget{{ImageID: im.ID}}
			if err := asService(ctx, tx, func() error { return db.enqueueThumbnails(ctx, tx, target) }); err != nil {
				return err
			}
		}
		out, err = readImage(ctx, tx, im.ID)
		return err
	})
	if err == nil {
		db.notify(productID)
	}
	return out, domainError("publishing imported image", err)
}

// FailImport records that the import of an image from sourceURL failed with e: its status
// becomes failed, with e's code and message, until it is retried or deleted. An image that is
// gone, or no longer importing from sourceURL, is a conflict, and nothing changes.
func (db *DB) FailImport(ctx context.Context, imageID uuid.UUID, sourceURL string, e gallery.ImportError) error {
	var productID uuid.UUID
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `UPDATE product_images
			SET import_status = 'failed', import_error_code = $3, import_error = $4
			WHERE id = $1 AND source_url = $2 AND import_status = 'importing'
			RETURNING product_id, `+notifyAfterCommit,
			imageID, sourceURL, string(e.Code), e.Message).Scan(&productID, nil)
		if err == pgx.ErrNoRows {
			return gallery.Errorf(gallery.ECONFLICT, "image %s is no longer being imported from its source", imageID)
		}
		return err
	})
	if err == nil {
		db.notify(productID)
	}
	return domainError("recording failed import", err)
}

// retryImport sets an image whose import failed back to importing and enqueues its import
// job again, inside a gallery write of its product (see RetryThumbnails).
func (db *DB) retryImport(ctx context.Context, tx pgx.Tx, im gallery.Image) error {
	tag, err := tx.Exec(ctx, `UPDATE product_images
		SET import_status = 'importing', import_error_code = NULL, import_error = NULL
		WHERE id = $1 AND import_status = 'failed'`, im.ID)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return gallery.Errorf(gallery.ECONFLICT, "image %s has no failed import to retry", im.ID)
	}
	return asService(ctx, tx, func() error {
		// The job that recorded the failure may not be marked completed yet (River records
		// completions in batches), and would make the new job a duplicate: it has done all it
		// will do, so it gives up its place in River's uniqueness.
		if _, err := tx.Exec(ctx, `UPDATE river_job SET unique_key = NULL
			WHERE kind = $1 AND args @> jsonb_build_object('image_id', $2::uuid) AND state = 'running'`,
			gallery.ImportJobKind, im.ID); err != nil {
			return fmt.Errorf("releasing the failed import's job: %w", err)
		}
		return db.jobs.EnqueueImport(ctx, tx, im.ID, im.SourceURL)
	})
}
