package httpapi

import (
	"net/http"
	"time"

	"github.com/google/uuid"
)

// directUploadJSON is a direct upload as the API shows it.
type directUploadJSON struct {
	ID        uuid.UUID `json:"id"`
	ProductID uuid.UUID `json:"product_id"`
	Method    string    `json:"method"`
	UploadURL string    `json:"upload_url"`
	ExpiresAt time.Time `json:"expires_at"`
	MaxBytes  int64     `json:"max_bytes"`
	Complete  string    `json:"complete_url"`
}

// startDirectUpload answers a presigned PUT URL to which the client sends its file, straight
// to the object store: {"alt"?} → 201.
func (s *Server) startDirectUpload(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Alt string `json:"alt"`
	}
	productID, ok := s.beginWrite(w, r, "product_id", nil)
	if !ok {
		return
	}
	if r.ContentLength != 0 { // the body is optional
		if err := readJSON(w, r, &body); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	alt, err := checkAlt(body.Alt)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !s.limit(w, r, uploadBudget) {
		return
	}
	d, err := s.Uploads.StartDirect(r.Context(), productID, alt)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, directUploadJSON{
		ID: d.ID, ProductID: d.ProductID, Method: http.MethodPut, UploadURL: d.URL, ExpiresAt: d.ExpiresAt,
		MaxBytes: s.Uploads.MaxBytes, Complete: "/v1/uploads/" + d.ID.String() + "/complete",
	})
}

// completeDirectUpload checks the file put for a direct upload and adds it to the gallery:
// 201 with the image, as a normal upload.
func (s *Server) completeDirectUpload(w http.ResponseWriter, r *http.Request) {
	id, ok := s.beginWrite(w, r, "id", nil)
	if !ok {
		return
	}
	release, ok := s.uploadSlot(w, r)
	if !ok {
		return
	}
	defer release()
	im, err := s.Uploads.CompleteDirect(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/images/"+im.ID.String())
	writeJSON(w, http.StatusCreated, s.imageJSON(im))
}
