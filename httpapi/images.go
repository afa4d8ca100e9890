package httpapi

import (
	"errors"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/upload"
)

// imageJSON is an image as the API shows it.
type imageJSON struct {
	ID        uuid.UUID `json:"id"`
	ProductID uuid.UUID `json:"product_id"`
	Position  int       `json:"position"`
	URL       string    `json:"url"`
	Width     int       `json:"width"`
	Height    int       `json:"height"`
	MediaType string    `json:"media_type,omitempty"`
	Bytes     int64     `json:"bytes"`
	Alt       string    `json:"alt"`
	SHA256    string    `json:"sha256"`
	SourceURL string    `json:"source_url,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`

	Status        gallery.ThumbnailStatus           `json:"status"`
	Attempts      int                               `json:"attempts"`
	LastError     string                            `json:"last_error,omitempty"`
	ErrorCode     gallery.ImportFailure             `json:"error_code,omitempty"`
	Thumbnails    map[string]string                 `json:"thumbnails,omitempty"`
	ThumbnailURL  string                            `json:"thumbnail_url,omitempty"`
	Variants      map[string]map[string]variantJSON `json:"variants,omitempty"` // by preset, then format
	ThumbHash     string                            `json:"thumbhash,omitempty"`
	DominantColor string                            `json:"dominant_color,omitempty"`
}

