package httpapi

import (
	"net/http"
	"slices"
	"strings"

	"github.com/munnerz/goautoneg"

	"github.com/vitrine-dev/vitrine/gallery"
)

// mainImageMaxAge is how long a client or a cache may keep the redirect of a main image's
// URL: short, so that a reorder or a new main image reaches storefronts within a minute.
const mainImageMaxAge = "max-age=60"

// variantFormats are the formats a variant may be made in, with their media types, best
// first: a client gets, among those made, the one it accepts best (see bestVariant).
var variantFormats = []struct{ format, mediaType string }{
	{"avif", "image/avif"}, {"webp", "image/webp"}, {"jpeg", "image/jpeg"},
}

// mainImage answers GET /v1/products/{product_id}/main/{preset}: 302 to the variant of the
// product's current main image in that preset, in the best format the request's Accept
// allows among those made (AVIF, then WebP, then JPEG; q-values honoured, q=0 a refusal). The
// answer varies on Accept and may be kept a minute, so a storefront can use one URL per
// product and preset that follows reorders. A variant not made yet is 404
// variant_not_ready with Retry-After; an unknown preset, a product the caller cannot read
// and a product without images are 404 not_found; no acceptable format is 406.
func (s *Server) mainImage(w http.ResponseWriter, r *http.Request) {
	w.Header().Add("Vary", "Accept")
	id, err := pathID(r, "product_id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	preset := r.PathValue("preset")
	if !slices.Contains(s.Presets, preset) {
		s.writeError(w, r, gallery.Errorf(gallery.ENOTFOUND, "preset %q is not one of this server's: %s", preset, strings.Join(s.Presets, ", ")))
		return
	}
	im, err := s.Gallery.MainImage(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	made := im.Variants[preset]
	if len(made) == 0 {
		w.Header().Set("Cache-Control", "no-store")
		s.writeError(w, r, gallery.Errorf(gallery.ENOTREADY, "the %s variant of product %s's main image is not made yet", preset, id))
		return
	}
	v, ok := bestVariant(r.Header.Values("Accept"), made)
	if !ok {
		offered := make([]string, 0, len(made))
		for _, f := range variantFormats {
			if _, ok := made[f.format]; ok {
				offered = append(offered, f.mediaType)
			}
		}
		s.writeError(w, r, gallery.Errorf(gallery.ENOTACCEPT, "the %s variant is made as %s, none of which the Accept header allows", preset, strings.Join(offered, ", ")))
		return
	}
	location := v.URL
	if location == "" {
		location = s.ObjectURL(v.Key)
	}
	// A signed-in caller's answer may differ from an anonymous one (an unpublished product):
	// shared caches keep the anonymous ones only.
	cache := "public, " + mainImageMaxAge
	if r.Header.Get("Authorization") != "" {
		cache = "private, " + mainImageMaxAge
	}
	w.Header().Set("Cache-Control", cache)
	w.Header().Set("Location", location)
	w.WriteHeader(http.StatusFound)
}

// bestVariant picks, among the formats made, the one the Accept header values allow best:
// the highest quality, then a type the header names over one only a wildcard (image/*, */*)
// matches, then the better format. So a browser that names WebP but not AVIF, and accepts
// image/* besides, gets WebP. None when every format made is refused. Without an Accept
// header (or with nothing in it that parses) every format is acceptable.
func bestVariant(accept []string, made map[string]gallery.Variant) (gallery.Variant, bool) {
	clauses := goautoneg.ParseAccept(strings.ToLower(strings.Join(accept, ",")))
	var (
		best      gallery.Variant
		bestQ     float64
		bestNamed bool
	)
	for _, f := range variantFormats {
		v, ok := made[f.format]
		if !ok {
			continue
		}
		q, named := acceptQuality(clauses, f.mediaType)
		if q > bestQ || q == bestQ && q > 0 && named && !bestNamed {
			best, bestQ, bestNamed = v, q, named
		}
	}
	return best, bestQ > 0
}

// acceptQuality is the quality Accept's clauses give mediaType: that of the most specific
// range that matches it (type/subtype, then type/*, then */*), 0 when none does (RFC 9110,
// 12.5.1), and 1 with no clause at all; named reports whether a clause names the type itself.
func acceptQuality(clauses []goautoneg.Accept, mediaType string) (q float64, named bool) {
	if len(clauses) == 0 {
		return 1, false
	}
	typ, sub, _ := strings.Cut(mediaType, "/")
	specificity := -1
	for _, c := range clauses {
		n := -1
		switch {
		case c.Type == typ && c.SubType == sub:
			n = 2
		case c.Type == typ && c.SubType == "*":
			n = 1
		case c.Type == "*" && c.SubType == "*":
			n = 0
		}
		if n > specificity {
			q, specificity = c.Q, n
		}
	}
	return q, specificity == 2
}
