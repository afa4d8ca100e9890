package postgres_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/postgres"
	"github.com/vitrine-dev/vitrine/postgres/pgtest"
)

// outbox returns the keys in the object outbox, sorted.
func outbox(t *testing.T, db *postgres.DB) []string {
	t.Helper()
	var keys []string
	if err := db.Pool().QueryRow(serviceCtx, `SELECT coalesce(array_agg(key ORDER BY key), '{}') FROM vitrine_object_outbox`).Scan(&keys); err != nil {
		t.Fatal(err)
	}
	return keys
}

func setVariants(t *testing.T, db *postgres.DB, id any, variants string) {
	t.Helper()
	if _, err := db.Pool().Exec(serviceCtx, `UPDATE product_images SET variants = $2 WHERE id = $1`, id, variants); err != nil {
		t.Fatal(err)
	}
}

// TestObjectsARowStopsUsingGoToTheOutbox checks that every way a row stops naming an object
// records the key, including writes that do not pass through Vitrine (plain SQL as a
// supplier, as PostgREST would run it) and a product deleted with its images.
func TestObjectsARowStopsUsingGoToTheOutbox(t *testing.T) {
	t.Parallel()
	db := pgtest.Open(t)
	p := newProduct(t, db)
	a, err := db.AppendImage(serviceCtx, newImage(p.ID, 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	setVariants(t, db, a.ID, `{"desktop": {"webp": {"key": "variants/a1"}}, "mobile": {"webp": {"key": "variants/a2"}}}`)
	if got := outbox(t, db); len(got) != 0 {
		t.Fatalf("adding variants sent %v to the outbox", got)
	}
	// A replaced record: the key it drops goes, the one it keeps stays.
	setVariants(t, db, a.ID, `{"desktop": {"webp": {"key": "variants/a1"}}, "mobile": {"webp": {"key": "variants/a3"}}}`)
	if got := outbox(t, db); !slices.Equal(got, []string{"variants/a2"}) {
		t.Fatalf("outbox %v after replacing a variant, want [variants/a2]", got)
	}
	// A product deleted by plain SQL as its supplier: the cascade sends every key.
	var b, c gallery.Image
	q := newProduct(t, db)
	if b, err = db.AppendImage(serviceCtx, newImage(q.ID, 2), nil); err != nil {
		t.Fatal(err)
	}
	if c, err = db.AppendImage(serviceCtx, newImage(q.ID, 3), nil); err != nil {
		t.Fatal(err)
	}
	setVariants(t, db, b.ID, `{"desktop": {"webp": {"key": "variants/b1"}}}`)
	tx, err := db.Pool().Begin(serviceCtx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(serviceCtx)
	if _, err := tx.Exec(serviceCtx, `SELECT set_config('role', 'authenticated', true),
		set_config('request.jwt.claims', json_build_object('sub', $1::text, 'role', 'authenticated')::text, true)`, q.SupplierID); err != nil {
		t.Fatal(err)
	}
	tag, err := tx.Exec(serviceCtx, `DELETE FROM products WHERE id = $1`, q.ID)
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("supplier deleting its product by SQL: %v, %v", tag, err)
	}
	if err := tx.Commit(serviceCtx); err != nil {
		t.Fatal(err)
	}
	want := []string{b.StoragePath, c.StoragePath, "variants/a2", "variants/b1"}
	slices.Sort(want)
	if got := outbox(t, db); !slices.Equal(got, want) {
		t.Fatalf("outbox %v, want %v", got, want)
	}
}

// TestDrainDeletesOnlyUnusedObjects drains an outbox whose keys include one that another row
// still uses (the same bytes in two galleries): that object is kept, the others deleted, and
// the outbox ends empty. A failing store keeps its batch in the outbox.
func TestDrainDeletesOnlyUnusedObjects(t *testing.T) {
	t.Parallel()
	db := pgtest.Open(t)
	p, q := newProduct(t, db), newProduct(t, db)
	shared := newImage(p.ID, 7)
	a, err := db.AppendImage(serviceCtx, shared, nil)
	if err != nil {
		t.Fatal(err)
	}
	shared.ProductID = q.ID
	if _, err := db.AppendImage(serviceCtx, shared, nil); err != nil {
		t.Fatal(err)
	}
	b, err := db.AppendImage(serviceCtx, newImage(p.ID, 8), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteProduct(serviceCtx, p.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.QueueObjectDeletes(serviceCtx, []string{"variants/never-recorded"}); err != nil {
		t.Fatal(err)
	}
	failing := func(context.Context, []string) error { return context.DeadlineExceeded }
	if _, err := db.DrainObjectOutbox(serviceCtx, 2, failing); err == nil {
		t.Fatal("a failing store drained without error")
	}
	if got := outbox(t, db); len(got) != 3 {
		t.Fatalf("outbox after a failed drain: %v, want its 3 keys kept", got)
	}
	var mu sync.Mutex
	var deleted []string
	del := func(_ context.Context, keys []string) error {
		mu.Lock()
		defer mu.Unlock()
		deleted = append(deleted, keys...)
		return nil
	}
	res, err := db.DrainObjectOutbox(serviceCtx, 2, del)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(deleted)
	want := []string{b.StoragePath, "variants/never-recorded"}
	if !slices.Equal(deleted, want) || res.Deleted != 2 || res.KeptInUse != 1 {
		t.Fatalf("deleted %v (%+v), want %v and %s kept", deleted, res, want, a.StoragePath)
	}
	if got := outbox(t, db); len(got) != 0 {
		t.Fatalf("outbox not empty after a drain: %v", got)
	}
}
