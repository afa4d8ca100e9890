package postgres

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/vitrine-dev/vitrine/gallery"
)

// productColumns are the columns of a product, in the order scanProduct reads them.
const productColumns = `id, supplier_id, title, coalesce(external_ref, ''), published, created_at, updated_at`

// productDest returns the scan destinations of productColumns for p.
func productDest(p *gallery.Product) []any {
	return []any{&p.ID, &p.SupplierID, &p.Title, &p.ExternalRef, &p.Published, &p.CreatedAt, &p.UpdatedAt}
}

// CreateProduct inserts a product. A zero ID gets a fresh random one; a zero SupplierID is
// the supplier the caller acts for (vitrine_supplier()), and a product for a supplier it may
// not change is forbidden, by row-level security. An id that is taken
// by a product the caller can see is a conflict; one taken by a product it cannot see is the
// not-found error that reading that product gives, so that creating is no way to learn which
// hidden products exist. A title longer than gallery.MaxTitleLength is invalid; an external
// reference the supplier already gave another product is a conflict.
func (db *DB) CreateProduct(ctx context.Context, p gallery.Product) (gallery.Product, error) {
	if p.ID == uuid.Nil {
		p.ID = uuid.New()
	}
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var supplier *uuid.UUID
		if p.SupplierID != uuid.Nil {
			supplier = &p.SupplierID
		}
		err := tx.QueryRow(ctx, `INSERT INTO products (id, supplier_id, title, external_ref, published)
			VALUES ($1, coalesce($2, vitrine_supplier()), $3, nullif($4, ''), $5)
			ON CONFLICT (id) DO NOTHING
			RETURNING `+productColumns, p.ID, supplier, p.Title, p.ExternalRef, p.Published).Scan(productDest(&p)...)
		if isUniqueViolation(err, "products_supplier_external_ref") {
			return gallery.Errorf(gallery.ECONFLICT, "the supplier already has a product with external_ref %q", p.ExternalRef)
		}
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42501" { // row-level security refused the row
			return &gallery.Error{Code: gallery.EFORBIDDEN, Err: err,
				Message: "a user creates products only for the supplier it acts for, and not as a viewer of its team"}
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		var visible bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM products WHERE id = $1)`, p.ID).Scan(&visible); err != nil {
			return err
		}
		if !visible {
			return productNotFound(p.ID)
		}
		return gallery.Errorf(gallery.ECONFLICT, "product %s already exists", p.ID)
	})
	return p, domainError("creating product", err)
}

// productNotFound is the error for a product the caller cannot see, whether it exists or
// not.
func productNotFound(id uuid.UUID) error {
	return gallery.Errorf(gallery.ENOTFOUND, "product %s does not exist", id)
}

// Product returns one product, or a not-found error.
func (db *DB) Product(ctx context.Context, id uuid.UUID) (gallery.Product, error) {
	var p gallery.Product
	err := db.inTx(ctx, func(tx pgx.Tx) (err error) {
		p, err = readProduct(ctx, tx, id)
		return err
	})
	return p, domainError("reading product", err)
}

// readProduct reads one product in tx, or answers the not-found error.
func readProduct(ctx context.Context, tx pgx.Tx, id uuid.UUID) (gallery.Product, error) {
	var p gallery.Product
	err := tx.QueryRow(ctx, `SELECT `+productColumns+` FROM products WHERE id = $1`, id).Scan(productDest(&p)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, productNotFound(id)
	}
	return p, err
}

// UpdateProduct applies change to a product: its title, whether it is published (anonymous
// callers then read its gallery), or both, in one statement. A change that sets nothing is
// invalid. A product the caller cannot see is a not-found error; one it can see but not
// change is forbidden; a title longer than gallery.MaxTitleLength is invalid and changes
// nothing.
func (db *DB) UpdateProduct(ctx context.Context, id uuid.UUID, change gallery.ProductChange) (gallery.Product, error) {
	if change.Title == nil && change.Published == nil {
		return gallery.Product{}, gallery.Errorf(gallery.EINVALID, "nothing to change")
	}
	var p gallery.Product
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT vitrine_check_writable($1), `+notifyAfterCommit, id); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `UPDATE products
			SET title = coalesce($2, title), published = coalesce($3, published)
			WHERE id = $1
			RETURNING `+productColumns, id, change.Title, change.Published).Scan(productDest(&p)...)
	})
	if err == nil {
		db.notify(id)
	}
	return p, domainError("updating product", err)
}

// DeleteProduct deletes a product and, by cascade, its images and pending uploads. Their
// objects go to the object outbox (by trigger) and a drain is enqueued, in the same
// transaction. A product the caller cannot see is a not-found error; one it can see but not
// change is forbidden.
func (db *DB) DeleteProduct(ctx context.Context, id uuid.UUID) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		w, err := db.beginGalleryWrite(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT vitrine_check_writable($1)`, id); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT id FROM product_images WHERE product_id = $1`, id)
		if err != nil {
			return err
		}
		if w.gone, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID]); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM products WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return gallery.Errorf(gallery.ENOTFOUND, "product %s does not exist", id)
		}
		w.dropped = true
		return w.finish(ctx)
	})
	if err == nil {
		db.notify(id)
	}
	return domainError("deleting product", err)
}