// variantJSON is one variant of an image as the API shows it.
type variantJSON struct {
	Key    string `json:"key"`
	URL    string `json:"url"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
	Bytes  int64  `json:"bytes"`
}

func variantsJSON(v gallery.Variants) map[string]map[string]variantJSON {
	if v == nil {
		return nil
	}
	out := make(map[string]map[string]variantJSON, len(v))
	for preset, formats := range v {
		out[preset] = make(map[string]variantJSON, len(formats))
		for format, x := range formats {
			out[preset][format] = variantJSON{Key: x.Key, URL: x.URL, Width: x.Width, Height: x.Height, Bytes: x.Bytes}
		}
	}
	return out
}

func (s *Server) imageJSON(im gallery.Image) imageJSON {
	return imageJSON{
		ID: im.ID, ProductID: im.ProductID, Position: im.Order, URL: s.imageURL(im),
		Width: im.Width, Height: im.Height, MediaType: im.MediaType, Bytes: im.Bytes,
		Alt: im.Alt, SHA256: im.SHA256, SourceURL: im.SourceURL, ErrorCode: im.ImportFailure, CreatedAt: im.CreatedAt, UpdatedAt: im.UpdatedAt,
		Status: im.Status, Attempts: im.Attempts, LastError: im.LastError, Thumbnails: im.Thumbnails,
		ThumbnailURL: im.ThumbnailURL, Variants: variantsJSON(im.Variants), ThumbHash: im.ThumbHash, DominantColor: im.DominantColor,
	}
}

// imageURL is the URL of an image's original: from its object key when Vitrine stored it, or
// the recorded image_url for rows written by the legacy design's RPC.
func (s *Server) imageURL(im gallery.Image) string {
	if im.SHA256 == "" {
		return im.URL
	}
	return s.ObjectURL(im.StoragePath)
}

type galleryJSON struct {
	ProductID uuid.UUID   `json:"product_id"`
	Images    []imageJSON `json:"images"`
}

func (s *Server) galleryJSON(productID uuid.UUID, g []gallery.Image) galleryJSON {
	out := galleryJSON{ProductID: productID, Images: make([]imageJSON, 0, len(g))}
	for _, im := range g {
		out.Images = append(out.Images, s.imageJSON(im))
	}
	return out
}

// multipartOverhead is what a multipart body may carry beyond its file: boundaries, part
// headers and a short alt text.
const multipartOverhead = 64 << 10

// partHeaderLimit bounds the headers of one part of a multipart body. The multipart reader
// reads ahead of what it parses by up to partReadAhead bytes (its buffer) and the boundary
// line, so it may read up to partHeaderBudget bytes from the end of one part to the start of
// the next part's content; a part whose headers need more is refused.
const (
	partHeaderLimit  = 16 << 10
	partReadAhead    = 4 << 10
	partHeaderBudget = partHeaderLimit + 2*partReadAhead
)

// uploadImage takes a multipart body with the field "file" and an optional "alt", in either
// order. Nothing is kept unless the whole request succeeds.
// A JSON body is an import by URL instead (see importImage).
func (s *Server) uploadImage(w http.ResponseWriter, r *http.Request) {
	if isJSON(r) {
		s.importImage(w, r)
		return
	}
	productID, ok := s.beginWrite(w, r, "product_id", nil)
	if !ok {
		return
	}
	if !s.limit(w, r, uploadBudget) {
		return
	}
	if err := s.Uploads.CheckProduct(r.Context(), productID); err != nil {
		s.writeError(w, r, err)
		return
	}
	if r.ContentLength > s.Uploads.MaxBytes+multipartOverhead {
		s.writeError(w, r, gallery.Errorf(gallery.ETOOLARGE, "the file is larger than %d bytes", s.Uploads.MaxBytes))
		return
	}
	release, ok := s.uploadSlot(w, r)
	if !ok {
		return
	}
	defer release()
	r.Body = http.MaxBytesReader(w, io.NopCloser(s.timedBody(w, r)), s.Uploads.MaxBytes+multipartOverhead)
	rec, alt, err := s.readUploadForm(r)
	if err != nil {
		rec.Discard()
		s.writeError(w, r, err)
		return
	}
	im, err := s.Uploads.Add(r.Context(), productID, rec, alt)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/images/"+im.ID.String())
	writeJSON(w, http.StatusCreated, s.imageJSON(im))
}

// readUploadForm streams the multipart body: the file goes through upload.Service.Receive as
// it arrives, never spooled whole to memory or disk, and the headers of each part may take
// at most partHeaderLimit bytes. The returned upload, if any, must be added or discarded by
// the caller, also on error.
func (s *Server) readUploadForm(r *http.Request) (*upload.Received, string, error) {
	mediaType, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/form-data" || params["boundary"] == "" {
		return nil, "", gallery.Errorf(gallery.EINVALID, "the body must be multipart/form-data with a field named file")
	}
	body := &headerLimitReader{r: r.Body, left: -1}
	mr := multipart.NewReader(body, params["boundary"])
	var (
		rec  *upload.Received
		alt  string
		part *multipart.Part
	)
	for {
		if part != nil {
			// What the previous part has left (bytes after an image's end) is read here, not
			// against the next part's header budget.
			if _, err := io.Copy(io.Discard, part); err != nil {
				return rec, "", bodyError(err)
			}
		}
		body.left = partHeaderBudget
		part, err = mr.NextPart()
		over := body.left == 0
		body.left = -1
		if over && err != nil {
			return rec, "", gallery.Errorf(gallery.EINVALID, "the headers of a part of the multipart body are longer than %d bytes", partHeaderLimit)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return rec, "", bodyError(err)
		}
		switch part.FormName() {
		case "file":
			if rec != nil {
				return rec, "", gallery.Errorf(gallery.EINVALID, "send one file per request")
			}
			rec, err = s.Uploads.Receive(r.Context(), part)
			if err != nil {
				return nil, "", err
			}
		case "alt":
			if alt, err = readAlt(part); err != nil {
				return rec, "", err
			}
		default:
			return rec, "", gallery.Errorf(gallery.EINVALID, "unknown form field %q (expected file and alt)", part.FormName())
		}
	}
	if rec == nil {
		return nil, "", gallery.Errorf(gallery.EINVALID, "the form has no field named file")
	}
	return rec, alt, nil
}

// headerLimitReader reads at most left bytes while left is not negative, and then fails with
// errPartHeaderTooLarge, leaving left at 0.
type headerLimitReader struct {
	r    io.Reader
	left int64
}

var errPartHeaderTooLarge = errors.New("multipart part headers too large")

func (h *headerLimitReader) Read(p []byte) (int, error) {
	if h.left < 0 {
		return h.r.Read(p)
	}
	if h.left == 0 {
		return 0, errPartHeaderTooLarge
	}
	n, err := h.r.Read(p[:min(int64(len(p)), h.left)])
	h.left -= int64(n)
	return n, err
}

func readAlt(part *multipart.Part) (string, error) {
	var b strings.Builder
	buf := make([]byte, 4<<10)
	for {
		n, err := part.Read(buf)
		b.Write(buf[:n])
		if b.Len() > 4*gallery.MaxAltLength {
			return "", gallery.Errorf(gallery.EINVALID, "alt is longer than %d characters", gallery.MaxAltLength)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", bodyError(err)
		}
	}
	return checkAlt(b.String())
}

func checkAlt(alt string) (string, error) {
	return checkText("alt", alt, gallery.MaxAltLength)
}

// checkText checks a text field of a request: UTF-8 without NUL characters (which
// PostgreSQL cannot store), at most max characters.
func checkText(field, s string, max int) (string, error) {
	if !utf8.ValidString(s) {
		return "", gallery.Errorf(gallery.EINVALID, "%s must be UTF-8 text", field)
	}
	if strings.ContainsRune(s, 0) {
		return "", gallery.Errorf(gallery.EINVALID, "%s must not contain NUL characters", field)
	}
	if utf8.RuneCountInString(s) > max {
		return "", gallery.Errorf(gallery.EINVALID, "%s is longer than %d characters", field, max)
	}
	return s, nil
}

// bodyError turns a failure to read the request body into a domain error.
func bodyError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return gallery.Errorf(gallery.ETOOLARGE, "the body is larger than allowed")
	}
	return &gallery.Error{Code: gallery.EINVALID, Message: "the multipart body is malformed or was cut short", Err: err}
}

func (s *Server) listImages(w http.ResponseWriter, r *http.Request) {
	productID, err := pathID(r, "product_id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	g, err := s.Gallery.Images(r.Context(), productID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.galleryJSON(productID, g))
}

func (s *Server) getImage(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	im, err := s.Gallery.Image(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.imageJSON(im))
}

func (s *Server) patchImage(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Alt *string `json:"alt"`
	}
	id, ok := s.beginWrite(w, r, "id", &body)
	if !ok {
		return
	}
	if !s.limit(w, r, writeBudget) {
		return
	}
	if body.Alt == nil {
		s.writeError(w, r, gallery.Errorf(gallery.EINVALID, "nothing to change: send {\"alt\": \"...\"}"))
		return
	}
	alt, err := checkAlt(*body.Alt)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	im, err := s.Gallery.UpdateAlt(r.Context(), id, alt)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.imageJSON(im))
}

func (s *Server) deleteImage(w http.ResponseWriter, r *http.Request) {
	id, ok := s.beginWrite(w, r, "id", nil)
	if !ok {
		return
	}
	if !s.limit(w, r, writeBudget) {
		return
	}
	if _, err := s.Gallery.DeleteImage(r.Context(), id); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) moveImage(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Position *int `json:"position"`
	}
	id, ok := s.beginWrite(w, r, "id", &body)
	if !ok {
		return
	}
	if !s.limit(w, r, writeBudget) {
		return
	}
	if body.Position == nil {
		s.writeError(w, r, gallery.Errorf(gallery.EINVALID, "send {\"position\": k}"))
		return
	}
	if *body.Position < 0 || *body.Position > math.MaxInt32 {
		s.writeError(w, r, gallery.Errorf(gallery.EINVALID, "position %d is not a position of the gallery (0 is the first)", *body.Position))
		return
	}
	g, err := s.Gallery.MoveImage(r.Context(), id, *body.Position)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.galleryJSON(g[0].ProductID, g))
}

// retryImage enqueues a new thumbnail job for an image whose job failed.
func (s *Server) retryImage(w http.ResponseWriter, r *http.Request) {
	id, ok := s.beginWrite(w, r, "id", nil)
	if !ok {
		return
	}
	if !s.limit(w, r, writeBudget) {
		return
	}
	im, err := s.Gallery.RetryThumbnails(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, s.imageJSON(im))
}

func (s *Server) reorderImages(w http.ResponseWriter, r *http.Request) {
	var body struct {
		IDs []uuid.UUID `json:"ids"`
	}
	productID, ok := s.beginWrite(w, r, "product_id", &body)
	if !ok {
		return
	}
	if !s.limit(w, r, writeBudget) {
		return
	}
	if body.IDs == nil {
		s.writeError(w, r, gallery.Errorf(gallery.EINVALID, "send {\"ids\": [...]} with every image id of the gallery"))
		return
	}
	g, err := s.Gallery.ReorderImages(r.Context(), productID, body.IDs)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.galleryJSON(productID, g))
}
