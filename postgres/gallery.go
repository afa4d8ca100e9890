package postgres

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/vitrine-dev/vitrine/gallery"
)

// imageColumns is the column list every image read selects, in the order scanImage expects.
const imageColumns = `id, product_id, image_order, image_url, storage_path,
	coalesce(content_sha256, ''), coalesce(byte_size, 0), coalesce(width, 0), coalesce(height, 0),
	coalesce(media_type, ''), alt, created_at, updated_at`

func scanImage(row pgx.Row) (gallery.Image, error) {
	var im gallery.Image
	err := row.Scan(&im.ID, &im.ProductID, &im.Order, &im.URL, &im.StoragePath,
		&im.SHA256, &im.Bytes, &im.Width, &im.Height, &im.MediaType, &im.Alt,
		&im.CreatedAt, &im.UpdatedAt)
	return im, err
}

// CreateProduct inserts a product. A zero ID gets a fresh random one. An id that exists
// already is a conflict.
func (db *DB) CreateProduct(ctx context.Context, p gallery.Product) (gallery.Product, error) {
	if p.ID == uuid.Nil {
		p.ID = uuid.New()
	}
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO products (id, supplier_id) VALUES ($1, $2)
			RETURNING id, supplier_id, created_at, updated_at`, p.ID, p.SupplierID).
			Scan(&p.ID, &p.SupplierID, &p.CreatedAt, &p.UpdatedAt)
	})
	return p, domainError("creating product", err)
}

// Product returns one product, or a not-found error.
func (db *DB) Product(ctx context.Context, id uuid.UUID) (gallery.Product, error) {
	var p gallery.Product
	err := db.pool.QueryRow(ctx, `SELECT id, supplier_id, created_at, updated_at
		FROM products WHERE id = $1`, id).Scan(&p.ID, &p.SupplierID, &p.CreatedAt, &p.UpdatedAt)
	return p, domainError("reading product", err)
}

// AppendImage adds an image at the end of its product's gallery through the database function
// vitrine_append_image, which serialises appends to one product with an advisory lock. When
// supplierID is not nil it must own the product. It returns the stored row, with its order.
func (db *DB) AppendImage(ctx context.Context, im gallery.NewImage, supplierID *uuid.UUID) (gallery.Image, error) {
	if im.ID == uuid.Nil {
		im.ID = uuid.New()
	}
	var out gallery.Image
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = scanImage(tx.QueryRow(ctx, `SELECT `+imageColumns+`
			FROM vitrine_append_image($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			im.ProductID, supplierID, im.ID, im.URL, im.StoragePath, im.SHA256, im.Bytes,
			im.Width, im.Height, im.MediaType, im.Alt))
		return err
	})
	return out, domainError("adding image", err)
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
	rows, err := tx.Query(ctx, `SELECT `+imageColumns+` FROM product_images
		WHERE product_id = $1 ORDER BY image_order`, productID)
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

// Image returns one image, or a not-found error.
func (db *DB) Image(ctx context.Context, id uuid.UUID) (gallery.Image, error) {
	im, err := scanImage(db.pool.QueryRow(ctx, `SELECT `+imageColumns+`
		FROM product_images WHERE id = $1`, id))
	return im, domainError("reading image", err)
}

// UpdateAlt sets an image's alt text. An image that does not exist is a not-found error, not
// a silent no-op.
func (db *DB) UpdateAlt(ctx context.Context, id uuid.UUID, alt string) (gallery.Image, error) {
	var out gallery.Image
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = scanImage(tx.QueryRow(ctx, `UPDATE product_images SET alt = $2
			WHERE id = $1 RETURNING `+imageColumns, id, alt))
		return err
	})
	return out, domainError("updating image", err)
}

// DeleteImage deletes an image and moves the later images of its gallery up by one, so the
// orders stay 0..n-1. It returns the deleted row.
func (db *DB) DeleteImage(ctx context.Context, id uuid.UUID) (gallery.Image, error) {
	var out gallery.Image
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = scanImage(tx.QueryRow(ctx, `SELECT `+imageColumns+` FROM vitrine_delete_image($1)`, id))
		return err
	})
	return out, domainError("deleting image", err)
}

// MoveImage moves an image to position (0 makes it the main image) and returns the gallery
// as it is afterwards.
func (db *DB) MoveImage(ctx context.Context, id uuid.UUID, position int) ([]gallery.Image, error) {
	var out []gallery.Image
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var productID uuid.UUID
		if err := tx.QueryRow(ctx, `SELECT product_id FROM vitrine_move_image($1, $2)`, id, position).Scan(&productID); err != nil {
			return err
		}
		var err error
		out, err = listImages(ctx, tx, productID)
		return err
	})
	return out, domainError("moving image", err)
}

// ReorderImages gives a product's gallery the order of ids, which must name each of its
// images exactly once (otherwise a conflict), and returns the gallery as it is afterwards.
func (db *DB) ReorderImages(ctx context.Context, productID uuid.UUID, ids []uuid.UUID) ([]gallery.Image, error) {
	var out []gallery.Image
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT vitrine_reorder_images($1, $2)`, productID, ids); err != nil {
			return err
		}
		var err error
		out, err = listImages(ctx, tx, productID)
		return err
	})
	return out, domainError("reordering images", err)
}
