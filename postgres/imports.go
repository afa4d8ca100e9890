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
// Existed, and nothing changes (Alt and Position are not applied). An import from a bulk
// import's line (NewImport.Line) is recorded on the line in the same transaction.
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
	b := importBatch{ins: ins, byProduct: map[uuid.UUID][]int{}, positions: make([]*int32, len(ins))}
	bad := make([]error, len(ins))
	for i, in := range ins {
		if in.Position != nil {
			p, err := int4("position", *in.Position)
			if err != nil {
				bad[i] = domainError("importing image", err)
				continue
			}
			b.positions[i] = &p
		}
		if _, ok := b.byProduct[in.ProductID]; !ok {
			b.products = append(b.products, in.ProductID)
		}
		b.byProduct[in.ProductID] = append(b.byProduct[in.ProductID], i)
	}
	// The imports of each product, products in the order of their ids.
	slices.SortFunc(b.products, func(x, y uuid.UUID) int { return bytes.Compare(x[:], y[:]) })
	// First every product's statements in one round trip; when one is refused (a product the
	// caller may not change, a position out of range), the transaction is made again with a
	// savepoint for each product and import, so that the refused import alone is undone.
	careful := false
	err := db.inTx(ctx, func(tx pgx.Tx) error { return b.run(ctx, db, tx, careful) })
	if err != nil && !gallery.Transient(domainError("importing images", err)) {
		careful = true
		err = db.inTx(ctx, func(tx pgx.Tx) error { return b.run(ctx, db, tx, careful) })
	}
	if err != nil {
		return nil, domainError("importing images", err)
	}
	for i, e := range bad {
		if e != nil {
			b.res[i] = gallery.ImportResult{Err: e}
		}
	}
	db.notify(b.changed...)
	return b.res, nil
}

// importBatch is one transaction of ImportImages.
type importBatch struct {
	ins       []gallery.NewImport
	positions []*int32 // ins[i].Position, checked
	products  []uuid.UUID
	byProduct map[uuid.UUID][]int // the imports of each product, in order
	// Filled by run.
	res     []gallery.ImportResult
	ids     []uuid.UUID
	changed []uuid.UUID
}

// importImageSQL makes or finds one import's image: $1 product, $2 new image id, $3 source URL,
// $4 alt, $5 position (NULL: the end), $6 whether a position past the end means the end. The
// function refuses a product the caller may not change.
const importImageSQL = `SELECT o_id, o_existed FROM vitrine_import_image($1, NULL, $2, $3, $4,
	CASE WHEN $6 AND $5::int IS NOT NULL THEN least($5::int, (SELECT count(*) FROM product_images WHERE product_id = $1)::int) ELSE $5::int END)`

// run makes the batch's imports in tx: when careful, each product's in a savepoint and each
// import in one of its own (importIntoGallery); otherwise every statement in one round trip,
// where any refusal fails the transaction.
func (b *importBatch) run(ctx context.Context, db *DB, tx pgx.Tx, careful bool) error {
	b.res, b.ids, b.changed = make([]gallery.ImportResult, len(b.ins)), make([]uuid.UUID, len(b.ins)), b.changed[:0]
	var (
		targets []gallery.ImportTarget
		after   afterWrite
		added   = map[uuid.UUID][]int{}
	)
	if careful {
		for _, productID := range b.products {
			made, err := db.importIntoGallery(ctx, tx, productID, b, &after)
			if err != nil {
				return err
			}
			added[productID] = made
		}
	} else {
		var batch pgx.Batch
		writes := make([]*galleryWrite, len(b.products))
		for k, productID := range b.products {
			w := db.queueGalleryWrite(&batch, tx, productID)
			for _, i := range b.byProduct[productID] {
				b.queueImport(&batch, i, func() {
					added[productID] = append(added[productID], i)
					w.added = b.ids[i]
				})
			}
			w.queueSettle(&batch)
			writes[k] = w
		}
		if err := tx.SendBatch(ctx, &batch).Close(); err != nil {
			return err
		}
		for _, w := range writes {
			if len(added[w.productID]) > 0 {
				w.settled(&after)
			}
		}
	}
	for _, productID := range b.products {
		for _, i := range added[productID] {
			targets = append(targets, gallery.ImportTarget{ImageID: b.ids[i], SourceURL: b.ins[i].SourceURL})
		}
		if len(added[productID]) > 0 {
			b.changed = append(b.changed, productID)
		}
	}
	// What the galleries' writes call for, and the fetch jobs, are enqueued at once, as the
	// service: River's table is the service's, the caller's role may not insert into it.
	err := asService(ctx, tx, func() error {
		if err := db.enqueueAfterWritesAsService(ctx, tx, after); err != nil {
			return err
		}
		if err := db.jobs.EnqueueImports(ctx, tx, targets); err != nil {
			return err
		}
		return b.admitLines(ctx, tx)
	})
	if err != nil {
		return err
	}
	return readImportedImages(ctx, tx, b.ids, b.res)
}

