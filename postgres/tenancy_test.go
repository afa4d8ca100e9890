package postgres_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/postgres"
	"github.com/vitrine-dev/vitrine/postgres/pgtest"
)

// tenants is a database with two suppliers: A owns one product, B an unpublished and a
// published one, each with two images.
type tenants struct {
	db                      *postgres.DB // as the owner, for checking rows
	a, b                    uuid.UUID
	aProduct                gallery.Product
	bPrivate, bPublic       gallery.Product
	bPrivateImg, bPublicImg uuid.UUID
}

func setupTenants(t *testing.T) tenants {
	t.Helper()
	db := pgtest.Open(t)
	ts := tenants{db: db, a: uuid.New(), b: uuid.New()}
	create := func(supplier uuid.UUID, published bool) gallery.Product {
		p, err := db.CreateProduct(serviceCtx, gallery.Product{SupplierID: supplier, Published: published})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			if _, err := db.AppendImage(serviceCtx, newImage(p.ID, i), nil); err != nil {
				t.Fatal(err)
			}
		}
		return p
	}
	ts.aProduct = create(ts.a, false)
	ts.bPrivate = create(ts.b, false)
	ts.bPublic = create(ts.b, true)
	g, _ := db.Images(serviceCtx, ts.bPrivate.ID)
	ts.bPrivateImg = g[0].ID
	g, _ = db.Images(serviceCtx, ts.bPublic.ID)
	ts.bPublicImg = g[0].ID
	return ts
}

