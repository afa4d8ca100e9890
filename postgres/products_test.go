package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/postgres"
	"github.com/vitrine-dev/vitrine/postgres/pgtest"
)

// listAll pages through ListProducts with limit until the last page and returns the ids in
// the order listed.
func listAll(t *testing.T, db *postgres.DB, ctx context.Context, search string, limit int, between func()) []uuid.UUID {
	t.Helper()
	var ids []uuid.UUID
	q := gallery.ProductQuery{Search: search, Limit: limit}
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("pagination does not end")
		}
		page, err := db.ListProducts(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Products) > limit {
			t.Fatalf("page of %d products, limit %d", len(page.Products), limit)
		}
		for _, p := range page.Products {
			ids = append(ids, p.ID)
		}
		if page.NextCursor == "" {
			return ids
		}
		q.Cursor = page.NextCursor
		if between != nil {
			between()
		}
	}
}

func TestListProductsFollowsTenancy(t *testing.T) {
	t.Parallel()
	ts := setupTenants(t)
	asA := gallery.WithCaller(context.Background(), gallery.Supplier(ts.a))
	asB := gallery.WithCaller(context.Background(), gallery.Supplier(ts.b))
	anon := gallery.WithCaller(context.Background(), gallery.Anonymous())
	cases := []struct {
		name string
		ctx  context.Context
		want []uuid.UUID // newest first
	}{
		{"supplier A: its own only, not B's published one", asA, []uuid.UUID{ts.aProduct.ID}},
		{"supplier B: its own, published or not", asB, []uuid.UUID{ts.bPublic.ID, ts.bPrivate.ID}},
		{"anonymous: published only", anon, []uuid.UUID{ts.bPublic.ID}},
		{"service: all", serviceCtx, []uuid.UUID{ts.bPublic.ID, ts.bPrivate.ID, ts.aProduct.ID}},
	}
	for _, c := range cases {
		page, err := ts.db.ListProducts(c.ctx, gallery.ProductQuery{Limit: 10})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var got []uuid.UUID
		for _, p := range page.Products {
			got = append(got, p.ID)
			if p.ImageCount != 2 || p.MainImage == nil || p.MainImage.Order != 0 || p.MainImage.ProductID != p.ID {
				t.Errorf("%s: product %s listed with %d images and main image %+v", c.name, p.ID, p.ImageCount, p.MainImage)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) || page.NextCursor != "" {
			t.Errorf("%s: listed %v (next %q), want %v", c.name, got, page.NextCursor, c.want)
		}
	}
	// A search by another supplier's private product's id finds nothing.
	page, err := ts.db.ListProducts(asA, gallery.ProductQuery{Search: ts.bPrivate.ID.String(), Limit: 10})
	if err != nil || len(page.Products) != 0 {
		t.Errorf("A searching B's private product by id: %v, %v", page.Products, err)
	}
}

func TestListProductsSearchesTitlesAndIDs(t *testing.T) {
	t.Parallel()
	db := pgtest.Open(t)
	supplier := uuid.New()
	as := gallery.WithCaller(context.Background(), gallery.Supplier(supplier))
	titles := []string{"Red Shoe", "blue shoe", "SHOELACE 100%", "Hat", "100_ percent", ""}
	ids := map[string]uuid.UUID{}
	for _, title := range titles {
		p, err := db.CreateProduct(as, gallery.Product{SupplierID: supplier, Title: title})
		if err != nil {
			t.Fatal(err)
		}
		if p.Title != title {
			t.Fatalf("created with title %q, want %q", p.Title, title)
		}
		ids[title] = p.ID
	}
	empty, err := db.CreateProduct(as, gallery.Product{SupplierID: supplier})
	if err != nil {
		t.Fatal(err)
	}
	search := func(q string) []string {
		t.Helper()
		page, err := db.ListProducts(as, gallery.ProductQuery{Search: q, Limit: 100})
		if err != nil {
			t.Fatalf("search %q: %v", q, err)
		}
		var got []string
		for _, p := range page.Products {
			got = append(got, p.Title)
			if p.ImageCount != 0 || p.MainImage != nil {
				t.Errorf("product without images listed with %d images, main %+v", p.ImageCount, p.MainImage)
			}
		}
		return got
	}
	for q, want := range map[string]string{
		"shoe":                               "[SHOELACE 100% blue shoe Red Shoe]",
		"SHOE":                               "[SHOELACE 100% blue shoe Red Shoe]",
		"%":                                  "[SHOELACE 100%]", // a wildcard of LIKE matches itself only
		"_":                                  "[100_ percent]",
		"hat":                                "[Hat]",
		"nothing like it":                    "[]",
		ids["Hat"].String():                  "[Hat]",
		empty.ID.String():                    "[]",
		strings.ToUpper(ids["Hat"].String()): "[Hat]",
	} {
		got := search(q)
		if q == empty.ID.String() {
			if len(got) != 1 || got[0] != "" {
				t.Errorf("search by the id of the untitled product: %q", got)
			}
			continue
		}
		if fmt.Sprintf("%v", got) != want && !(want == "[]" && got == nil) {
			t.Errorf("search %q: %q, want %s", q, got, want)
		}
	}
	if got := search(""); len(got) != len(titles)+1 {
		t.Errorf("no search lists %d products, want %d", len(got), len(titles)+1)
	}
}

func TestListProductsPagesWithoutDuplicatesOrGaps(t *testing.T) {
	t.Parallel()
	db := pgtest.Open(t)
	supplier := uuid.New()
	as := gallery.WithCaller(context.Background(), gallery.Supplier(supplier))
	want := map[uuid.UUID]bool{}
	for i := range 120 {
		p, err := db.CreateProduct(as, gallery.Product{SupplierID: supplier, Title: fmt.Sprintf("product %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		want[p.ID] = true
	}
	// Half of them share one creation instant, so that only the id orders them.
	if _, err := db.Pool().Exec(serviceCtx, `UPDATE products SET created_at = '2026-01-01T00:00:00.123456Z'
		WHERE id IN (SELECT id FROM products ORDER BY id LIMIT 60)`); err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{1, 7, 50, 100} {
		// Products added while a client pages are newer than its cursor: they never shift
		// the pages it has yet to read.
		added := 0
		ids := listAll(t, db, as, "", limit, func() {
			if added < 3 {
				if _, err := db.CreateProduct(as, gallery.Product{SupplierID: supplier, Title: "added while paging"}); err != nil {
					t.Fatal(err)
				}
				added++
			}
		})
		seen := map[uuid.UUID]bool{}
		for _, id := range ids {
			if seen[id] {
				t.Fatalf("limit %d: product %s listed twice", limit, id)
			}
			seen[id] = true
		}
		for id := range want {
			if !seen[id] {
				t.Fatalf("limit %d: product %s never listed (%d listed)", limit, id, len(ids))
			}
		}
		// The order is newest first, ties broken by id, descending.
		var ordered int
		if err := db.Pool().QueryRow(serviceCtx, `SELECT count(*) FROM (
				SELECT id, row_number() OVER (ORDER BY created_at DESC, id DESC) AS n FROM products WHERE id = ANY($1)) AS r
			WHERE r.id = ($1::uuid[])[r.n]`, ids).Scan(&ordered); err != nil {
			t.Fatal(err)
		}
		if ordered != len(ids) {
			t.Errorf("limit %d: only %d of %d products are in (created_at, id) descending order", limit, ordered, len(ids))
		}
		for id := range seen {
			want[id] = true // what was added while paging is listed from the next run on
		}
	}
}

func TestListProductsRefusesBadQueries(t *testing.T) {
	t.Parallel()
	db := pgtest.Open(t)
	for _, q := range []gallery.ProductQuery{
		{Limit: 0}, {Limit: -1}, {Limit: gallery.MaxProductPage + 1},
		{Limit: 10, Cursor: "not a cursor"},
		{Limit: 10, Cursor: "MTIz"}, // base64 of "123": no id
		{Limit: 10, Cursor: "LTk5OTk5OTk5OTk5OTk5OTk5LjAwMDAwMDAwLTAwMDAtMDAwMC0wMDAwLTAwMDAwMDAwMDAwMA"}, // far out of range
	} {
		if _, err := db.ListProducts(serviceCtx, q); gallery.ErrorCode(err) != gallery.EINVALID {
			t.Errorf("%+v: %v, want invalid", q, err)
		}
	}
}

func TestProductTitleIsBounded(t *testing.T) {
	t.Parallel()
	db := pgtest.Open(t)
	supplier := uuid.New()
	as := gallery.WithCaller(context.Background(), gallery.Supplier(supplier))
	long := strings.Repeat("é", gallery.MaxTitleLength+1)
	if _, err := db.CreateProduct(as, gallery.Product{SupplierID: supplier, Title: long}); gallery.ErrorCode(err) != gallery.EINVALID {
		t.Fatalf("creating with a %d-character title: %v, want invalid", gallery.MaxTitleLength+1, err)
	}
	p, err := db.CreateProduct(as, gallery.Product{SupplierID: supplier, Title: long[:2*gallery.MaxTitleLength]})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpdateProduct(as, p.ID, gallery.ProductChange{Title: &long}); gallery.ErrorCode(err) != gallery.EINVALID {
		t.Fatalf("a %d-character title: %v, want invalid", gallery.MaxTitleLength+1, err)
	}
	var n int
	if err := db.Pool().QueryRow(serviceCtx, `SELECT count(*) FROM products WHERE char_length(title) > $1`, gallery.MaxTitleLength).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d products with a title over the limit (%v)", n, err)
	}
	title, published := "Renamed", true
	p, err = db.UpdateProduct(as, p.ID, gallery.ProductChange{Title: &title})
	if err != nil || p.Title != title || p.Published {
		t.Fatalf("renaming: %+v, %v", p, err)
	}
	p, err = db.UpdateProduct(as, p.ID, gallery.ProductChange{Published: &published})
	if err != nil || p.Title != title || !p.Published {
		t.Fatalf("publishing kept the title? %+v, %v", p, err)
	}
	if _, err := db.UpdateProduct(as, p.ID, gallery.ProductChange{}); gallery.ErrorCode(err) != gallery.EINVALID {
		t.Fatalf("an empty change: %v, want invalid", err)
	}
}
