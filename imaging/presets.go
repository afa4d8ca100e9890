package imaging

import (
	"errors"
	"fmt"
)

// Preset is a named variant size: the variant's longer side, in pixels, is LongSide, or
// the original's longer side when that is smaller.
type Preset struct {
	Name     string
	LongSide int
}

// DefaultPresets returns Vitrine's presets, smallest first: minithumb (96), mobile (480),
// tablet (1024) and desktop (1600). Each call returns a new slice.
func DefaultPresets() []Preset {
	return []Preset{
		{Name: "minithumb", LongSide: 96},
		{Name: "mobile", LongSide: 480},
		{Name: "tablet", LongSide: 1024},
		{Name: "desktop", LongSide: 1600},
	}
}

// Format is an output image format.
type Format string

// The output formats. See the package documentation for their encoder settings.
const (
	WebP Format = "webp"
	JPEG Format = "jpeg"
	AVIF Format = "avif"
)

// MediaType returns the format's IANA media type, such as "image/webp", or "" for an
// unknown format.
func (f Format) MediaType() string {
	switch f {
	case WebP:
		return "image/webp"
	case JPEG:
		return "image/jpeg"
	case AVIF:
		return "image/avif"
	}
	return ""
}

// Variant is one preset encoded in one format.
type Variant struct {
	Preset        string
	Format        Format
	Width, Height int
	Data          []byte
	MediaType     string
}

// Result is what Process makes of one original.
type Result struct {
	// Variants holds each preset in each format: the presets in the order given, and for
	// each preset the formats in the order given.
	Variants []Variant
	// ThumbHash is the ThumbHash (https://evanw.github.io/thumbhash/) of the upright image,
	// at most 25 bytes, for a blurred placeholder while a variant loads.
	ThumbHash []byte
	// DominantColor is the image's most common colour as "#rrggbb", as the package
	// documentation defines it.
	DominantColor string
	// Width and Height are those of the upright original, before any resizing.
	Width, Height int
}

// validateRequest checks presets and formats before any work is done.
func validateRequest(presets []Preset, formats []Format) error {
	var errs []error
	if len(presets) == 0 {
		errs = append(errs, errors.New("no presets"))
	}
	if len(formats) == 0 {
		errs = append(errs, errors.New("no formats"))
	}
	for _, p := range presets {
		if p.Name == "" || p.LongSide < 1 {
			errs = append(errs, fmt.Errorf("preset %q with long side %d: needs a name and a positive size", p.Name, p.LongSide))
		}
	}
	for _, f := range formats {
		if f.MediaType() == "" {
			errs = append(errs, fmt.Errorf("unknown format %q", f))
		}
	}
	return errors.Join(errs...)
}