// asRole runs fn in a transaction that acts as role with claims, as PostgREST would.
func asRole(t *testing.T, db *postgres.DB, role string, claims string, fn func(tx pgx.Tx)) {
	t.Helper()
	ctx := context.Background()
	tx, err := db.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT set_config('role', $1, true), set_config('request.jwt.claims', $2, true)`, role, claims); err != nil {
		t.Fatal(err)
	}
	fn(tx)
}

func count(t *testing.T, tx pgx.Tx, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := tx.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func exec(tx pgx.Tx, sql string, args ...any) (int64, error) {
	ctx := context.Background()
	if _, err := tx.Exec(ctx, "SAVEPOINT s"); err != nil {
		return 0, err
	}
	tag, err := tx.Exec(ctx, sql, args...)
	if err != nil {
		tx.Exec(ctx, "ROLLBACK TO SAVEPOINT s")
		return 0, err
	}
	return tag.RowsAffected(), nil
}

// TestRowLevelSecurityHoldsInSQL reaches the tables as PostgREST or Supabase would, with
// supplier A's claims: A sees and changes none of B's unpublished rows, reads but cannot change
// B's published ones, and the anonymous role reads published data only.
func TestRowLevelSecurityHoldsInSQL(t *testing.T) {
	t.Parallel()
	ts := setupTenants(t)
	before, _ := ts.db.Images(serviceCtx, ts.bPrivate.ID)
	claimsA := `{"role": "authenticated", "sub": "` + ts.a.String() + `"}`

	asRole(t, ts.db, "authenticated", claimsA, func(tx pgx.Tx) {
		if n := count(t, tx, `SELECT count(*) FROM products WHERE id = $1`, ts.bPrivate.ID); n != 0 {
			t.Errorf("A sees B's unpublished product (%d rows)", n)
		}
		if n := count(t, tx, `SELECT count(*) FROM product_images WHERE product_id = $1`, ts.bPrivate.ID); n != 0 {
			t.Errorf("A sees %d images of B's unpublished product", n)
		}
		if n := count(t, tx, `SELECT count(*) FROM product_images WHERE product_id = $1`, ts.bPublic.ID); n != 2 {
			t.Errorf("A sees %d images of B's published product, want 2", n)
		}
		if n := count(t, tx, `SELECT count(*) FROM product_images WHERE product_id = $1`, ts.aProduct.ID); n != 2 {
			t.Errorf("A sees %d of its own images, want 2", n)
		}
		for _, q := range []string{
			`UPDATE product_images SET alt = 'pwned' WHERE product_id IN ($1, $2)`,
			`DELETE FROM product_images WHERE product_id IN ($1, $2)`,
			`UPDATE products SET published = true, supplier_id = supplier_id WHERE id IN ($1, $2)`,
			`DELETE FROM products WHERE id IN ($1, $2)`,
		} {
			if n, err := exec(tx, q, ts.bPrivate.ID, ts.bPublic.ID); err != nil || n != 0 {
				t.Errorf("%s: changed %d rows (err %v), want 0", q, n, err)
			}
		}
		if _, err := exec(tx, `INSERT INTO product_images (product_id, image_url, storage_path, image_order) VALUES ($1, 'u', 'k', 9)`, ts.bPublic.ID); !isSQLState(err, "42501") {
			t.Errorf("A inserting into B's gallery: %v, want a row-level security error", err)
		}
		if _, err := exec(tx, `INSERT INTO products (supplier_id) VALUES ($1)`, ts.b); !isSQLState(err, "42501") {
			t.Errorf("A creating a product for B: %v, want a row-level security error", err)
		}
		if _, err := exec(tx, `SELECT insert_image_with_order($1, 'u', $2)`, ts.bPrivate.ID, ts.b); !isSQLState(err, "VT404") {
			t.Errorf("the legacy RPC on B's unpublished product: %v, want VT404", err)
		}
		if _, err := exec(tx, `SELECT insert_image_with_order($1, 'u', $2)`, ts.bPublic.ID, ts.b); !isSQLState(err, "VT403") {
			t.Errorf("the legacy RPC on B's published product: %v, want VT403", err)
		}
		for _, q := range []string{`SELECT vitrine_delete_image($1)`, `SELECT vitrine_move_image($1, 1)`} {
			if _, err := exec(tx, q, ts.bPublicImg); !isSQLState(err, "VT403") {
				t.Errorf("%s on B's published image: %v, want VT403", q, err)
			}
			if _, err := exec(tx, q, ts.bPrivateImg); !isSQLState(err, "VT404") {
				t.Errorf("%s on B's unpublished image: %v, want VT404", q, err)
			}
		}
		if _, err := exec(tx, `SELECT 1 FROM river_job`); !isSQLState(err, "42501") {
			t.Errorf("A reading River's jobs: %v, want permission denied", err)
		}
		// A's own gallery works through the same functions.
		var order int
		if err := tx.QueryRow(context.Background(), `SELECT insert_image_with_order($1, 'u', $2)`, ts.aProduct.ID, ts.a).Scan(&order); err != nil || order != 2 {
			t.Errorf("A appending to its own gallery: order %d, err %v", order, err)
		}
	})
	asRole(t, ts.db, "anon", `{"role": "anon"}`, func(tx pgx.Tx) {
		if n := count(t, tx, `SELECT count(*) FROM product_images`); n != 2 {
			t.Errorf("anon sees %d images, want the published product's 2", n)
		}
		if n, err := exec(tx, `UPDATE product_images SET alt = 'x'`); err == nil && n != 0 {
			t.Errorf("anon changed %d rows", n)
		}
	})
	after, _ := ts.db.Images(serviceCtx, ts.bPrivate.ID)
	if len(after) != len(before) || after[0].Alt != before[0].Alt || after[0].ID != before[0].ID {
		t.Fatalf("B's gallery changed: %+v", after)
	}
}

// TestCallersThroughTheGoAPI checks the same rules through the DB methods the HTTP API uses:
// a row the caller cannot see is not found, one it can see but not change is forbidden.
func TestCallersThroughTheGoAPI(t *testing.T) {
	t.Parallel()
	ts := setupTenants(t)
	asA := gallery.WithCaller(context.Background(), gallery.Supplier(ts.a))
	anon := gallery.WithCaller(context.Background(), gallery.Anonymous())
	check := func(name string, err error, want gallery.Code) {
		t.Helper()
		if got := gallery.ErrorCode(err); got != want {
			t.Errorf("%s: %v (%s), want %s", name, err, got, want)
		}
	}
	_, err := ts.db.Images(asA, ts.bPrivate.ID)
	check("A lists B's unpublished gallery", err, gallery.ENOTFOUND)
	_, err = ts.db.Image(asA, ts.bPrivateImg)
	check("A reads B's unpublished image", err, gallery.ENOTFOUND)
	_, err = ts.db.UpdateAlt(asA, ts.bPrivateImg, "x")
	check("A changes B's unpublished image", err, gallery.ENOTFOUND)
	_, err = ts.db.UpdateAlt(asA, ts.bPublicImg, "x")
	check("A changes B's published image", err, gallery.EFORBIDDEN)
	_, err = ts.db.DeleteImage(asA, ts.bPublicImg)
	check("A deletes B's published image", err, gallery.EFORBIDDEN)
	_, err = ts.db.MoveImage(asA, ts.bPrivateImg, 1)
	check("A moves B's unpublished image", err, gallery.ENOTFOUND)
	g, _ := ts.db.Images(serviceCtx, ts.bPublic.ID)
	_, err = ts.db.ReorderImages(asA, ts.bPublic.ID, []uuid.UUID{g[1].ID, g[0].ID})
	check("A reorders B's published gallery", err, gallery.EFORBIDDEN)
	_, err = ts.db.AppendImage(asA, newImage(ts.bPublic.ID, 7), nil)
	check("A appends to B's published gallery", err, gallery.EFORBIDDEN)
	published := true
	_, err = ts.db.UpdateProduct(asA, ts.bPrivate.ID, gallery.ProductChange{Published: &published})
	check("A publishes B's product", err, gallery.ENOTFOUND)
	_, err = ts.db.CreateProduct(asA, gallery.Product{SupplierID: ts.b})
	check("A creates a product for B", err, gallery.EFORBIDDEN)
	_, err = ts.db.Images(anon, ts.aProduct.ID)
	check("anon lists an unpublished gallery", err, gallery.ENOTFOUND)
	if g, err := ts.db.Images(anon, ts.bPublic.ID); err != nil || len(g) != 2 {
		t.Errorf("anon lists a published gallery: %d images, %v", len(g), err)
	}
	if _, err := ts.db.Images(context.Background(), ts.aProduct.ID); err == nil {
		t.Error("a transaction without a caller ran")
	}
	// A's own gallery.
	if _, err := ts.db.AppendImage(asA, newImage(ts.aProduct.ID, 9), nil); err != nil {
		t.Errorf("A appends to its own gallery: %v", err)
	}
	after, _ := ts.db.Images(serviceCtx, ts.bPublic.ID)
	if len(after) != 2 || after[0].ID != g[0].ID || after[0].Alt != "" {
		t.Fatalf("B's published gallery changed: %+v", after)
	}
}

// TestLoginRoleCannotGetAroundRLS is the promise that Vitrine's login role is bound by
// row-level security: not a superuser, not BYPASSRLS, not the tables' owner, RLS forced, and
// without a role switch it can read nothing of the gallery (an error, never zero rows).
func TestLoginRoleCannotGetAroundRLS(t *testing.T) {
	t.Parallel()
	app := pgtest.OpenApp(t)
	r, err := app.LoginRole(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r.Name != "vitrine_app" || r.Superuser || r.BypassRLS || r.OwnsTables || !r.RLSForced || !r.CanActAsAll || !r.Safe() {
		t.Fatalf("login role %+v", r)
	}
	_, err = app.Pool().Exec(context.Background(), `SELECT 1 FROM product_images`)
	if !isSQLState(err, "42501") {
		t.Fatalf("the login role reading the gallery without a role: %v, want permission denied", err)
	}
}

// TestPooledConnectionForgetsTheCaller runs request A as a supplier on a one-connection pool;
// the next use of that connection sees none of A's role or claims.
func TestPooledConnectionForgetsTheCaller(t *testing.T) {
	t.Parallel()
	ts := setupTenants(t)
	app, err := postgres.Open(context.Background(), pgtest.AppURL(pgtest.NewDB(t))+"&pool_max_conns=1")
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	asA := gallery.WithCaller(context.Background(), gallery.Supplier(ts.a))
	if _, err := app.Images(asA, uuid.New()); gallery.ErrorCode(err) != gallery.ENOTFOUND {
		t.Fatal(err)
	}
	_, _ = app.UpdateAlt(asA, uuid.New(), "x") // a failed request too
	var user, claims, role string
	err = app.Pool().QueryRow(context.Background(), `SELECT current_user, coalesce(current_setting('request.jwt.claims', true), ''),
		current_setting('role')`).Scan(&user, &claims, &role)
	if err != nil {
		t.Fatal(err)
	}
	if user != "vitrine_app" || claims != "" || role != "none" {
		t.Fatalf("after request A the pooled connection is %s with claims %q and role %q", user, claims, role)
	}
}

func isSQLState(err error, code string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == code
}
