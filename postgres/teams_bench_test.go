package postgres_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/postgres"
	"github.com/vitrine-dev/vitrine/postgres/pgtest"
)

// BenchmarkGalleryReadByActingSupplier reads a 12-image unpublished gallery through the login
// role, as the HTTP API does: as the supplier itself (the baseline, supplier = sub), as a
// member of its team naming it in the Vitrine-Supplier header (a membership lookup per
// statement), and as a user whose token's supplier claim names it.
func BenchmarkGalleryReadByActingSupplier(b *testing.B) {
	owner := pgtest.NewDB(b)
	db, err := postgres.Open(context.Background(), owner)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	app, err := postgres.Open(context.Background(), pgtest.AppURL(owner))
	if err != nil {
		b.Fatal(err)
	}
	defer app.Close()
	supplier, member, claimer := uuid.New(), uuid.New(), uuid.New()
	p, err := db.CreateProduct(serviceCtx, gallery.Product{SupplierID: supplier})
	if err != nil {
		b.Fatal(err)
	}
	for i := range 12 {
		if _, err := db.AppendImage(serviceCtx, newImage(p.ID, i), nil); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := db.AddMember(serviceCtx, gallery.Member{SupplierID: supplier, UserID: member, Role: gallery.MemberEditor}); err != nil {
		b.Fatal(err)
	}
	if err := db.SetSupplierClaim(serviceCtx, []string{"app_metadata", "supplier_id"}); err != nil {
		b.Fatal(err)
	}
	claims := []byte(`{"role": "authenticated", "sub": "` + claimer.String() + `", "app_metadata": {"supplier_id": "` + supplier.String() + `"}}`)
	for _, c := range []struct {
		name   string
		caller gallery.Caller
	}{
		{"sub", gallery.Supplier(supplier)},
		{"header", gallery.Caller{Role: gallery.RoleAuthenticated, UserID: member, ActFor: supplier}},
		{"claim", gallery.Caller{Role: gallery.RoleAuthenticated, UserID: claimer, Claims: claims, ClaimedSupplier: supplier}},
	} {
		ctx := gallery.WithCaller(context.Background(), c.caller)
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				g, err := app.Images(ctx, p.ID)
				if err != nil || len(g) != 12 {
					b.Fatalf("%d images, %v", len(g), err)
				}
			}
		})
	}
}
