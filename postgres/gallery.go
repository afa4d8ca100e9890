package postgres

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/vitrine-dev/vitrine/gallery"
)

// AppendImage adds an image at the end of its product's gallery through the database function
// vitrine_append_image, which serialises appends to one product with an advisory lock. When
// the caller that ctx carries is a supplier, it must act for the product's supplier and may not
// be a viewer of its team. publish, when not nil, runs in the transaction after the row is inserted, while the transaction holds a shared lock on the
// original's key, so that no concurrent delete of an object with the same bytes can remove it
// before the row refers to it; it must make the object exist (storing an object twice under
// its content key is harmless). A refused append never calls it.
// The image's thumbnail job, if it needs one, is enqueued in the same transaction.
func (db *DB) AppendImage(ctx context.Context, im gallery.NewImage, publish func(context.Context) error) (gallery.Image, error) {
	if im.ID == uuid.Nil {
		im.ID = uuid.New()
	}
	var out gallery.Image
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if err := lockObjects(ctx, tx, []string{im.StoragePath}, true); err != nil {
			return err
		}
		w, err := db.beginGalleryWrite(ctx, tx, im.ProductID)
		if err != nil {
			return err
		}
		id := im.ID
		// The function itself refuses a product the caller may not change.
		if _, err := tx.Exec(ctx, `SELECT vitrine_append_image($1, NULL, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			im.ProductID, im.ID, im.URL, im.StoragePath, im.SHA256, im.Bytes,
			im.Width, im.Height, im.MediaType, im.Alt); err != nil {
			return err
		}
		if im.UploadID != uuid.Nil {
			// The staging object goes to the outbox by trigger; a second completion finds no row.
			var tag pgconn.CommandTag
			err := asService(ctx, tx, func() (err error) {
				tag, err = tx.Exec(ctx, `DELETE FROM vitrine_uploads WHERE id = $1 AND product_id = $2`, im.UploadID, im.ProductID)
				return err
			})
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				return gallery.Errorf(gallery.ECONFLICT, "upload %s was already completed, or has expired", im.UploadID)
			}
			w.dropped = true
		}
		// Publish only once the row is in: a refused append publishes nothing.
		if publish != nil {
			if err := publish(ctx); err != nil {
				return err
			}
		}
		w.added = id
		if err := w.finish(ctx); err != nil {
			return err
		}
		out, err = readImage(ctx, tx, id)
		return err
	})
	if err == nil {
		db.notify(im.ProductID)
	}
	return out, domainError("adding image", err)
}

// UpdateAlt sets an image's alt text. An image that does not exist, or that the caller may
// not change, is an error, never a silent no-op.
func (db *DB) UpdateAlt(ctx context.Context, id uuid.UUID, alt string) (gallery.Image, error) {
	var out gallery.Image
	var productID uuid.UUID
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT p, vitrine_check_writable(p), `+notifyAfterCommit+`
			FROM vitrine_image_product($1) AS p`, id).Scan(&productID, nil, nil); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE product_images SET alt = $2 WHERE id = $1`, id, alt)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return gallery.Errorf(gallery.ENOTFOUND, "image %s does not exist", id)
		}
		out, err = readImage(ctx, tx, id)
		return err
	})
	if err == nil {
		db.notify(productID)
	}
	return out, domainError("updating image", err)
}

// DeleteImage deletes an image and moves the later images of its gallery up by one, so the
// orders stay 0..n-1. Its objects go to the object outbox, and a drain is enqueued, in the
// same transaction. It returns
// the deleted row.
func (db *DB) DeleteImage(ctx context.Context, id uuid.UUID) (gallery.Image, error) {
	var out gallery.Image
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		w, err := db.beginImageWrite(ctx, tx, id)
		if err != nil {
			return err
		}
		if out, err = readImage(ctx, tx, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT FROM vitrine_delete_image($1)`, id); err != nil {
			return err
		}
		w.dropped = true // the row's objects, by trigger
		w.gone = append(w.gone, id)
		return w.finish(ctx)
	})
	if err == nil {
		db.notify(out.ProductID)
	}
	return out, domainError("deleting image", err)
}

// MoveImage moves an image to position (0 makes it the main image) and returns the gallery
// as it is afterwards.
func (db *DB) MoveImage(ctx context.Context, id uuid.UUID, position int) ([]gallery.Image, error) {
	pos, err := int4("position", position)
	if err != nil {
		return nil, err
	}
	var out []gallery.Image
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		w, err := db.beginImageWrite(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT 1 FROM vitrine_move_image($1, $2)`, id, pos); err != nil {
			return err
		}
		if err := w.finish(ctx); err != nil {
			return err
		}
		out, err = listImages(ctx, tx, w.productID)
		return err
	})
	if err == nil && len(out) > 0 {
		db.notify(out[0].ProductID)
	}
	return out, domainError("moving image", err)
}

// ReorderImages gives a product's gallery the order of ids, which must name each of its
// images exactly once (otherwise a conflict), and returns the gallery as it is afterwards.
func (db *DB) ReorderImages(ctx context.Context, productID uuid.UUID, ids []uuid.UUID) ([]gallery.Image, error) {
	var out []gallery.Image
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		w, err := db.beginGalleryWrite(ctx, tx, productID)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT vitrine_reorder_images($1, $2)`, productID, ids); err != nil {
			return err
		}
		if err := w.finish(ctx); err != nil {
			return err
		}
		out, err = listImages(ctx, tx, productID)
		return err
	})
	if err == nil {
		db.notify(productID)
	}
	return out, domainError("reordering images", err)
}
