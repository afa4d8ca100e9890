package postgres

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/vitrine-dev/vitrine/gallery"
)

// ImportImages is where imports by URL start, for every caller (the API, bulk imports): in
// one transaction, it inserts an image with status importing for each import, at its
// Position (nil: the end of the gallery; the images from there on move down by one), under
// its product's lock, and enqueues the jobs that fetch their sources (one River statement
// for them all). The imports of one product are made in the order given; products are locked
// in the order of their ids, so that two batches never wait for each other's locks.
//
// The same (product, source URL) is one image: when the product already has an image
// imported from a SourceURL, whatever its status, that image is the import's result, with
// Existed, and nothing changes (Alt and Position are not applied).
//
// The caller is the one that ctx carries, as for every write: a supplier must own the
// product (a product it cannot see is not found, one it can see but not change is
// forbidden). A position outside 0..n (n the gallery's size) is invalid, unless the import
// asks for it to be clamped to n. An import refused for its own input (a domain error that is
// not gallery.Transient) gets that error in its result and leaves nothing behind, and the
// others go on; any other failure rolls back the whole batch and is returned. A DB without a
// job queue (see WithJobs) answers EUNSUPPORTED. It does not check the URLs themselves:
// callers check them first (upload.Service.ImportMany does).
func (db *DB) ImportImages(ctx context.Context, ins []gallery.NewImport) ([]gallery.ImportResult, error) {
	if db.jobs == nil {
		return nil, gallery.Errorf(gallery.EUNSUPPORTED, "this server enqueues no import jobs")
	}
	// The imports of each product, products in the order of their ids.
	byProduct := map[uuid.UUID][]int{}
	var products []uuid.UUID
	for i, in := range ins {
		if _, ok := byProduct[in.ProductID]; !ok {
			products = append(products, in.ProductID)
		}
		byProduct[in.ProductID] = append(byProduct[in.ProductID], i)
	}
	slices.SortFunc(products, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
	var (
		res     []gallery.ImportResult
		changed []uuid.UUID
	)
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		res, changed = make([]gallery.ImportResult, len(ins)), changed[:0]
		ids := make([]uuid.UUID, len(ins))
		var targets []gallery.ImportTarget
		for _, productID := range products {
			added, err := db.importIntoGallery(ctx, tx, productID, ins, byProduct[productID], res, ids)
			if err != nil {
				return err
			}
			for _, i := range added {
				targets = append(targets, gallery.ImportTarget{ImageID: ids[i], SourceURL: ins[i].SourceURL})
			}
			if len(added) > 0 {
				changed = append(changed, productID)
			}
		}
		// River's table is the service's: the caller's role may not insert into it.
		if err := asService(ctx, tx, func() error { return db.jobs.EnqueueImports(ctx, tx, targets) }); err != nil {
			return err
		}
		return readImportedImages(ctx, tx, ids, res)
	})
	if err != nil {
		return nil, domainError("importing images", err)
	}
	db.notify(changed...)
	return res, nil
}

// readImportedImages reads, in one statement, the image of every import that has one
// (ids[i] not nil) into res[i].
func readImportedImages(ctx context.Context, tx pgx.Tx, ids []uuid.UUID, res []gallery.ImportResult) error {
	at := map[uuid.UUID][]int{}
	var want []uuid.UUID
	for i, id := range ids {
		if id != uuid.Nil {
			if _, ok := at[id]; !ok {
				want = append(want, id)
			}
			at[id] = append(at[id], i)
		}
	}
	if len(want) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, imageSelect+` WHERE i.id = ANY($1)`, want)
	if err != nil {
		return err
	}
	images, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (gallery.Image, error) { return scanImage(r) })
	if err != nil {
		return err
	}
	for _, im := range images {
		for _, i := range at[im.ID] {
			res[i].Image = im
		}
	}
	return nil
}

