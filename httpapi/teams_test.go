package httpapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/internal/testphotos"
)

// productBody is a product as the API answers it.
type productBody struct {
	ID         uuid.UUID `json:"id"`
	SupplierID uuid.UUID `json:"supplier_id"`
}

// actingFor returns the bundle sending the Vitrine-Supplier header with supplier.
func (b *bundle) actingFor(supplier string) *bundle {
	c := *b
	c.actFor = supplier
	return &c
}

// imageRows counts the image rows of a product, as the owner sees them.
func (b *bundle) imageRows(t *testing.T, productID uuid.UUID) int {
	t.Helper()
	var n int
	if err := b.db.Pool().QueryRow(context.Background(), `SELECT count(*) FROM product_images WHERE product_id = $1`, productID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// wantError checks an answer's status and error code.
func wantError(t *testing.T, what string, st int, e apiError, status int, code string) {
	t.Helper()
	if st != status || e.Error.Code != code {
		t.Errorf("%s: %d %q (%s), want %d %s", what, st, e.Error.Code, e.Error.Message, status, code)
	}
}

// TestTeamMembersActForTheirSupplier: users in supplier B's team act for B with the
// Vitrine-Supplier header, through every kind of endpoint: an editor reads and changes B's
// unpublished gallery, a viewer reads it and is refused every change (before any upload byte
// is stored), a user without the header or outside the team does not see it (404), a header
// naming a team the user is not in is refused (403), and a removed member is refused at once.
func TestTeamMembersActForTheirSupplier(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := gallery.WithCaller(context.Background(), gallery.Service())
	supplier, editor, viewer, stranger := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	for _, m := range []gallery.Member{{SupplierID: supplier, UserID: editor, Role: gallery.MemberEditor}, {SupplierID: supplier, UserID: viewer, Role: gallery.MemberViewer}} {
		if _, err := b.db.AddMember(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	photo := readFile(t, testphotos.Medium(t))
	asSupplier := b.as(tokenFor(t, gallery.Supplier(supplier)))
	asEditor := b.as(tokenFor(t, gallery.Supplier(editor))).actingFor(supplier.String())
	asViewer := b.as(tokenFor(t, gallery.Supplier(viewer))).actingFor(supplier.String())
	asStranger := b.as(tokenFor(t, gallery.Supplier(stranger)))

	var p productBody
	if st := asSupplier.doJSON(t, "POST", "/v1/products", map[string]any{"title": "unpublished"}, &p); st != 201 {
		t.Fatalf("the supplier creating its product: %d", st)
	}
	pp := "/v1/products/" + p.ID.String()

	// The editor: reads, uploads, edits, creates products for the supplier.
	if st := asEditor.doJSON(t, "GET", pp, nil, nil); st != 200 {
		t.Errorf("the editor reading the supplier's product: %d", st)
	}
	var im imageBody
	if st := asEditor.upload(t, p.ID, photo, "by the editor", &im); st != 201 {
		t.Fatalf("the editor uploading: %d", st)
	}
	if st := asEditor.doJSON(t, "PATCH", "/v1/images/"+im.ID.String(), map[string]string{"alt": "edited"}, nil); st != 200 {
		t.Errorf("the editor editing an alt text: %d", st)
	}
	var made productBody
	if st := asEditor.doJSON(t, "POST", "/v1/products", map[string]any{"title": "by the editor"}, &made); st != 201 || made.SupplierID != supplier {
		t.Errorf("the editor creating a product: %d, supplier %s, want %s", st, made.SupplierID, supplier)
	}
	var page struct {
		Products []productBody `json:"products"`
	}
	if st := asEditor.doJSON(t, "GET", "/v1/products", nil, &page); st != 200 || len(page.Products) != 2 {
		t.Errorf("the editor's list: %d, %d products, want the supplier's 2", st, len(page.Products))
	}
	for _, lp := range page.Products {
		if lp.SupplierID != supplier {
			t.Errorf("the editor's list has a product of %s", lp.SupplierID)
		}
	}
	// Its event stream opens, and ends (gone) at the first change after it left the team.
	stream := openEvents(t, b.url, asEditor.token, p.ID, "", gallery.SupplierHeader, supplier.String())
	if stream.resp.StatusCode != 200 {
		t.Fatalf("the editor's event stream: %d", stream.resp.StatusCode)
	}
	stream.snapshot(t)

	// The viewer: reads, and every change is refused.
	var g galleryBody
	if st := asViewer.doJSON(t, "GET", pp+"/images", nil, &g); st != 200 || len(g.Images) != 1 {
		t.Errorf("the viewer reading the gallery: %d, %d images", st, len(g.Images))
	}
	var e apiError
	st := asViewer.upload(t, p.ID, photo, "", &e)
	wantError(t, "the viewer uploading", st, e, 403, "forbidden")
	e = apiError{}
	st = asViewer.doJSON(t, "PATCH", "/v1/images/"+im.ID.String(), map[string]string{"alt": "viewer"}, &e)
	wantError(t, "the viewer editing an alt text", st, e, 403, "forbidden")
	e = apiError{}
	st = asViewer.doJSON(t, "DELETE", "/v1/images/"+im.ID.String(), nil, &e)
	wantError(t, "the viewer deleting an image", st, e, 403, "forbidden")
	e = apiError{}
	st = asViewer.doJSON(t, "POST", "/v1/products", map[string]any{}, &e)
	wantError(t, "the viewer creating a product", st, e, 403, "forbidden")
	if n := b.imageRows(t, p.ID); n != 1 {
		t.Errorf("%d image rows after the viewer's attempts, want 1", n)
	}

	// Without the header the editor is itself; a stranger does not see the product.
	e = apiError{}
	st = asEditor.actingFor("").doJSON(t, "GET", pp, nil, &e)
	wantError(t, "the editor without the header", st, e, 404, "not_found")
	e = apiError{}
	st = asStranger.doJSON(t, "GET", pp+"/images", nil, &e)
	wantError(t, "a user outside the team", st, e, 404, "not_found")

	// A header naming a team the user is not in is refused, on reads as on writes.
	forged := asStranger.actingFor(supplier.String())
	for _, c := range []struct {
		method, path string
		body         any
	}{{"GET", pp, nil}, {"GET", "/v1/products", nil}, {"GET", pp + "/events", nil}, {"PATCH", "/v1/images/" + im.ID.String(), map[string]string{"alt": "forged"}}} {
		e = apiError{}
		st = forged.doJSON(t, c.method, c.path, c.body, &e)
		wantError(t, "a forged header: "+c.method+" "+c.path, st, e, 403, "forbidden")
	}
	e = apiError{}
	st = asStranger.actingFor("supplier-b").doJSON(t, "GET", pp, nil, &e)
	wantError(t, "a header that is no id", st, e, 400, "invalid")
	e = apiError{}
	st = b.as("").actingFor(supplier.String()).doJSON(t, "GET", pp, nil, &e)
	wantError(t, "the header without a token", st, e, 400, "invalid")

	// Removing the editor from the team takes effect with its next request.
	if err := b.db.RemoveMember(ctx, supplier, editor); err != nil {
		t.Fatal(err)
	}
	e = apiError{}
	st = asEditor.upload(t, p.ID, photo, "", &e)
	wantError(t, "the removed editor uploading", st, e, 403, "forbidden")
	if n := b.imageRows(t, p.ID); n != 1 {
		t.Errorf("%d image rows after the removed editor's upload, want 1", n)
	}
	if st := asSupplier.doJSON(t, "PATCH", pp, map[string]string{"title": "renamed"}, nil); st != 200 {
		t.Fatalf("the supplier renaming its product: %d", st)
	}
	stream.nextOf(t, "gone", -1)
	if !stream.ended(t) {
		t.Error("the removed editor's stream did not end")
	}
}

// TestSupplierClaimFromAppMetadata: with VITRINE_SUPPLIER_CLAIM=app_metadata.supplier_id, a
// Supabase-style token whose app_metadata names a supplier acts for it with no header and no
// membership; a claim that is not a supplier id is refused.
func TestSupplierClaimFromAppMetadata(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *options) { o.supplierClaim = []string{"app_metadata", "supplier_id"} })
	supplier, user := uuid.New(), uuid.New()
	mint := func(claimed any) string {
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
			"role": "authenticated", "sub": user.String(), "exp": time.Now().Add(time.Hour).Unix(),
			"app_metadata": map[string]any{"provider": "email", "supplier_id": claimed},
		}).SignedString(testSecret)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	var p productBody
	if st := b.as(tokenFor(t, gallery.Supplier(supplier))).doJSON(t, "POST", "/v1/products", map[string]any{}, &p); st != 201 {
		t.Fatalf("the supplier creating its product: %d", st)
	}
	asClaimed := b.as(mint(supplier.String()))
	if st := asClaimed.doJSON(t, "GET", "/v1/products/"+p.ID.String(), nil, nil); st != 200 {
		t.Errorf("the claimed supplier's product: %d", st)
	}
	var im imageBody
	if st := asClaimed.upload(t, p.ID, readFile(t, testphotos.Medium(t)), "", &im); st != 201 {
		t.Errorf("uploading to the claimed supplier's product: %d", st)
	}
	var made productBody
	if st := asClaimed.doJSON(t, "POST", "/v1/products", map[string]any{}, &made); st != 201 || made.SupplierID != supplier {
		t.Errorf("creating a product: %d, supplier %s, want %s", st, made.SupplierID, supplier)
	}
	// Acting for its own id with the header, the user leaves the claimed supplier.
	var e apiError
	st := asClaimed.actingFor(user.String()).doJSON(t, "GET", "/v1/products/"+p.ID.String(), nil, &e)
	wantError(t, "acting for its own id", st, e, 404, "not_found")
	e = apiError{}
	st = b.as(mint("not-a-supplier")).doJSON(t, "GET", "/v1/products", nil, &e)
	wantError(t, "a claim that is no id", st, e, 401, "unauthorized")
	e = apiError{}
	st = b.as(mint(uuid.NewString())).doJSON(t, "GET", "/v1/products/"+p.ID.String(), nil, &e)
	wantError(t, "a token claiming another supplier", st, e, 404, "not_found")
}
