package httpapi

import (
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
)

type productJSON struct {
	ID         uuid.UUID `json:"id"`
	SupplierID uuid.UUID `json:"supplier_id"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

func toProductJSON(p gallery.Product) productJSON {
	return productJSON{ID: p.ID, SupplierID: p.SupplierID, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
}

func (s *Server) createProduct(w http.ResponseWriter, r *http.Request) {
	var body struct {
		ID         *uuid.UUID `json:"id"`
		SupplierID *uuid.UUID `json:"supplier_id"`
	}
	if err := readJSON(w, r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	if body.SupplierID == nil || *body.SupplierID == uuid.Nil {
		s.writeError(w, r, gallery.Errorf(gallery.EINVALID, "supplier_id is required"))
		return
	}
	if !s.caller(r).Owns(*body.SupplierID) {
		s.writeError(w, r, gallery.Errorf(gallery.EFORBIDDEN, "suppliers create products for themselves only"))
		return
	}
	p := gallery.Product{SupplierID: *body.SupplierID}
	if body.ID != nil {
		p.ID = *body.ID
	}
	p, err := s.Gallery.CreateProduct(r.Context(), p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/products/"+p.ID.String())
	writeJSON(w, http.StatusCreated, toProductJSON(p))
}

func (s *Server) getProduct(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "product_id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := s.Gallery.Product(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toProductJSON(p))
}
