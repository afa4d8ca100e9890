package upload

import (
	"context"
	"unicode/utf8"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/internal/safehttp"
)

// Import starts the import of an image from a URL into a product's gallery, for the caller
// that ctx carries: it is ImportMany for one import, and returns its image and whether the
// product had an image from that URL already (then that image, unchanged), or its error.
func (s *Service) Import(ctx context.Context, in gallery.NewImport) (gallery.Image, bool, error) {
	res, err := s.ImportMany(ctx, []gallery.NewImport{in})
	if err != nil {
		return gallery.Image{}, false, err
	}
	return res[0].Image, res[0].Existed, res[0].Err
}

// ImportMany starts imports from URLs into products' galleries, for the caller that ctx
// carries: it checks each URL (http or https, a host, no credentials, at most
// gallery.MaxSourceURLLength characters) and alt text, then inserts the images that pass, with
// status importing, each at its Position (nil: the end), and enqueues the jobs that fetch
// them, all in one transaction (see postgres.DB.ImportImages). Each import's result is at its
// index.
//
// An import refused for its own input has a domain error in its result and leaves nothing
// behind: EINVALID for a bad URL, alt or position, ENOTFOUND or EFORBIDDEN for a product the
// caller cannot see or change. Any other failure (EUNSUPPORTED when the server has no job
// queue, the database's) is returned, and then none of the imports was made.
func (s *Service) ImportMany(ctx context.Context, ins []gallery.NewImport) ([]gallery.ImportResult, error) {
	res := make([]gallery.ImportResult, len(ins))
	var (
		valid []gallery.NewImport
		at    []int
	)
	for i, in := range ins {
		if err := CheckSourceURL(in.SourceURL); err != nil {
			res[i].Err = err
			continue
		}
		if utf8.RuneCountInString(in.Alt) > gallery.MaxAltLength {
			res[i].Err = gallery.Errorf(gallery.EINVALID, "alt must be at most %d characters", gallery.MaxAltLength)
			continue
		}
		valid, at = append(valid, in), append(at, i)
	}
	if len(valid) == 0 {
		return res, nil
	}
	made, err := s.Gallery.ImportImages(ctx, valid)
	if err != nil {
		return nil, err
	}
	for j, r := range made {
		res[at[j]] = r
	}
	return res, nil
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
