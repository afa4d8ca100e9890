package adopt_test

import (
	"context"
	"errors"

	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/vitrine-dev/vitrine/postgres"
	"github.com/vitrine-dev/vitrine/postgres/adopt"
	"github.com/vitrine-dev/vitrine/postgres/pgtest"
)

// legacyPathPattern and legacyPathFormat read the time that legacy.sql puts in a quarter of
// the storage paths.
const (
	legacyPathPattern = `^originals/([0-9]{14})-`
	legacyPathFormat  = "YYYYMMDDHH24MISS"
)

// adoptFixedNow is the fallback time of the tests, so that two runs date rows alike.
var adoptFixedNow = time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)

func openURL(t testing.TB, url string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

// testLogger logs adopt's steps to stderr when ADOPT_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("ADOPT_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.DiscardHandler)
}

func adoptOptions() adopt.Options {
	return adopt.Options{
		PathPattern: legacyPathPattern, PathFormat: legacyPathFormat,
		Now:    func() time.Time { return adoptFixedNow },
		Logger: testLogger(),
	}
}

// fingerprint is what must survive an adoption: every image id, with its product and URL.
func fingerprint(t testing.TB, db *postgres.DB) (count int, digest string) {
	t.Helper()
	err := db.Pool().QueryRow(context.Background(), `SELECT count(*), md5(string_agg(id::text || product_id::text || image_url, ',' ORDER BY id))
		FROM product_images`).Scan(&count, &digest)
	if err != nil {
		t.Fatal(err)
	}
	return count, digest
}

