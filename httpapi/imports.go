package httpapi

import (
	"mime"
	"net/http"

	"github.com/vitrine-dev/vitrine/gallery"
)

// isJSON reports whether the request's body is declared as JSON.
func isJSON(r *http.Request) bool {
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mediaType == "application/json"
}

// importImage takes {"source_url", "alt"?, "position"?}: the image is added at once, with
// status importing, and a job fetches it (202 with the image). The same source URL for the
// same product again answers its image (200), changing nothing. An import counts against the
// uploads budget: it makes the server do an upload's work.
func (s *Server) importImage(w http.ResponseWriter, r *http.Request) {
	var body struct {
		SourceURL string `json:"source_url"`
		Alt       string `json:"alt"`
		Position  *int   `json:"position"`
	}
	productID, ok := s.beginWrite(w, r, "product_id", nil)
	if !ok {
		return
	}
	if err := readJSON(w, r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	alt, err := checkAlt(body.Alt)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if body.SourceURL == "" {
		s.writeError(w, r, gallery.Errorf(gallery.EINVALID, "source_url is required"))
		return
	}
	if !s.limit(w, r, uploadBudget) {
		return
	}
	im, existed, err := s.Uploads.Import(r.Context(), gallery.NewImport{
		ProductID: productID, SourceURL: body.SourceURL, Alt: alt, Position: body.Position,
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/images/"+im.ID.String())
	status := http.StatusAccepted
	if existed {
		status = http.StatusOK
	}
	writeJSON(w, status, s.imageJSON(im))
}
