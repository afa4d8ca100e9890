package postgres_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/postgres"
)

// asUser runs fn in a transaction that acts as an authenticated user with claims and request
// headers (JSON, names in lower case), as PostgREST would.
func asUser(t *testing.T, db *postgres.DB, claims, headers string, fn func(tx pgx.Tx)) {
	t.Helper()
	ctx := context.Background()
	tx, err := db.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SET LOCAL ROLE authenticated`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT set_config('request.jwt.claims', $1, true), set_config('request.headers', $2, true)`, claims, headers); err != nil {
		t.Fatal(err)
	}
	fn(tx)
}

// addMember makes user a member of supplier's team as role.
func addMember(t *testing.T, db *postgres.DB, supplier, user uuid.UUID, role gallery.MemberRole) {
	t.Helper()
	if _, err := db.AddMember(serviceCtx, gallery.Member{SupplierID: supplier, UserID: user, Role: role}); err != nil {
		t.Fatal(err)
	}
}

func subClaims(user uuid.UUID) string {
	return `{"role": "authenticated", "sub": "` + user.String() + `"}`
}

func supplierHeader(supplier string) string {
	return `{"vitrine-supplier": "` + supplier + `"}`
}

// TestTeamsHoldInSQL reaches the tables as PostgREST would (SET LOCAL ROLE, then
// request.jwt.claims and request.headers, then plain SQL): an editor of B's team reads and
// changes B's unpublished gallery with the header, a viewer only reads it, the header naming a
// supplier whose team the user is not in is refused, and without the header nothing changes.
func TestTeamsHoldInSQL(t *testing.T) {
	t.Parallel()
	ts := setupTenants(t)
	editor, viewer := uuid.New(), uuid.New()
	addMember(t, ts.db, ts.b, editor, gallery.MemberEditor)
	addMember(t, ts.db, ts.b, viewer, gallery.MemberViewer)
	forB := supplierHeader(ts.b.String())

	asUser(t, ts.db, subClaims(editor), forB, func(tx pgx.Tx) {
		if n := count(t, tx, `SELECT count(*) FROM product_images WHERE product_id = $1`, ts.bPrivate.ID); n != 2 {
			t.Errorf("B's editor sees %d images of B's unpublished product, want 2", n)
		}
		if n := count(t, tx, `SELECT count(*) FROM products WHERE id = $1`, ts.aProduct.ID); n != 0 {
			t.Errorf("B's editor sees A's unpublished product")
		}
		if n, err := exec(tx, `UPDATE product_images SET alt = 'by the team' WHERE product_id = $1`, ts.bPrivate.ID); err != nil || n != 2 {
			t.Errorf("B's editor changing B's images: %d rows, %v", n, err)
		}
		var order int
		if err := tx.QueryRow(context.Background(), `SELECT insert_image_with_order($1, 'u', $2)`, ts.bPrivate.ID, ts.b).Scan(&order); err != nil || order != 2 {
			t.Errorf("B's editor appending through the legacy RPC: order %d, %v", order, err)
		}
		if _, err := exec(tx, `INSERT INTO products (supplier_id) VALUES ($1)`, ts.b); err != nil {
			t.Errorf("B's editor creating a product for B: %v", err)
		}
		if _, err := exec(tx, `INSERT INTO products (supplier_id) VALUES ($1)`, editor); !isSQLState(err, "42501") {
			t.Errorf("B's editor creating a product for itself while acting for B: %v, want a row-level security error", err)
		}
	})
	asUser(t, ts.db, subClaims(editor), `{}`, func(tx pgx.Tx) {
		if n := count(t, tx, `SELECT count(*) FROM products WHERE id = $1`, ts.bPrivate.ID); n != 0 {
			t.Errorf("without the header B's editor acts for B")
		}
		if _, err := exec(tx, `INSERT INTO products (supplier_id) VALUES ($1)`, editor); err != nil {
			t.Errorf("without the header, the user creating a product for itself: %v", err)
		}
	})
	asUser(t, ts.db, subClaims(viewer), forB, func(tx pgx.Tx) {
		if n := count(t, tx, `SELECT count(*) FROM product_images WHERE product_id = $1`, ts.bPrivate.ID); n != 2 {
			t.Errorf("B's viewer sees %d images of B's unpublished product, want 2", n)
		}
		for _, q := range []string{
			`UPDATE product_images SET alt = 'viewer' WHERE product_id = $1`,
			`DELETE FROM product_images WHERE product_id = $1`,
			`UPDATE products SET title = 'viewer' WHERE id = $1`,
			`DELETE FROM products WHERE id = $1`,
		} {
			if n, err := exec(tx, q, ts.bPrivate.ID); err != nil || n != 0 {
				t.Errorf("B's viewer: %s changed %d rows (%v), want 0", q, n, err)
			}
		}
		if _, err := exec(tx, `SELECT vitrine_delete_image($1)`, ts.bPrivateImg); !isSQLState(err, "VT403") {
			t.Errorf("B's viewer deleting an image: %v, want VT403", err)
		}
		if _, err := exec(tx, `SELECT insert_image_with_order($1, 'u', $2)`, ts.bPrivate.ID, ts.b); !isSQLState(err, "VT403") {
			t.Errorf("B's viewer appending: %v, want VT403", err)
		}
		if _, err := exec(tx, `INSERT INTO products (supplier_id) VALUES ($1)`, ts.b); !isSQLState(err, "42501") {
			t.Errorf("B's viewer creating a product for B: %v, want a row-level security error", err)
		}
	})
	// A header naming a supplier whose team the user is not in is refused, whatever is read.
	asUser(t, ts.db, subClaims(editor), supplierHeader(ts.a.String()), func(tx pgx.Tx) {
		if _, err := exec(tx, `SELECT count(*) FROM products`); !isSQLState(err, "VT403") {
			t.Errorf("a forged header: %v, want VT403", err)
		}
	})
	asUser(t, ts.db, subClaims(editor), supplierHeader("B"), func(tx pgx.Tx) {
		if _, err := exec(tx, `SELECT count(*) FROM products`); !isSQLState(err, "VT422") {
			t.Errorf("a header that is no id: %v, want VT422", err)
		}
	})
	// The user's own id is always allowed.
	if _, err := ts.db.CreateProduct(serviceCtx, gallery.Product{SupplierID: editor}); err != nil {
		t.Fatal(err)
	}
	asUser(t, ts.db, subClaims(editor), supplierHeader(editor.String()), func(tx pgx.Tx) {
		if n := count(t, tx, `SELECT count(*) FROM products WHERE supplier_id = $1`, editor); n != 1 {
			t.Errorf("acting for itself, the user sees %d of its products, want 1", n)
		}
	})
	// Removing the membership takes effect with the next transaction.
	if err := ts.db.RemoveMember(serviceCtx, ts.b, editor); err != nil {
		t.Fatal(err)
	}
	asUser(t, ts.db, subClaims(editor), forB, func(tx pgx.Tx) {
		if _, err := exec(tx, `SELECT count(*) FROM products WHERE id = $1`, ts.bPrivate.ID); !isSQLState(err, "VT403") {
			t.Errorf("after removal, the header for B: %v, want VT403", err)
		}
	})
	if err := ts.db.RemoveMember(serviceCtx, ts.b, editor); gallery.ErrorCode(err) != gallery.ENOTFOUND {
		t.Errorf("removing a member twice: %v, want not found", err)
	}
}