// assertGalleryInvariants checks invariant 1 of docs/design.md (orders exactly 0..n-1 per
// product) and, with byCriterion, that every gallery is in (created_at, image_url, id) order,
// so each main image is its product's oldest, ties broken by image_url.
func assertGalleryInvariants(t testing.TB, db *postgres.DB, byCriterion bool) {
	t.Helper()
	ctx := context.Background()
	var broken int
	if err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM (
		SELECT product_id FROM product_images GROUP BY product_id
		HAVING min(image_order) <> 0 OR max(image_order) <> count(*) - 1 OR count(DISTINCT image_order) <> count(*)) AS b`).Scan(&broken); err != nil {
		t.Fatal(err)
	}
	if broken > 0 {
		t.Errorf("%d galleries are not numbered 0..n-1", broken)
	}
	if !byCriterion {
		return
	}
	var misplaced, badMain int
	if err := db.Pool().QueryRow(ctx, `SELECT count(*) FILTER (WHERE image_order <> rn),
			count(*) FILTER (WHERE image_order = 0 AND EXISTS (SELECT 1 FROM product_images j
				WHERE j.product_id = s.product_id AND (j.created_at, j.image_url) < (s.created_at, s.image_url)))
		FROM (SELECT *, row_number() OVER (PARTITION BY product_id ORDER BY created_at, image_url, id) - 1 AS rn
		      FROM product_images) AS s`).Scan(&misplaced, &badMain); err != nil {
		t.Fatal(err)
	}
	if misplaced > 0 || badMain > 0 {
		t.Errorf("%d images out of (created_at, image_url) order, %d main images that are not their product's oldest", misplaced, badMain)
	}
}

// schemaOf describes the parts of a database's schema that Vitrine owns, one line per fact.
func schemaOf(t testing.TB, db *postgres.DB) []string {
	t.Helper()
	rows, err := db.Pool().Query(context.Background(), `
		SELECT 'column ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) ||
		       CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END ||
		       coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '') || ' ' || a.attgenerated::text
		FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
		LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
		WHERE c.relname IN ('products', 'product_images') AND c.relnamespace = 'public'::regnamespace
		  AND a.attnum > 0 AND NOT a.attisdropped AND a.attname <> 'name'
		UNION ALL
		SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) || ' valid=' || convalidated
		FROM pg_constraint WHERE conrelid IN ('products'::regclass, 'product_images'::regclass)
		UNION ALL
		SELECT 'index ' || pg_get_indexdef(i.indexrelid) || ' valid=' || i.indisvalid || ' immediate=' || i.indimmediate
		FROM pg_index i WHERE i.indrelid IN ('products'::regclass, 'product_images'::regclass)
		UNION ALL
		SELECT 'trigger ' || pg_get_triggerdef(oid) FROM pg_trigger
		WHERE tgrelid IN ('products'::regclass, 'product_images'::regclass) AND NOT tgisinternal
		UNION ALL
		SELECT 'policy ' || tablename || ' ' || policyname || ' ' || cmd || ' ' || roles::text || ' ' ||
		       coalesce(qual, '') || ' ' || coalesce(with_check, '')
		FROM pg_policies WHERE schemaname = 'public'
		UNION ALL
		SELECT 'table ' || relname || ' rls=' || relrowsecurity || ' forced=' || relforcerowsecurity || ' acl=' || coalesce(relacl::text, '')
		FROM pg_class WHERE relname IN ('products', 'product_images', 'image_thumbnail_jobs') AND relnamespace = 'public'::regnamespace
		UNION ALL
		SELECT 'function ' || p.oid::regprocedure || ' ' || md5(pg_get_functiondef(p.oid)) || ' acl=' || coalesce(p.proacl::text, '')
		FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace AND p.proname NOT LIKE 'river%'
		UNION ALL
		SELECT 'view ' || viewname || ' ' || md5(definition) FROM pg_views WHERE schemaname = 'public'`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func diffLines(a, b []string) (onlyA, onlyB []string) {
	for _, s := range a {
		if !slices.Contains(b, s) {
			onlyA = append(onlyA, s)
		}
	}
	for _, s := range b {
		if !slices.Contains(a, s) {
			onlyB = append(onlyB, s)
		}
	}
	return onlyA, onlyB
}

// TestAdoptLegacyDatabase adopts a generated legacy database of 100,000 images with gaps,
// duplicates, NULL and negative orders, no created_at, no primary key on product_images and
// images of missing products: afterwards the schema is exactly a migrated database's, goose
// says every migration is applied, no row is lost, and every gallery is numbered by
// (created_at, image_url).
func TestAdoptLegacyDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openURL(t, pgtest.NewLegacyDB(t, 100_000))
	count, digest := fingerprint(t, db)

	plan, err := adopt.MakePlan(ctx, db, adoptOptions())
	if err != nil {
		t.Fatal(err)
	}
	problems := map[string]int64{}
	for _, p := range plan.Problems {
		problems[p.Name] = p.Count
	}
	for _, name := range []string{"duplicate (product_id, image_order) pairs", "images with a NULL or negative order",
		"products that images name but that do not exist", "products without an image at order 0",
		"images without a storage path", "images without created_at"} {
		if problems[name] == 0 {
			t.Errorf("the plan finds no %s", name)
		}
	}
	if plan.Blocking() != nil {
		t.Errorf("the plan blocks: %v", plan.Blocking())
	}
	var sb strings.Builder
	plan.WriteTo(&sb)
	for _, want := range []string{"column product_images.created_at", "primary key of product_images", "function vitrine_append_image", "unique constraint"} {
		if !strings.Contains(sb.String(), want) {
			t.Errorf("the plan does not say the schema lacks %q:\n%s", want, sb.String())
		}
	}
	if c, d := fingerprint(t, db); c != count || d != digest {
		t.Fatal("planning changed the data")
	}

	// The store knows 500 of the objects, with their times.
	var storeKeys []string
	if err := db.Pool().QueryRow(ctx, `SELECT array_agg(storage_path ORDER BY storage_path) FROM (
		SELECT storage_path FROM product_images WHERE storage_path NOT LIKE 'originals/2%' ORDER BY storage_path LIMIT 500) s`).Scan(&storeKeys); err != nil {
		t.Fatal(err)
	}
	storeTime := time.Date(2020, 3, 4, 5, 6, 7, 0, time.UTC)
	opts := adoptOptions()
	opts.ObjectTimes = func(ctx context.Context, fn func(string, time.Time) error) error {
		for i, k := range storeKeys {
			if err := fn(k, storeTime.Add(time.Duration(i)*time.Minute)); err != nil {
				return err
			}
		}
		return nil
	}
	t0 := time.Now()
	res, err := adopt.Run(ctx, db, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("adopted 100,000 images in %v; writes paused %v", time.Since(t0), res.WritesPaused)

	if c, d := fingerprint(t, db); c != count || d != digest {
		t.Errorf("rows changed: %d images (%s), had %d (%s)", c, d, count, digest)
	}
	assertGalleryInvariants(t, db, true)

	var sources = map[string]int{}
	rows, err := db.Pool().Query(ctx, `SELECT source, count(*) FROM vitrine_adopt_created_at GROUP BY source`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		var n int
		rows.Scan(&s, &n)
		sources[s] = n
	}
	if sources["store"] != len(storeKeys) || sources["path"] != 25_000 || sources["store"]+sources["path"]+sources["fallback"] != count {
		t.Errorf("created_at sources: %v", sources)
	}
	var pathOK, storeOK bool
	if err := db.Pool().QueryRow(ctx, `SELECT
		bool_and(created_at = to_timestamp(substring(storage_path FROM '^originals/([0-9]{14})-'), 'YYYYMMDDHH24MISS'))
			FILTER (WHERE s.source = 'path'),
		bool_and(created_at >= $1 AND created_at < $1::timestamptz + interval '1 day') FILTER (WHERE s.source = 'store')
		FROM product_images i JOIN vitrine_adopt_created_at s ON s.image_id = i.id`, storeTime).Scan(&pathOK, &storeOK); err != nil {
		t.Fatal(err)
	}
	if !pathOK || !storeOK {
		t.Errorf("created_at from the path right: %t, from the store right: %t", pathOK, storeOK)
	}

	// The schema is the one the migrations make, and goose agrees.
	fresh := pgtest.Open(t)
	adoptedSchema := schemaOf(t, db)
	if len(adoptedSchema) < 60 {
		t.Fatalf("the schema description has only %d lines", len(adoptedSchema))
	}
	if onlyAdopted, onlyFresh := diffLines(adoptedSchema, schemaOf(t, fresh)); len(onlyAdopted)+len(onlyFresh) > 0 {
		t.Errorf("the adopted schema differs from a migrated one:\nonly adopted:\n  %s\nonly migrated:\n  %s",
			strings.Join(onlyAdopted, "\n  "), strings.Join(onlyFresh, "\n  "))
	}
	st, err := db.MigrationStatuses(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if !s.Applied {
			t.Errorf("migration %d is not recorded as applied", s.Version)
		}
	}
	if n, err := db.Migrate(ctx); err != nil || n != 0 {
		t.Errorf("migrate up after adopt: applied %d, %v", n, err)
	}
	// A rerun has nothing left to do.
	again, err := adopt.Run(ctx, db, opts)
	if err != nil || len(again.Steps) != 0 {
		t.Errorf("rerun after a complete adoption: %+v, %v", again.Steps, err)
	}
	// The gallery functions work on the adopted data.
	var productID uuid.UUID
	if err := db.Pool().QueryRow(ctx, `SELECT product_id FROM product_images WHERE image_order = 2 LIMIT 1`).Scan(&productID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool().Exec(ctx, `SELECT vitrine_delete_image(id) FROM product_images WHERE product_id = $1 AND image_order = 0`, productID); err != nil {
		t.Fatal(err)
	}
	assertGalleryInvariants(t, db, false)
}

// errCrash stands for a process killed in the middle of the normalization.
var errCrash = errors.New("crash")

// imagesState lists every image with what adopt decides about it.
func imagesState(t testing.TB, db *postgres.DB) []string {
	t.Helper()
	rows, err := db.Pool().Query(context.Background(), `SELECT i.id::text || ' ' || product_id || ' ' || image_order || ' ' ||
		created_at || ' ' || storage_path || ' ' || coalesce(s.source, '-')
		FROM product_images i LEFT JOIN vitrine_adopt_created_at s ON s.image_id = i.id ORDER BY i.id`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestAdoptCrashDuringNormalization kills the adoption in the middle of the normalization (a
// batch rolled back, several committed) and reruns it: the result is the same as one clean run.
func TestAdoptCrashDuringNormalization(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clean := openURL(t, pgtest.NewLegacyDB(t, 10_000))
	crashed := openURL(t, pgtest.NewLegacyDB(t, 10_000))
	opts := adoptOptions()
	opts.BatchSize = 50
	if _, err := adopt.Run(ctx, clean, opts); err != nil {
		t.Fatal(err)
	}
	crashing := opts
	crashing.AfterBatch = func(batch int) error {
		if batch == 7 {
			return errCrash
		}
		return nil
	}
	if _, err := adopt.Run(ctx, crashed, crashing); !errors.Is(err, errCrash) {
		t.Fatalf("the crashing run: %v", err)
	}
	plan, err := adopt.MakePlan(ctx, crashed, opts)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(plan.Steps, func(s adopt.Step) bool { return s.Name == "normalize" })
	if s := plan.Steps[i]; s.Finished || s.Detail["after"] == nil {
		t.Fatalf("the plan after the crash shows %+v", plan.Steps[i])
	}
	// The rerun starts at another time: it must keep the first run's fallback time.
	opts.Now = func() time.Time { return adoptFixedNow.Add(time.Hour) }
	res, err := adopt.Run(ctx, crashed, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps[0].Name != "normalize" {
		t.Errorf("the rerun started with %s, not the normalization", res.Steps[0].Name)
	}
	a, b := imagesState(t, clean), imagesState(t, crashed)
	if len(a) != 10_000 || !slices.Equal(a, b) {
		onlyClean, onlyCrashed := diffLines(a, b)
		t.Errorf("crash and rerun differ from a clean run in %d rows, e.g. %v vs %v", len(onlyClean), first(onlyClean), first(onlyCrashed))
	}
	assertGalleryInvariants(t, crashed, false)
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// TestAdoptRefusesDuplicates leaves a duplicate order in place (a legacy writer adds one after
// the normalization): the unique index step refuses and names it, and builds nothing. Once the
// duplicate is gone, a rerun finishes.
func TestAdoptRefusesDuplicates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openURL(t, pgtest.NewLegacyDB(t, 2000))
	dupID := uuid.New()
	var productID uuid.UUID
	opts := adoptOptions()
	opts.BeforeStep = func(ctx context.Context, step string) error {
		if step != "unique_index" {
			return nil
		}
		return db.Pool().QueryRow(ctx, `INSERT INTO product_images (id, product_id, image_url, storage_path, image_order)
			SELECT $1, product_id, 'https://legacy.example/dup.jpg', 'dup.jpg', 0 FROM product_images LIMIT 1
			RETURNING product_id`, dupID).Scan(&productID)
	}
	_, err := adopt.Run(ctx, db, opts)
	var dup *adopt.DuplicateOrdersError
	if !errors.As(err, &dup) {
		t.Fatalf("adopt with a duplicate left: %v", err)
	}
	if len(dup.Pairs) != 1 || dup.Pairs[0].ProductID != productID || dup.Pairs[0].Order != 0 || !slices.Contains(dup.Pairs[0].ImageIDs, dupID) {
		t.Errorf("the refusal names %+v", dup.Pairs)
	}
	if !strings.Contains(err.Error(), dupID.String()) {
		t.Errorf("the error does not print the duplicate: %v", err)
	}
	var indexes int
	db.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_class WHERE relname = 'product_images_product_order_key'`).Scan(&indexes)
	if indexes != 0 {
		t.Error("an index was built despite the duplicates")
	}
	if reason, err := db.WritesPaused(ctx); err != nil || reason != "" {
		t.Errorf("writes paused after the refusal: %q, %v", reason, err)
	}
	if _, err := db.Pool().Exec(ctx, `DELETE FROM product_images WHERE id = $1`, dupID); err != nil {
		t.Fatal(err)
	}
	opts.BeforeStep = nil
	if _, err := adopt.Run(ctx, db, opts); err != nil {
		t.Fatal(err)
	}
	assertGalleryInvariants(t, db, true)
}