// importIntoGallery makes the imports ins[i] (i in which, all of productID) inside a savepoint
// of tx, under the product's lock, each in a savepoint of its own (when there are several) so
// that an import refused for its input is rolled back alone. It fills res[i] with the import's
// error or whether its image existed, and ids[i] with its image, and returns the imports that
// made a new image; an error returned is not an import's own, and ends the transaction.
func (db *DB) importIntoGallery(ctx context.Context, tx pgx.Tx, productID uuid.UUID, ins []gallery.NewImport, which []int, res []gallery.ImportResult, ids []uuid.UUID) ([]int, error) {
	refuse := func(err error) error {
		if err = domainError("importing image", err); gallery.Transient(err) {
			return err
		}
		for _, i := range which {
			res[i] = gallery.ImportResult{Err: err}
		}
		return nil
	}
	sp, err := tx.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer sp.Rollback(ctx)
	w, err := db.beginGalleryWrite(ctx, sp, productID)
	if err != nil {
		return nil, refuse(err)
	}
	var added []int
	for _, i := range which {
		// A product's only import is rolled back with the product's savepoint.
		existed, err := importOne(ctx, sp, ins[i], &ids[i], len(which) > 1)
		if err != nil {
			if len(which) == 1 {
				return nil, refuse(err)
			}
			if err = domainError("importing image", err); gallery.Transient(err) {
				return nil, err
			}
			res[i] = gallery.ImportResult{Err: err}
			continue
		}
		res[i].Existed = existed
		if !existed {
			added = append(added, i)
			w.added = ids[i]
		}
	}
	if len(added) > 0 {
		if err := w.finish(ctx); err != nil {
			return nil, err
		}
	}
	return added, sp.Commit(ctx)
}

// importOne inserts the importing image of in (or finds the product's image from its URL)
// into tx, inside a savepoint of its own, rolled back when it fails, when nested is set; it
// sets *id to the image and reports whether it existed.
func importOne(ctx context.Context, tx pgx.Tx, in gallery.NewImport, id *uuid.UUID, nested bool) (existed bool, err error) {
	q := tx
	if nested {
		if q, err = tx.Begin(ctx); err != nil {
			return false, err
		}
		defer q.Rollback(ctx)
	}
	var pos *int32
	if in.Position != nil {
		p, err := int4("position", *in.Position)
		if err != nil {
			return false, err
		}
		if in.ClampPosition {
			var size int32
			if err := q.QueryRow(ctx, `SELECT count(*) FROM product_images WHERE product_id = $1`, in.ProductID).Scan(&size); err != nil {
				return false, err
			}
			p = min(p, size)
		}
		pos = &p
	}
	// The function itself refuses a product the caller may not change.
	if err := q.QueryRow(ctx, `SELECT o_id, o_existed FROM vitrine_import_image($1, NULL, $2, $3, $4, $5)`,
		in.ProductID, uuid.New(), in.SourceURL, in.Alt, pos).Scan(id, &existed); err != nil {
		return false, err
	}
	if nested {
		return existed, q.Commit(ctx)
	}
	return existed, nil
}

// PublishImport gives an image being imported from sourceURL its original: im.ID names the
// image, and im's URL, StoragePath, SHA256, Bytes, Width, Height and MediaType are the checked
// original's. publish runs as AppendImage's does: after the row is updated, under a shared lock
// on the original's key, and it must make the object exist. The image keeps its place; its
// thumbnail job is enqueued in the same transaction when the policy wants thumbnails at that
// place. An image that is gone, or no longer importing from sourceURL (deleted, or imported
// again meanwhile), is a conflict, and publish is not called.
func (db *DB) PublishImport(ctx context.Context, im gallery.NewImage, sourceURL string, publish func(context.Context) error) error {
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
			return asService(ctx, tx, func() error { return db.enqueueThumbnails(ctx, tx, target) })
		}
		return nil
	})
	if err == nil {
		db.notify(productID)
	}
	return domainError("publishing imported image", err)
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
		return db.jobs.EnqueueImports(ctx, tx, []gallery.ImportTarget{{ImageID: im.ID, SourceURL: im.SourceURL}})
	})
}