// TestSupplierClaimInSQL: with a claim path recorded, a token's app_metadata.supplier_id is
// the supplier its user acts for, without a header or a membership; without the path, the
// same claim means nothing.
func TestSupplierClaimInSQL(t *testing.T) {
	t.Parallel()
	ts := setupTenants(t)
	user := uuid.New()
	claims := `{"role": "authenticated", "sub": "` + user.String() + `", "app_metadata": {"supplier_id": "` + ts.b.String() + `"}}`
	seesB := func(headers string) int {
		var n int
		asUser(t, ts.db, claims, headers, func(tx pgx.Tx) {
			n = count(t, tx, `SELECT count(*) FROM products WHERE id = $1`, ts.bPrivate.ID)
		})
		return n
	}
	if n := seesB(`{}`); n != 0 {
		t.Fatal("without a claim path the claim names the supplier")
	}
	if err := ts.db.SetSupplierClaim(serviceCtx, []string{"app_metadata", "supplier_id"}); err != nil {
		t.Fatal(err)
	}
	if n := seesB(`{}`); n != 1 {
		t.Error("with the claim path, the claimed supplier's product is not visible")
	}
	if n := seesB(supplierHeader(ts.b.String())); n != 1 {
		t.Error("the header naming the claimed supplier is not allowed")
	}
	if n := seesB(supplierHeader(user.String())); n != 0 {
		t.Error("acting for its own id, the user still sees the claimed supplier's product")
	}
	asUser(t, ts.db, claims, `{}`, func(tx pgx.Tx) {
		if n, err := exec(tx, `UPDATE products SET title = 'claimed' WHERE id = $1`, ts.bPrivate.ID); err != nil || n != 1 {
			t.Errorf("the claimed supplier's product: changed %d rows, %v", n, err)
		}
	})
	// Another user's claim naming A does not reach B.
	other := `{"role": "authenticated", "sub": "` + uuid.NewString() + `", "app_metadata": {"supplier_id": "` + ts.a.String() + `"}}`
	asUser(t, ts.db, other, `{}`, func(tx pgx.Tx) {
		if n := count(t, tx, `SELECT count(*) FROM products WHERE id IN ($1, $2)`, ts.bPrivate.ID, ts.aProduct.ID); n != 1 {
			t.Errorf("a user claiming A sees %d of A's and B's unpublished products, want A's only", n)
		}
	})
	if err := ts.db.SetSupplierClaim(serviceCtx, nil); err != nil {
		t.Fatal(err)
	}
	if n := seesB(`{}`); n != 0 {
		t.Error("after the claim path was cleared the claim still names the supplier")
	}
}