// TestAdoptRebuildsInvalidIndex leaves an INVALID unique index, as a concurrent build that
// failed does: adopt finds it, drops it and builds it again.
func TestAdoptRebuildsInvalidIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewLegacyDB(t, 2000)
	db := openURL(t, url)
	opts := adoptOptions()
	opts.BeforeStep = func(ctx context.Context, step string) error {
		if step != "unique_index" {
			return nil
		}
		// A build that meets a duplicate fails and leaves its index INVALID.
		if _, err := db.Pool().Exec(ctx, `INSERT INTO product_images (id, product_id, image_url, storage_path, image_order)
			SELECT gen_random_uuid(), product_id, 'x', 'x', 0 FROM product_images LIMIT 1`); err != nil {
			return err
		}
		if _, err := db.Pool().Exec(ctx, `CREATE UNIQUE INDEX CONCURRENTLY product_images_product_order_key
			ON product_images (product_id, image_order)`); err == nil {
			return errors.New("the build with a duplicate succeeded")
		}
		_, err := db.Pool().Exec(ctx, `DELETE FROM product_images WHERE image_url = 'x'`)
		return err
	}
	res, err := adopt.Run(ctx, db, opts)
	if err != nil {
		t.Fatal(err)
	}
	last := res.Steps[len(res.Steps)-2]
	if last.Name != "unique_index" || last.Detail["invalid_index_dropped"] != true {
		t.Errorf("the unique index step did not drop an invalid index: %+v", last)
	}
	var valid, immediate bool
	if err := db.Pool().QueryRow(ctx, `SELECT indisvalid, indimmediate FROM pg_index
		WHERE indexrelid = 'product_images_product_order_key'::regclass`).Scan(&valid, &immediate); err != nil {
		t.Fatal(err)
	}
	if !valid || immediate {
		t.Errorf("the index is valid %t, immediate %t", valid, immediate)
	}
	assertGalleryInvariants(t, db, true)
}