// productListSelect reads a page of products, newest first, with the size of each gallery
// and its main image, in one statement. Parameters: $1 a search (” for none) matched as a
// substring of the title, ignoring case, $2 the product id the search names (or NULL), $3
// and $4 the (created_at, id) of the last product of the previous page (or NULL), $5 how
// many rows to read, $6 whether only the products of the supplier the caller acts for are
// listed. Row-level security keeps the products the caller may not read out.
const productListSelect = `SELECT p.id, p.supplier_id, p.title, coalesce(p.external_ref, ''), p.published, p.created_at, p.updated_at,
	(SELECT count(*) FROM product_images AS c WHERE c.product_id = p.id),
	m.*
FROM products AS p
LEFT JOIN LATERAL (` + imageSelect + ` WHERE i.product_id = p.id AND i.image_order = 0) AS m ON true
WHERE ($1 = '' OR p.title ILIKE '%' || $1 || '%' ESCAPE '\' OR p.id = $2)
  AND ($3::timestamptz IS NULL OR (p.created_at, p.id) < ($3, $4))
  AND (NOT $6 OR p.supplier_id = (SELECT vitrine_supplier()))
ORDER BY p.created_at DESC, p.id DESC
LIMIT $5`

// ListProducts returns a page of products, newest first: those of the supplier the caller
// acts for (published or
// not: a supplier's list is what it manages, not the other suppliers' published products it
// may also read), the published ones for an anonymous caller, every one for the service. It
// reads as the caller that ctx carries, so row-level security has the last word. Pages go
// by keyset pagination on (created_at, id), so that they neither repeat nor skip products
// however many are added meanwhile. A limit outside 1..gallery.MaxProductPage, or a cursor that this function did
// not make, is invalid.
func (db *DB) ListProducts(ctx context.Context, q gallery.ProductQuery) (gallery.ProductPage, error) {
	if q.Limit < 1 || q.Limit > gallery.MaxProductPage {
		return gallery.ProductPage{}, gallery.Errorf(gallery.EINVALID, "limit must be from 1 to %d", gallery.MaxProductPage)
	}
	var after *productCursor
	if q.Cursor != "" {
		c, err := parseProductCursor(q.Cursor)
		if err != nil {
			return gallery.ProductPage{}, err
		}
		after = &c
	}
	var (
		searchID   *uuid.UUID
		afterTime  *time.Time
		afterID    *uuid.UUID
		page       = gallery.ProductPage{Products: []gallery.ProductSummary{}}
		likeSearch = escapeLike(q.Search)
	)
	if id, err := uuid.Parse(strings.TrimSpace(q.Search)); err == nil {
		searchID = &id
	}
	if after != nil {
		afterTime, afterID = &after.createdAt, &after.id
	}
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		// One more row than asked says whether there is a next page.
		caller, _ := gallery.CallerFrom(ctx)
		ownOnly := caller.Role == gallery.RoleAuthenticated
		rows, err := tx.Query(ctx, productListSelect, likeSearch, searchID, afterTime, afterID, q.Limit+1, ownOnly)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				s    gallery.ProductSummary
				main imageRow
			)
			dest := append(productDest(&s.Product), &s.ImageCount)
			if err := rows.Scan(append(dest, main.dest()...)...); err != nil {
				return err
			}
			s.MainImage = main.image()
			page.Products = append(page.Products, s)
		}
		return rows.Err()
	})
	if err != nil {
		return gallery.ProductPage{}, domainError("listing products", err)
	}
	if len(page.Products) > q.Limit {
		page.Products = page.Products[:q.Limit]
		last := page.Products[q.Limit-1]
		page.NextCursor = productCursor{createdAt: last.CreatedAt, id: last.ID}.String()
	}
	return page, nil
}

// escapeLike escapes the wildcards of LIKE (and its escape character, '\') in s, so that s
// matches itself only.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// productCursor is where a page of products ends: the (created_at, id) of its last product.
// Clients see it as an opaque string.
type productCursor struct {
	createdAt time.Time
	id        uuid.UUID
}

// String encodes the cursor: base64url of "<created_at in Unix microseconds>.<id>".
// PostgreSQL keeps timestamps to the microsecond, so the encoding loses nothing.
func (c productCursor) String() string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%d.%s", c.createdAt.UnixMicro(), c.id))
}

// parseProductCursor reads a cursor that productCursor.String made, or answers invalid.
func parseProductCursor(s string) (productCursor, error) {
	bad := gallery.Errorf(gallery.EINVALID, "cursor is not one that a previous page returned")
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return productCursor{}, bad
	}
	micros, id, ok := strings.Cut(string(raw), ".")
	if !ok {
		return productCursor{}, bad
	}
	n, err := strconv.ParseInt(micros, 10, 64)
	if err != nil {
		return productCursor{}, bad
	}
	u, err := uuid.Parse(id)
	if err != nil || len(id) != 36 {
		return productCursor{}, bad
	}
	t := time.UnixMicro(n)
	if t.Year() < 1 || t.Year() > 9999 {
		return productCursor{}, bad
	}
	return productCursor{createdAt: t, id: u}, nil
}