// TestTeamsThroughTheGoAPI checks the same rules through the DB methods the HTTP API uses,
// with the header in the caller (Caller.ActFor).
func TestTeamsThroughTheGoAPI(t *testing.T) {
	t.Parallel()
	ts := setupTenants(t)
	editor, viewer := uuid.New(), uuid.New()
	addMember(t, ts.db, ts.b, editor, gallery.MemberEditor)
	addMember(t, ts.db, ts.b, viewer, gallery.MemberViewer)
	as := func(user, actFor uuid.UUID) context.Context {
		return gallery.WithCaller(context.Background(), gallery.Caller{Role: gallery.RoleAuthenticated, UserID: user, ActFor: actFor})
	}
	check := func(name string, err error, want gallery.Code) {
		t.Helper()
		if got := gallery.ErrorCode(err); got != want {
			t.Errorf("%s: %v (%s), want %s", name, err, got, want)
		}
	}
	asEditor := as(editor, ts.b)
	if id, canWrite, err := ts.db.ActingSupplier(asEditor); err != nil || id != ts.b || !canWrite {
		t.Errorf("B's editor acts for %s (may write %t, %v), want B", id, canWrite, err)
	}
	if g, err := ts.db.Images(asEditor, ts.bPrivate.ID); err != nil || len(g) != 2 {
		t.Errorf("B's editor lists B's unpublished gallery: %d images, %v", len(g), err)
	}
	p, err := ts.db.CreateProduct(asEditor, gallery.Product{Title: "by the team"})
	if err != nil || p.SupplierID != ts.b {
		t.Errorf("B's editor creates a product: supplier %s, %v; want B", p.SupplierID, err)
	}
	page, err := ts.db.ListProducts(asEditor, gallery.ProductQuery{Limit: 10})
	if err != nil || len(page.Products) != 3 {
		t.Errorf("B's editor lists %d products (%v), want B's 3", len(page.Products), err)
	}
	for _, s := range page.Products {
		if s.SupplierID != ts.b {
			t.Errorf("B's editor's list has a product of %s", s.SupplierID)
		}
	}
	if _, err = ts.db.AppendImage(asEditor, newImage(ts.bPrivate.ID, 5), nil); err != nil {
		t.Errorf("B's editor appends to B's gallery: %v", err)
	}
	if err := ts.db.CheckWritable(asEditor, ts.bPrivate.ID); err != nil {
		t.Errorf("B's editor may not change B's product: %v", err)
	}
	check("B's editor may not change A's product", ts.db.CheckWritable(asEditor, ts.aProduct.ID), gallery.ENOTFOUND)

	asViewer := as(viewer, ts.b)
	if g, err := ts.db.Images(asViewer, ts.bPrivate.ID); err != nil || len(g) != 3 {
		t.Errorf("B's viewer lists B's unpublished gallery: %d images, %v", len(g), err)
	}
	_, err = ts.db.UpdateAlt(asViewer, ts.bPrivateImg, "x")
	check("B's viewer changes an alt text", err, gallery.EFORBIDDEN)
	_, err = ts.db.AppendImage(asViewer, newImage(ts.bPrivate.ID, 6), nil)
	check("B's viewer appends", err, gallery.EFORBIDDEN)
	check("B's viewer checks for an upload", ts.db.CheckWritable(asViewer, ts.bPrivate.ID), gallery.EFORBIDDEN)
	_, err = ts.db.CreateProduct(asViewer, gallery.Product{})
	check("B's viewer creates a product", err, gallery.EFORBIDDEN)

	forged := as(viewer, ts.a)
	_, err = ts.db.Images(forged, ts.bPublic.ID)
	check("acting for A without being in its team, reading a published gallery", err, gallery.EFORBIDDEN)
	_, _, err = ts.db.ActingSupplier(forged)
	check("acting for A without being in its team", err, gallery.EFORBIDDEN)

	// Who reads the teams: a member its own rows, a supplier its team.
	if list, err := ts.db.Members(as(viewer, uuid.Nil), uuid.Nil); err != nil || len(list) != 1 || list[0].Role != gallery.MemberViewer {
		t.Errorf("the viewer reads the members %+v (%v), want its own row", list, err)
	}
	if list, err := ts.db.Members(gallery.WithCaller(context.Background(), gallery.Supplier(ts.b)), uuid.Nil); err != nil || len(list) != 2 {
		t.Errorf("B reads %d members of its team (%v), want 2", len(list), err)
	}
	if list, err := ts.db.Members(gallery.WithCaller(context.Background(), gallery.Supplier(ts.a)), ts.b); err != nil || len(list) != 0 {
		t.Errorf("A reads %d members of B's team (%v), want none", len(list), err)
	}
	_, err = ts.db.AddMember(as(ts.b, uuid.Nil), gallery.Member{SupplierID: ts.b, UserID: uuid.New(), Role: gallery.MemberEditor})
	check("B adds a member itself", err, gallery.EFORBIDDEN)
	_, err = ts.db.AddMember(serviceCtx, gallery.Member{SupplierID: ts.b, UserID: uuid.New(), Role: "owner"})
	check("a member with an unknown role", err, gallery.EINVALID)

	if err := ts.db.RemoveMember(serviceCtx, ts.b, viewer); err != nil {
		t.Fatal(err)
	}
	_, err = ts.db.Images(asViewer, ts.bPrivate.ID)
	check("the removed viewer reads B's gallery", err, gallery.EFORBIDDEN)
}

