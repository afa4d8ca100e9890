package postgres_test

import (
	"errors"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/vitrine-dev/vitrine/postgres/pgtest"
)

func assertSQLState(t *testing.T, err error, want string) {
	t.Helper()
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != want {
		t.Fatalf("got error %v, want SQLSTATE %s", err, want)
	}
}

// TestDatabaseRejectsBadRows checks that the database itself, not only Go code, refuses rows
// that break the gallery's rules.
func TestDatabaseRejectsBadRows(t *testing.T) {
	t.Parallel()
	db := pgtest.Open(t)
	ctx := serviceCtx
	p := newProduct(t, db)
	insert := `INSERT INTO product_images (product_id, image_url, storage_path, image_order) VALUES ($1, 'u', 'k', $2)`
	_, err := db.Pool().Exec(ctx, insert, p.ID, -1)
	assertSQLState(t, err, "23514") // check_violation
	_, err = db.Pool().Exec(ctx, insert, nil, 0)
	assertSQLState(t, err, "23502") // not_null_violation
	_, err = db.Pool().Exec(ctx, insert, uuid.New(), 0)
	assertSQLState(t, err, "23503") // foreign_key_violation
	_, err = db.Pool().Exec(ctx, insert, p.ID, nil)
	assertSQLState(t, err, "23502")
	if _, err := db.Pool().Exec(ctx, insert, p.ID, 0); err != nil {
		t.Fatal(err)
	}
	_, err = db.Pool().Exec(ctx, insert, p.ID, 0)
	assertSQLState(t, err, "23505") // unique_violation on (product_id, image_order)
	// A row has an original (image_url and storage_path) exactly when it is not being imported.
	_, err = db.Pool().Exec(ctx, `INSERT INTO product_images (product_id, image_url, storage_path, image_order) VALUES ($1, NULL, 'k', 1)`, p.ID)
	assertSQLState(t, err, "23514")
	_, err = db.Pool().Exec(ctx, `INSERT INTO product_images (product_id, image_url, storage_path, image_order, import_status)
		VALUES ($1, 'u', 'k', 1, 'importing')`, p.ID)
	assertSQLState(t, err, "23514")
	_, err = db.Pool().Exec(ctx, `INSERT INTO product_images (product_id, image_order, import_status) VALUES ($1, 1, 'fetching')`, p.ID)
	assertSQLState(t, err, "23514")
	importing := `INSERT INTO product_images (product_id, image_order, import_status, source_url) VALUES ($1, $2, 'importing', 'https://example.com/a.jpg')`
	if _, err := db.Pool().Exec(ctx, importing, p.ID, 1); err != nil {
		t.Fatal(err)
	}
	_, err = db.Pool().Exec(ctx, importing, p.ID, 2)
	assertSQLState(t, err, "23505") // one image per (product, source_url)
}

func TestDeletingProductRemovesItsImages(t *testing.T) {
	t.Parallel()
	db := pgtest.Open(t)
	ctx := serviceCtx
	p := newProduct(t, db)
	other := newProduct(t, db)
	for i := range 3 {
		if _, err := db.AppendImage(ctx, newImage(p.ID, i), nil); err != nil {
			t.Fatal(err)
		}
		if _, err := db.AppendImage(ctx, newImage(other.ID, i), nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Pool().Exec(ctx, `DELETE FROM products WHERE id = $1`, p.ID); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM product_images WHERE product_id = $1`, p.ID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d images of a deleted product remain", n)
	}
	assertDense(t, db, other.ID, 3)
}

func TestUpdatedAtIsKeptByTrigger(t *testing.T) {
	t.Parallel()
	db := pgtest.Open(t)
	ctx := serviceCtx
	p := newProduct(t, db)
	im, err := db.AppendImage(ctx, newImage(p.ID, 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	// A plain UPDATE that tries to keep the old updated_at still gets a new one.
	if _, err := db.Pool().Exec(ctx, `UPDATE product_images SET alt = 'x', updated_at = '2000-01-01' WHERE id = $1`, im.ID); err != nil {
		t.Fatal(err)
	}
	got, err := db.Image(ctx, im.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.UpdatedAt.Year() == 2000 {
		t.Fatalf("updated_at = %v, the trigger did not run", got.UpdatedAt)
	}
}

// TestMigrationsStatus checks that a migrated database reports every migration applied and that migrating again is a no-op.
func TestMigrationsStatus(t *testing.T) {
	t.Parallel()
	db := pgtest.Open(t)
	st, err := db.MigrationStatuses(serviceCtx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) == 0 {
		t.Fatal("no migrations")
	}
	for _, s := range st {
		if !s.Applied {
			t.Errorf("migration %d %s not applied", s.Version, s.Name)
		}
	}
	n, err := db.Migrate(serviceCtx)
	if err != nil || n != 0 {
		t.Fatalf("second Migrate applied %d (err %v), want 0", n, err)
	}
}
