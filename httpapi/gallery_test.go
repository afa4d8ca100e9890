package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
)

func (b *bundle) gallery(t *testing.T, productID uuid.UUID) []uuid.UUID {
	t.Helper()
	var g galleryBody
	if st := b.doJSON(t, "GET", "/v1/products/"+productID.String()+"/images", nil, &g); st != 200 {
		t.Fatalf("listing gallery: %d", st)
	}
	ids := make([]uuid.UUID, len(g.Images))
	for i, im := range g.Images {
		if im.Position != i {
			t.Fatalf("position %d at index %d", im.Position, i)
		}
		ids[i] = im.ID
	}
	return ids
}

func assertOrder(t *testing.T, got []uuid.UUID, want ...uuid.UUID) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("gallery %v, want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("gallery %v, want %v", got, want)
		}
	}
}

func TestGalleryEditsThroughTheAPI(t *testing.T) {
	t.Parallel()
	b := setup(t)
	productID := b.createProduct(t)
	var ids []uuid.UUID
	for _, name := range []string{"video-001.jpeg", "video-001.png", "video-001.gif", "video-005.gray.jpeg"} {
		var im imageBody
		if st := b.upload(t, productID, readFile(t, goroot("testdata", name)), name, &im); st != 201 {
			t.Fatalf("uploading %s: %d", name, st)
		}
		ids = append(ids, im.ID)
	}
	a, c, d, e := ids[0], ids[1], ids[2], ids[3]
	pos := func(id uuid.UUID) string { return "/v1/images/" + id.String() + "/position" }

	// Move the last image to the front: it becomes the main image.
	var g galleryBody
	if st := b.doJSON(t, "POST", pos(e), map[string]int{"position": 0}, &g); st != 200 || g.Images[0].ID != e {
		t.Fatalf("move to 0: %d %+v", st, g)
	}
	assertOrder(t, b.gallery(t, productID), e, a, c, d)
	if st := b.doJSON(t, "POST", pos(e), map[string]int{"position": 4}, nil); st != 400 {
		t.Fatalf("move past the end: %d, want 400", st)
	}
	if st := b.doJSON(t, "POST", pos(e), map[string]int{"position": -1}, nil); st != 400 {
		t.Fatalf("move to -1: %d, want 400", st)
	}
	if st := b.doJSON(t, "POST", pos(e), map[string]any{}, nil); st != 400 {
		t.Fatalf("move without a position: %d, want 400", st)
	}

	// Full reorders: exactly the gallery's ids, or a conflict that changes nothing.
	order := "/v1/products/" + productID.String() + "/images/order"
	if st := b.doJSON(t, "PUT", order, map[string]any{"ids": []uuid.UUID{d, c, a, e}}, &g); st != 200 {
		t.Fatalf("reorder: %d", st)
	}
	assertOrder(t, b.gallery(t, productID), d, c, a, e)
	for name, bad := range map[string][]uuid.UUID{
		"one missing": {d, c, a},
		"a stranger":  {d, c, a, uuid.New()},
	} {
		if st := b.doJSON(t, "PUT", order, map[string]any{"ids": bad}, nil); st != 409 {
			t.Errorf("reorder with %s: %d, want 409", name, st)
		}
	}
	if st := b.doJSON(t, "PUT", order, map[string]any{"ids": []uuid.UUID{d, d, a, e}}, nil); st != 400 {
		t.Errorf("reorder with a repeated id: %d, want 400", st)
	}
	if st := b.doJSON(t, "PUT", order, map[string]any{"idz": []uuid.UUID{}}, nil); st != 400 {
		t.Errorf("reorder with an unknown field: %d, want 400", st)
	}
	assertOrder(t, b.gallery(t, productID), d, c, a, e)

	// Alt text.
	var im imageBody
	if st := b.doJSON(t, "PATCH", "/v1/images/"+a.String(), map[string]string{"alt": "a red chair"}, &im); st != 200 || im.Alt != "a red chair" {
		t.Fatalf("patch alt: %d %+v", st, im)
	}
	if st := b.doJSON(t, "PATCH", "/v1/images/"+a.String(), map[string]string{"alt": strings.Repeat("x", 1001)}, nil); st != 400 {
		t.Fatalf("alt of 1001 characters: %d, want 400", st)
	}
	if st := b.do(t, "PATCH", "/v1/images/"+a.String(), strings.NewReader(`{"alt": `), "application/json", nil); st != 400 {
		t.Fatalf("broken JSON: %d, want 400", st)
	}

	// Delete the main image: the rest move up; a second delete is a 404.
	if st := b.do(t, "DELETE", "/v1/images/"+d.String(), nil, "", nil); st != http.StatusNoContent {
		t.Fatalf("delete: %d", st)
	}
	assertOrder(t, b.gallery(t, productID), c, a, e)
	if st := b.do(t, "DELETE", "/v1/images/"+d.String(), nil, "", nil); st != 404 {
		t.Fatalf("second delete: %d, want 404", st)
	}
	if st := b.doJSON(t, "GET", "/v1/images/"+a.String(), nil, &im); st != 200 || im.Position != 1 || im.Alt != "a red chair" {
		t.Fatalf("get image: %d %+v", st, im)
	}

	// Unknown and malformed ids are 404s everywhere, never 500s.
	for _, path := range []string{"/v1/images/" + uuid.NewString(), "/v1/images/not-a-uuid",
		"/v1/products/" + uuid.NewString() + "/images", "/v1/products/nope/images", "/v1/nothing"} {
		if st := b.do(t, "GET", path, nil, "", nil); st != 404 {
			t.Errorf("GET %s: %d, want 404", path, st)
		}
	}
	if st := b.doJSON(t, "PATCH", "/v1/images/"+uuid.NewString(), map[string]string{"alt": "x"}, nil); st != 404 {
		t.Errorf("patch of a missing image: %d, want 404", st)
	}
	if st := b.doJSON(t, "POST", pos(uuid.New()), map[string]int{"position": 0}, nil); st != 404 {
		t.Errorf("move of a missing image: %d, want 404", st)
	}
	if st := b.doJSON(t, "PUT", "/v1/products/"+uuid.NewString()+"/images/order", map[string]any{"ids": []uuid.UUID{}}, nil); st != 404 {
		t.Errorf("reorder of a missing product: %d, want 404", st)
	}
}

