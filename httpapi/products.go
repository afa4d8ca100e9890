package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
)

type productJSON struct {
	ID         uuid.UUID `json:"id"`
	SupplierID uuid.UUID `json:"supplier_id"`
	Title      string    `json:"title"`
	// ExternalRef is the supplier's own reference of the product; null when none was given.
	ExternalRef *string   `json:"external_ref"`
	Published   bool      `json:"published"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func toProductJSON(p gallery.Product) productJSON {
	out := productJSON{ID: p.ID, SupplierID: p.SupplierID, Title: p.Title, Published: p.Published, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
	if p.ExternalRef != "" {
		out.ExternalRef = &p.ExternalRef
	}
	return out
}

// productSummaryJSON is a product as GET /v1/products lists it.
type productSummaryJSON struct {
	productJSON
	ImageCount int        `json:"image_count"`
	MainImage  *imageJSON `json:"main_image"`
}

type productPageJSON struct {
	Products   []productSummaryJSON `json:"products"`
	NextCursor *string              `json:"next_cursor"`
}

// listProducts answers a page of the products the caller manages or may read, newest
// first: ?q= searches titles (or names an id), ?limit= sizes the page, ?cursor= continues
// from the page that returned it.
func (s *Server) listProducts(w http.ResponseWriter, r *http.Request) {
	query := r.URL.Query()
	q := gallery.ProductQuery{Limit: gallery.DefaultProductPage, Cursor: query.Get("cursor")}
	var err error
	if q.Search, err = checkText("q", query.Get("q"), gallery.MaxTitleLength); err != nil {
		s.writeError(w, r, err)
		return
	}
	if v := query.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > gallery.MaxProductPage {
			s.writeError(w, r, gallery.Errorf(gallery.EINVALID, "limit must be a whole number from 1 to %d", gallery.MaxProductPage))
			return
		}
		q.Limit = n
	}
	page, err := s.Gallery.ListProducts(r.Context(), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := productPageJSON{Products: make([]productSummaryJSON, 0, len(page.Products))}
	for _, p := range page.Products {
		item := productSummaryJSON{productJSON: toProductJSON(p.Product), ImageCount: p.ImageCount}
		if p.MainImage != nil {
			im := s.imageJSON(*p.MainImage)
			item.MainImage = &im
		}
		out.Products = append(out.Products, item)
	}
	if page.NextCursor != "" {
		out.NextCursor = &page.NextCursor
	}
	writeJSON(w, http.StatusOK, out)
}

// createProduct makes a product. A user creates products for the supplier it acts for
// (supplier_id may be left out); the service role names the supplier. external_ref, when
// given, is the supplier's own reference of the product, unique per supplier (a second product
// with it is a conflict).
func (s *Server) createProduct(w http.ResponseWriter, r *http.Request) {
	var body struct {
		ID          *uuid.UUID `json:"id"`
		SupplierID  *uuid.UUID `json:"supplier_id"`
		Title       string     `json:"title"`
		ExternalRef *string    `json:"external_ref"`
		Published   bool       `json:"published"`
	}
	if _, ok := s.beginWrite(w, r, "", &body); !ok {
		return
	}
	title, err := checkText("title", body.Title, gallery.MaxTitleLength)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var ref string
	if body.ExternalRef != nil {
		if ref, err = checkText("external_ref", *body.ExternalRef, gallery.MaxExternalRefLength); err == nil && ref == "" {
			err = gallery.Errorf(gallery.EINVALID, "external_ref must not be empty (leave it out for none)")
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	if !s.limit(w, r, writeBudget) {
		return
	}
	// A user's product is for the supplier it acts for unless it names one; the database
	// refuses a supplier it may not change (row-level security). The service role names it.
	if body.SupplierID == nil && s.caller(r).Role == gallery.RoleService || body.SupplierID != nil && *body.SupplierID == uuid.Nil {
		s.writeError(w, r, gallery.Errorf(gallery.EINVALID, "supplier_id is required"))
		return
	}
	p := gallery.Product{Title: title, ExternalRef: ref, Published: body.Published}
	if body.SupplierID != nil {
		p.SupplierID = *body.SupplierID
	}
	if body.ID != nil {
		p.ID = *body.ID
	}
	p, err = s.Gallery.CreateProduct(r.Context(), p)
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

// patchProduct changes a product's title, publishes or withdraws it, or both:
// {"title": "...", "published": true|false}, either field optional but not both.
func (s *Server) patchProduct(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Title     *string `json:"title"`
		Published *bool   `json:"published"`
	}
	id, ok := s.beginWrite(w, r, "product_id", &body)
	if !ok {
		return
	}
	if !s.limit(w, r, writeBudget) {
		return
	}
	if body.Title == nil && body.Published == nil {
		s.writeError(w, r, gallery.Errorf(gallery.EINVALID, "nothing to change: send {\"title\": \"...\"} and/or {\"published\": true|false}"))
		return
	}
	if body.Title != nil {
		if _, err := checkText("title", *body.Title, gallery.MaxTitleLength); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	p, err := s.Gallery.UpdateProduct(r.Context(), id, gallery.ProductChange{Title: body.Title, Published: body.Published})
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
