package postgres

import (
	"encoding/json"

	"github.com/vitrine-dev/vitrine/gallery"
)

// storedVariant is one variant as the variants column holds it, in a jsonb object keyed by
// preset, then by format. The database reads "key" (vitrine_variant_keys), so a change of
// this shape needs a migration of the stored rows.
type storedVariant struct {
	Key    string `json:"key"`
	URL    string `json:"url"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
	Bytes  int64  `json:"bytes"`
}

// encodeVariants returns the variants column's value for v.
func encodeVariants(v gallery.Variants) ([]byte, error) {
	out := make(map[string]map[string]storedVariant, len(v))
	for preset, formats := range v {
		out[preset] = make(map[string]storedVariant, len(formats))
		for format, x := range formats {
			out[preset][format] = storedVariant{Key: x.Key, URL: x.URL, Width: x.Width, Height: x.Height, Bytes: x.Bytes}
		}
	}
	return json.Marshal(out)
}

// decodeVariants reads the variants column. A value that is not a well-formed variants object
// (a row written by another client) yields what could be read of it, possibly nothing.
func decodeVariants(b []byte) gallery.Variants {
	var stored map[string]map[string]storedVariant
	_ = json.Unmarshal(b, &stored)
	if stored == nil {
		return nil
	}
	v := make(gallery.Variants, len(stored))
	for preset, formats := range stored {
		v[preset] = make(map[string]gallery.Variant, len(formats))
		for format, x := range formats {
			v[preset][format] = gallery.Variant{Key: x.Key, URL: x.URL, Width: x.Width, Height: x.Height, Bytes: x.Bytes}
		}
	}
	return v
}