// TestActingSupplierIsDerivedOncePerStatement: the policies evaluate the acting supplier once
// per statement (a sub-select), not once per row, however many rows a read goes through. It
// counts the calls of vitrine_acting_supplier with PostgreSQL's function statistics.
func TestActingSupplierIsDerivedOncePerStatement(t *testing.T) {
	t.Parallel()
	ts := setupTenants(t)
	member := uuid.New()
	addMember(t, ts.db, ts.b, member, gallery.MemberEditor)
	for i := range 60 {
		if _, err := ts.db.AppendImage(serviceCtx, newImage(ts.bPrivate.ID, 10+i), nil); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	conn, err := ts.db.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SET track_functions = 'all'`); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(ctx, `RESET track_functions`)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT set_config('role', 'authenticated', true), set_config('request.jwt.claims', $1, true),
		set_config('request.headers', $2, true)`, subClaims(member), supplierHeader(ts.b.String())); err != nil {
		t.Fatal(err)
	}
	var images, products, calls int
	if err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM product_images), (SELECT count(*) FROM products),
		pg_stat_get_xact_function_calls('vitrine_acting_supplier'::regproc)`).Scan(&images, &products, &calls); err != nil {
		t.Fatal(err)
	}
	if images < 64 || products != 2 {
		t.Fatalf("the member reads %d images of %d products, want B's 64 and 2", images, products)
	}
	// One for products' policy, one for the products that product_images' policy reads.
	if calls > 3 {
		t.Errorf("the acting supplier was derived %d times for a read of %d rows, want once per policy", calls, images+products)
	}
	t.Logf("%d calls of vitrine_acting_supplier for %d image and %d product rows", calls, images, products)
}
