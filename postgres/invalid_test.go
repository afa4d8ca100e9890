package postgres_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
)

// TestValuesPostgreSQLCannotHoldAreInvalid: values that reach the database although PostgreSQL
// cannot store or encode them (the API refuses them first) are domain errors with the code
// invalid, never internal ones: NUL in text, an integer beyond int4, NUL in the claims.
func TestValuesPostgreSQLCannotHoldAreInvalid(t *testing.T) {
	t.Parallel()
	ts := setupTenants(t)
	g, err := ts.db.Images(serviceCtx, ts.aProduct.ID)
	if err != nil {
		t.Fatal(err)
	}
	img := g[0].ID
	if _, err := ts.db.UpdateAlt(serviceCtx, img, "a\x00b"); gallery.ErrorCode(err) != gallery.EINVALID {
		t.Errorf("an alt with NUL: %v, want invalid", err)
	}
	for _, pos := range []int{1 << 31, -1 << 40} {
		if _, err := ts.db.MoveImage(serviceCtx, img, pos); gallery.ErrorCode(err) != gallery.EINVALID {
			t.Errorf("position %d: %v, want invalid", pos, err)
		}
	}
	nulClaims := gallery.WithCaller(context.Background(), gallery.Caller{
		Role: gallery.RoleAuthenticated, UserID: ts.a, Claims: json.RawMessage(`{"role":"authenticated","sub":"` + ts.a.String() + `","x":"\u0000"}`),
	})
	if _, err := ts.db.Product(nulClaims, ts.aProduct.ID); gallery.ErrorCode(err) != gallery.EINVALID {
		t.Errorf("reading with NUL in the claims: %v, want invalid", err)
	}
	if _, err := ts.db.CreateProduct(nulClaims, gallery.Product{ID: uuid.New(), SupplierID: ts.a}); gallery.ErrorCode(err) != gallery.EINVALID {
		t.Errorf("creating with NUL in the claims: %v, want invalid", err)
	}
	// Nothing changed.
	g, err = ts.db.Images(serviceCtx, ts.aProduct.ID)
	if err != nil {
		t.Fatal(err)
	}
	if g[0].ID != img || g[0].Alt == "a\x00b" {
		t.Fatalf("the gallery changed: %+v", g[0])
	}
}

// TestCreateProductWithTakenID: an id taken by a product the caller can see is a conflict;
// one taken by a product it cannot see is not found, as reading it is.
func TestCreateProductWithTakenID(t *testing.T) {
	t.Parallel()
	ts := setupTenants(t)
	asA := gallery.WithCaller(context.Background(), gallery.Supplier(ts.a))
	_, readErr := ts.db.Product(asA, ts.bPrivate.ID)
	_, err := ts.db.CreateProduct(asA, gallery.Product{ID: ts.bPrivate.ID, SupplierID: ts.a})
	if gallery.ErrorCode(err) != gallery.ENOTFOUND || gallery.ErrorMessage(err) != gallery.ErrorMessage(readErr) {
		t.Errorf("creating with a hidden product's id: %v, want the not-found of reading it: %v", err, readErr)
	}
	for _, id := range []uuid.UUID{ts.aProduct.ID, ts.bPublic.ID} {
		if _, err := ts.db.CreateProduct(asA, gallery.Product{ID: id, SupplierID: ts.a}); gallery.ErrorCode(err) != gallery.ECONFLICT {
			t.Errorf("creating with a visible product's id %s: %v, want conflict", id, err)
		}
	}
}
