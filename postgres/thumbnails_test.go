package postgres_test

import (
	"context"
	"slices"
	"testing"

	"github.com/vitrine-dev/vitrine/postgres/pgtest"
)

// TestSetMainThumbnailsKeepsItsMeaning calls the legacy design's RPC as its callers do: it
// fills the main image's record when missing or partial, leaves a complete one alone, and
// refuses a product without images instead of doing nothing.
func TestSetMainThumbnailsKeepsItsMeaning(t *testing.T) {
	t.Parallel()
	db := pgtest.Open(t)
	ctx := serviceCtx
	p := newProduct(t, db)
	var changed bool
	err := db.Pool().QueryRow(ctx, `SELECT set_main_thumbnails($1, 'd', 'm', 't', 'x')`, p.ID).Scan(&changed)
	assertSQLState(t, err, "VT404")

	main, err := db.AppendImage(ctx, newImage(p.ID, 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := db.AppendImage(ctx, newImage(p.ID, 2), nil)
	if err != nil {
		t.Fatal(err)
	}
	// A partial record (no desktop) is completed.
	if _, err := db.Pool().Exec(ctx, `UPDATE product_images SET thumbnails = '{"mobile": "old"}' WHERE id = $1`, main.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.Pool().QueryRow(ctx, `SELECT set_main_thumbnails($1, 'd1', 'm1', 't1', 'x1')`, p.ID).Scan(&changed); err != nil || !changed {
		t.Fatalf("first call: changed=%v err=%v", changed, err)
	}
	if err := db.Pool().QueryRow(ctx, `SELECT set_main_thumbnails($1, 'd2', 'm2', 't2', 'x2')`, p.ID).Scan(&changed); err != nil || changed {
		t.Fatalf("second call on a complete record: changed=%v err=%v", changed, err)
	}
	got, err := db.Image(ctx, main.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ThumbnailURL != "d1" || got.Thumbnails["desktop"] != "d1" || got.Thumbnails["minithumb"] != "x1" {
		t.Fatalf("main image thumbnails %v, url %q", got.Thumbnails, got.ThumbnailURL)
	}
	if o, _ := db.Image(ctx, other.ID); o.Thumbnails != nil {
		t.Fatalf("the second image got thumbnails %v", o.Thumbnails)
	}
}

func TestVariantKeysAreIndexedFromTheVariantsRecord(t *testing.T) {
	t.Parallel()
	db := pgtest.Open(t)
	ctx := serviceCtx
	p := newProduct(t, db)
	im, err := db.AppendImage(ctx, newImage(p.ID, 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool().Exec(ctx, `UPDATE product_images SET variants =
		'{"desktop": {"webp": {"key": "variants/b"}, "jpeg": {"key": "variants/a"}}, "mobile": {"webp": {"key": "variants/c"}}}'
		WHERE id = $1`, im.ID); err != nil {
		t.Fatal(err)
	}
	var keys []string
	if err := db.Pool().QueryRow(ctx, `SELECT variant_keys FROM product_images WHERE id = $1`, im.ID).Scan(&keys); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 3 || keys[0] != "variants/a" || keys[2] != "variants/c" {
		t.Fatalf("variant_keys %v", keys)
	}
	del := func(_ context.Context, keys []string) error {
		if slices.Contains(keys, "variants/b") {
			t.Fatal("deleted an object a row refers to")
		}
		return nil
	}
	deleted, err := db.DeleteUnusedObjects(ctx, []string{"variants/b", "variants/zzz", "variants/zzz"}, del)
	if err != nil || len(deleted) != 1 || deleted[0] != "variants/zzz" {
		t.Fatalf("deleted %v, err %v; want only the unused key, once", deleted, err)
	}
	// variant_keys follows variants whatever a writer sets: it cannot be forged, with or
	// without variants, and it empties when they are cleared.
	keysOf := func(set string, args ...any) []string {
		t.Helper()
		var keys []string
		if err := db.Pool().QueryRow(ctx, `UPDATE product_images SET `+set+` WHERE id = $1 RETURNING variant_keys`,
			append([]any{im.ID}, args...)...).Scan(&keys); err != nil {
			t.Fatal(err)
		}
		return keys
	}
	if got := keysOf(`variant_keys = '{variants/forged}'`); len(got) != 3 {
		t.Errorf("variant_keys forged beside variants: %v", got)
	}
	if got := keysOf(`variants = NULL`); len(got) != 0 {
		t.Errorf("variant_keys after clearing variants: %v", got)
	}
	if got := keysOf(`variant_keys = '{variants/forged}'`); len(got) != 0 {
		t.Errorf("variant_keys forged without variants: %v", got)
	}
	var inserted []string
	if err := db.Pool().QueryRow(ctx, `INSERT INTO product_images (product_id, image_url, storage_path, image_order, variant_keys)
		VALUES ($1, 'u', 'k', 5, '{variants/forged}') RETURNING variant_keys`, p.ID).Scan(&inserted); err != nil || len(inserted) != 0 {
		t.Errorf("an insert forging variant_keys: %v, %v", inserted, err)
	}
}