// admitLines records, on the bulk import lines the batch's imports come from, that they were
// admitted, with their images (see NewImport.Line); tx acts as the service. A line refused
// for its own input is not recorded: its caller fails it.
func (b *importBatch) admitLines(ctx context.Context, tx pgx.Tx) error {
	byImport := map[uuid.UUID]*struct {
		lines  []int
		images []uuid.UUID
	}{}
	var order []uuid.UUID
	for i, in := range b.ins {
		if in.Line == nil || b.ids[i] == uuid.Nil {
			continue
		}
		a := byImport[in.Line.ImportID]
		if a == nil {
			a = &struct {
				lines  []int
				images []uuid.UUID
			}{}
			byImport[in.Line.ImportID] = a
			order = append(order, in.Line.ImportID)
		}
		a.lines, a.images = append(a.lines, in.Line.Line), append(a.images, b.ids[i])
	}
	for _, id := range order {
		if err := admitImportLines(ctx, tx, id, byImport[id].lines, byImport[id].images); err != nil {
			return err
		}
	}
	return nil
}

// queueImport queues in batch the statement of import i, which records its image and whether
// it existed, and calls made when it made a new image.
func (b *importBatch) queueImport(batch *pgx.Batch, i int, made func()) {
	in := b.ins[i]
	batch.Queue(importImageSQL, in.ProductID, uuid.New(), in.SourceURL, in.Alt, b.positions[i], in.ClampPosition).QueryRow(func(row pgx.Row) error {
		if err := row.Scan(&b.ids[i], &b.res[i].Existed); err != nil {
			return err
		}
		if !b.res[i].Existed {
			made()
		}
		return nil
	})
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

// importIntoGallery makes the imports of productID in the batch inside a savepoint of tx,
// under the product's lock, each in a savepoint of its own (when there are several) so that
// an import refused for its input is rolled back alone. It fills the imports' results and
// images in b, and returns the imports that made a new image; an error returned is not an
// import's own, and ends the transaction. What the gallery's write calls for is added to
// after, for the transaction to enqueue.
func (db *DB) importIntoGallery(ctx context.Context, tx pgx.Tx, productID uuid.UUID, b *importBatch, after *afterWrite) ([]int, error) {
	which := b.byProduct[productID]
	refuse := func(err error) error {
		if err = domainError("importing image", err); gallery.Transient(err) {
			return err
		}
		for _, i := range which {
			b.res[i] = gallery.ImportResult{Err: err}
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
		isNew := false
		err := b.importOne(ctx, sp, i, len(which) > 1, func() { isNew = true })
		if err == nil && isNew {
			added = append(added, i)
			w.added = b.ids[i]
		}
		if err != nil {
			if len(which) == 1 {
				return nil, refuse(err)
			}
			if err = domainError("importing image", err); gallery.Transient(err) {
				return nil, err
			}
			b.res[i] = gallery.ImportResult{Err: err}
			continue
		}
	}
	var mine afterWrite
	if len(added) > 0 {
		if err := w.settle(ctx, &mine); err != nil {
			return nil, err
		}
	}
	if err := sp.Commit(ctx); err != nil {
		return nil, err
	}
	after.add(mine)
	return added, nil
}

// importOne makes import i in tx, inside a savepoint of its own, rolled back when it fails,
// when nested is set (see queueImport).
func (b *importBatch) importOne(ctx context.Context, tx pgx.Tx, i int, nested bool, made func()) (err error) {
	q := tx
	if nested {
		if q, err = tx.Begin(ctx); err != nil {
			return err
		}
		defer q.Rollback(ctx)
	}
	var batch pgx.Batch
	b.queueImport(&batch, i, made)
	if err := q.SendBatch(ctx, &batch).Close(); err != nil {
		return err
	}
	if nested {
		return q.Commit(ctx)
	}
	return nil
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
