package postgres_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/postgres"
	"github.com/vitrine-dev/vitrine/postgres/pgtest"
)

func newProduct(t *testing.T, db *postgres.DB) gallery.Product {
	t.Helper()
	p, err := db.CreateProduct(serviceCtx, gallery.Product{SupplierID: uuid.New()})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newImage(productID uuid.UUID, n int) gallery.NewImage {
	sum := fmt.Sprintf("%064x", n)
	return gallery.NewImage{
		ProductID: productID, URL: "/objects/" + sum, StoragePath: "originals/" + sum,
		SHA256: sum, Bytes: 100, Width: 10, Height: 10, MediaType: "image/png",
	}
}

// assertDense checks invariant 1: the product's orders are exactly 0..n-1, read straight from
// the table rather than through the code under test.
func assertDense(t *testing.T, db *postgres.DB, productID uuid.UUID, want int) {
	t.Helper()
	rows, err := db.Pool().Query(serviceCtx,
		`SELECT image_order FROM product_images WHERE product_id = $1 ORDER BY image_order`, productID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	i := 0
	for rows.Next() {
		var o int
		if err := rows.Scan(&o); err != nil {
			t.Fatal(err)
		}
		if o != i {
			t.Fatalf("product %s: order %d at index %d, want 0..n-1", productID, o, i)
		}
		i++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if want >= 0 && i != want {
		t.Fatalf("product %s has %d images, want %d", productID, i, want)
	}
}

func TestConcurrentAppendsToEmptyGallery(t *testing.T) {
	t.Parallel()
	db := pgtest.Open(t)
	p := newProduct(t, db)
	const n = 64
	orders := make([]int, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			im, err := db.AppendImage(serviceCtx, newImage(p.ID, i), nil)
			if err != nil {
				errs <- err
				return
			}
			orders[i] = im.Order
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seen := make([]bool, n)
	for _, o := range orders {
		if o < 0 || o >= n || seen[o] {
			t.Fatalf("returned orders %v are not a permutation of 0..%d", orders, n-1)
		}
		seen[o] = true
	}
	assertDense(t, db, p.ID, n)
}

func TestConcurrentAppendsToManyProducts(t *testing.T) {
	t.Parallel()
	db := pgtest.Open(t)
	const products, perProduct = 20, 16
	ps := make([]gallery.Product, products)
	for i := range ps {
		ps[i] = newProduct(t, db)
	}
	var wg sync.WaitGroup
	errs := make(chan error, products*perProduct)
	for i := range products * perProduct {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := ps[i%products]
			if _, err := db.AppendImage(serviceCtx, newImage(p.ID, i), nil); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, p := range ps {
		assertDense(t, db, p.ID, perProduct)
	}
}

func TestLegacyInsertFunction(t *testing.T) {
	t.Parallel()
	db := pgtest.Open(t)
	ctx := serviceCtx
	p := newProduct(t, db)
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var order int
			err := db.Pool().QueryRow(ctx, `SELECT insert_image_with_order($1, $2, $3)`,
				p.ID, fmt.Sprintf("https://cdn.example/%d.jpg", i), p.SupplierID).Scan(&order)
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	assertDense(t, db, p.ID, 32)

	var order int
	err := db.Pool().QueryRow(ctx, `SELECT insert_image_with_order($1, 'x', $2)`, p.ID, uuid.New()).Scan(&order)
	assertSQLState(t, err, "VT403")
	err = db.Pool().QueryRow(ctx, `SELECT insert_image_with_order($1, 'x', $2)`, uuid.New(), p.SupplierID).Scan(&order)
	assertSQLState(t, err, "VT404")
	assertDense(t, db, p.ID, 32)
}

func TestAppendRefusesRepeatableRead(t *testing.T) {
	t.Parallel()
	db := pgtest.Open(t)
	ctx := serviceCtx
	p := newProduct(t, db)
	tx, err := db.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SET TRANSACTION ISOLATION LEVEL REPEATABLE READ`); err != nil {
		t.Fatal(err)
	}
	var order int
	err = tx.QueryRow(ctx, `SELECT insert_image_with_order($1, 'x', $2)`, p.ID, p.SupplierID).Scan(&order)
	assertSQLState(t, err, "VT500")
}

func TestDeleteMoveReorderKeepOrdersDense(t *testing.T) {
	t.Parallel()
	db := pgtest.Open(t)
	ctx := serviceCtx
	p := newProduct(t, db)
	var ids []uuid.UUID
	for i := range 5 {
		im, err := db.AppendImage(ctx, newImage(p.ID, i), nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, im.ID)
	}
	// Move the last to the front: it becomes the main image.
	g, err := db.MoveImage(ctx, ids[4], 0)
	if err != nil {
		t.Fatal(err)
	}
	assertIDs(t, g, ids[4], ids[0], ids[1], ids[2], ids[3])
	// Move the main one to the middle.
	g, err = db.MoveImage(ctx, ids[4], 2)
	if err != nil {
		t.Fatal(err)
	}
	assertIDs(t, g, ids[0], ids[1], ids[4], ids[2], ids[3])
	if _, err := db.MoveImage(ctx, ids[0], 5); gallery.ErrorCode(err) != gallery.EINVALID {
		t.Fatalf("move beyond the end: got %v, want invalid", err)
	}
	// Delete the main image: the rest move up.
	if _, err := db.DeleteImage(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	g, err = db.Images(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	assertIDs(t, g, ids[1], ids[4], ids[2], ids[3])
	if _, err := db.DeleteImage(ctx, ids[0]); gallery.ErrorCode(err) != gallery.ENOTFOUND {
		t.Fatalf("second delete: got %v, want not found", err)
	}
	// A full reorder.
	g, err = db.ReorderImages(ctx, p.ID, []uuid.UUID{ids[3], ids[2], ids[1], ids[4]})
	if err != nil {
		t.Fatal(err)
	}
	assertIDs(t, g, ids[3], ids[2], ids[1], ids[4])
	// Reorders that are not exactly the gallery's ids change nothing.
	for name, bad := range map[string][]uuid.UUID{
		"missing one": {ids[3], ids[2], ids[1]},
		"a stranger":  {ids[3], ids[2], ids[1], uuid.New()},
		"a deleted":   {ids[3], ids[2], ids[1], ids[0]},
		"an extra":    {ids[3], ids[2], ids[1], ids[4], uuid.New()},
		"repeated":    {ids[3], ids[3], ids[1], ids[4]},
		"empty":       {},
	} {
		_, err := db.ReorderImages(ctx, p.ID, bad)
		if c := gallery.ErrorCode(err); c != gallery.ECONFLICT && c != gallery.EINVALID {
			t.Errorf("%s: got %v, want conflict or invalid", name, err)
		}
	}
	g, err = db.Images(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	assertIDs(t, g, ids[3], ids[2], ids[1], ids[4])
	assertDense(t, db, p.ID, 4)
}

func assertIDs(t *testing.T, g []gallery.Image, want ...uuid.UUID) {
	t.Helper()
	if len(g) != len(want) {
		t.Fatalf("gallery has %d images, want %d", len(g), len(want))
	}
	for i, im := range g {
		if im.ID != want[i] || im.Order != i {
			t.Fatalf("position %d: image %s (order %d), want %s", i, im.ID, im.Order, want[i])
		}
	}
}