func TestCreateProduct(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id, supplier := uuid.New(), uuid.New()
	var p struct {
		ID         uuid.UUID `json:"id"`
		SupplierID uuid.UUID `json:"supplier_id"`
	}
	if st := b.doJSON(t, "POST", "/v1/products", map[string]any{"id": id, "supplier_id": supplier}, &p); st != 201 || p.ID != id || p.SupplierID != supplier {
		t.Fatalf("create with id: %d %+v", st, p)
	}
	if st := b.doJSON(t, "POST", "/v1/products", map[string]any{"id": id, "supplier_id": supplier}, nil); st != 409 {
		t.Fatalf("create the same id again: %d, want 409", st)
	}
	if st := b.doJSON(t, "POST", "/v1/products", map[string]any{}, nil); st != 400 {
		t.Fatalf("create without supplier: %d, want 400", st)
	}
	if st := b.doJSON(t, "POST", "/v1/products", map[string]any{"supplier_id": "x"}, nil); st != 400 {
		t.Fatalf("create with a malformed supplier: %d, want 400", st)
	}
	if st := b.doJSON(t, "GET", "/v1/products/"+id.String(), nil, &p); st != 200 || p.ID != id {
		t.Fatalf("get product: %d", st)
	}
	if st := b.do(t, "GET", "/v1/products/"+id.String()+"/images", nil, "", nil); st != 200 {
		t.Fatalf("empty gallery: %d", st)
	}
}