// TestAdoptOverrides: the overrides CSV's orders win for the products it names.
func TestAdoptOverrides(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openURL(t, pgtest.NewLegacyDB(t, 2000))
	var productID uuid.UUID
	var ids []uuid.UUID
	if err := db.Pool().QueryRow(ctx, `SELECT product_id, array_agg(id ORDER BY image_url DESC) FROM product_images
		GROUP BY product_id HAVING count(*) >= 4 ORDER BY product_id LIMIT 1`).Scan(&productID, &ids); err != nil {
		t.Fatal(err)
	}
	opts := adoptOptions()
	// The last two images by URL first, in that order; the others follow by the criterion.
	opts.Overrides = []adopt.Override{{ProductID: productID, ImageID: ids[0], Order: 0}, {ProductID: productID, ImageID: ids[1], Order: 5}}
	if _, err := adopt.Run(ctx, db, opts); err != nil {
		t.Fatal(err)
	}
	var got []uuid.UUID
	if err := db.Pool().QueryRow(ctx, `SELECT array_agg(id ORDER BY image_order) FROM product_images WHERE product_id = $1`, productID).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got[0] != ids[0] || got[1] != ids[1] {
		t.Errorf("gallery %v does not start with the overrides %v", got, ids[:2])
	}
	assertGalleryInvariants(t, db, false)

	bad := adoptOptions()
	bad.Overrides = []adopt.Override{{ProductID: uuid.New(), ImageID: ids[0]}}
	other := openURL(t, pgtest.NewLegacyDB(t, 100))
	if _, err := adopt.Run(ctx, other, bad); err == nil || !strings.Contains(err.Error(), "not in the product") {
		t.Errorf("an override naming the wrong product: %v", err)
	}
}

// TestAdoptPlanBlocks: what adopt cannot fix stops it before it changes anything.
func TestAdoptPlanBlocks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openURL(t, pgtest.NewLegacyDB(t, 100))
	if _, err := db.Pool().Exec(ctx, `UPDATE product_images SET product_id = NULL WHERE id IN (SELECT id FROM product_images LIMIT 2);
		UPDATE products SET supplier_id = NULL WHERE id IN (SELECT id FROM products LIMIT 1)`); err != nil {
		t.Fatal(err)
	}
	_, err := adopt.Run(ctx, db, adoptOptions())
	if err == nil || !strings.Contains(err.Error(), "images without a product: 2") || !strings.Contains(err.Error(), "products without a supplier: 1") {
		t.Fatalf("adopt on unfixable data: %v", err)
	}
	var cols int
	db.Pool().QueryRow(ctx, `SELECT count(*) FROM information_schema.columns WHERE table_name = 'product_images'`).Scan(&cols)
	if cols != 7 {
		t.Errorf("the refused adopt changed the table: %d columns", cols)
	}
}
