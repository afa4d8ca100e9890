package upload

import (
	"context"
	"unicode/utf8"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/internal/safehttp"
)

// Import starts the import of an image from a URL into a product's gallery, for the caller
// that ctx carries: it checks the URL (http or https, a host, no credentials, at most
// gallery.MaxSourceURLLength characters) and the alt text, then inserts the image, with status
// importing, at in.Position (nil: the end) and enqueues the job that fetches it, in one
// transaction (see postgres.DB.ImportImage). It returns the image and whether the product had
// an image from that URL already (then that image, unchanged).
//
// Errors are domain errors: EINVALID for a bad URL, alt or position, ENOTFOUND or EFORBIDDEN
// for a product the caller cannot see or change, EUNSUPPORTED when the server has no job queue.
// A refused import leaves nothing behind.
func (s *Service) Import(ctx context.Context, in gallery.NewImport) (gallery.Image, bool, error) {
	if err := CheckSourceURL(in.SourceURL); err != nil {
		return gallery.Image{}, false, err
	}
	if utf8.RuneCountInString(in.Alt) > gallery.MaxAltLength {
		return gallery.Image{}, false, gallery.Errorf(gallery.EINVALID, "alt must be at most %d characters", gallery.MaxAltLength)
	}
	return s.Gallery.ImportImage(ctx, in)
}

// CheckSourceURL refuses, as an EINVALID domain error, a source URL that an import could never
// fetch: not http or https, without a host, with credentials, or too long.
func CheckSourceURL(raw string) error {
	if !utf8.ValidString(raw) {
		return gallery.Errorf(gallery.EINVALID, "source_url must be UTF-8 text")
	}
	if utf8.RuneCountInString(raw) > gallery.MaxSourceURLLength {
		return gallery.Errorf(gallery.EINVALID, "source_url must be at most %d characters", gallery.MaxSourceURLLength)
	}
	if _, err := safehttp.CheckURL(raw); err != nil {
		return &gallery.Error{Code: gallery.EINVALID, Message: "source_url must be an http or https URL with a host and without credentials", Err: err}
	}
	return nil
}
