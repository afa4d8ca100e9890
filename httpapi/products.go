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
	Published  bool      `json:"published"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

func toProductJSON(p gallery.Product) productJSON {
	return productJSON{ID: p.ID, SupplierID: p.SupplierID, Published: p.Published, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
}

// createProduct makes a product. A supplier creates products for itself (supplier_id may be
// left out); the service role names the supplier.
func (s *Server) createProduct(w http.ResponseWriter, r *http.Request) {
	var body struct {
		ID         *uuid.UUID `json:"id"`
		SupplierID *uuid.UUID `json:"supplier_id"`
		Published  bool       `json:"published"`
	}
	if _, ok := s.beginWrite(w, r, "", &body); !ok {
		return
	}
	if !s.limit(w, r, writeBudget) {
		return
	}
	caller := s.caller(r)
	if body.SupplierID == nil && caller.Role == gallery.RoleAuthenticated {
		body.SupplierID = &caller.UserID
	}
	if body.SupplierID == nil || *body.SupplierID == uuid.Nil {
		s.writeError(w, r, gallery.Errorf(gallery.EINVALID, "supplier_id is required"))
		return
	}
	if !caller.Owns(*body.SupplierID) {
		s.writeError(w, r, gallery.Errorf(gallery.EFORBIDDEN, "suppliers create products for themselves only"))
		return
	}
	p := gallery.Product{SupplierID: *body.SupplierID, Published: body.Published}
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

// patchProduct publishes or withdraws a product: {"published": true|false}.
func (s *Server) patchProduct(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Published *bool `json:"published"`
	}
	id, ok := s.beginWrite(w, r, "product_id", &body)
	if !ok {
		return
	}
	if !s.limit(w, r, writeBudget) {
		return
	}
	if body.Published == nil {
		s.writeError(w, r, gallery.Errorf(gallery.EINVALID, "nothing to change: send {\"published\": true|false}"))
		return
	}
	p, err := s.Gallery.SetPublished(r.Context(), id, *body.Published)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toProductJSON(p))
}

// deleteProduct deletes a product with its images; their objects are deleted by the workers.
func (s *Server) deleteProduct(w http.ResponseWriter, r *http.Request) {
	id, ok := s.beginWrite(w, r, "product_id", nil)
	if !ok {
		return
	}
	if !s.limit(w, r, writeBudget) {
		return
	}
	if err := s.Gallery.DeleteProduct(r.Context(), id); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
