package upload

import (
	"fmt"
	"slices"
	"strings"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/internal/imageformat"
)

// DefaultTypes is the default list of accepted upload types (VITRINE_UPLOAD_TYPES): every
// type Vitrine can check, store and make thumbnails of.
const DefaultTypes = "jpeg,png,gif,webp,heic,heif,avif"

// typeNames are the names of upload types in a list, and their media types.
var typeNames = []struct{ name, mediaType, label string }{
	{"jpeg", imageformat.JPEG, "JPEG"},
	{"png", imageformat.PNG, "PNG"},
	{"gif", imageformat.GIF, "GIF"},
	{"webp", imageformat.WebP, "WebP"},
	{"heic", imageformat.HEIC, "HEIC"},
	{"heif", imageformat.HEIF, "HEIF"},
	{"avif", imageformat.AVIF, "AVIF"},
}

// Types is the set of media types a Service accepts. The zero Types accepts every type.
type Types struct {
	names []string // in typeNames' order
}

// ParseTypes reads a comma-separated list of type names (jpeg, png, gif, webp, heic, heif,
// avif; case and spaces ignored, duplicates allowed). An empty list, or an unknown name, is
// an error that names the known ones.
func ParseTypes(list string) (Types, error) {
	var t Types
	for _, n := range strings.Split(list, ",") {
		n = strings.ToLower(strings.TrimSpace(n))
		if n == "" {
			continue
		}
		if !slices.ContainsFunc(typeNames, func(tn struct{ name, mediaType, label string }) bool { return tn.name == n }) {
			return Types{}, fmt.Errorf("unknown upload type %q (known: %s)", n, DefaultTypes)
		}
		if !slices.Contains(t.names, n) {
			t.names = append(t.names, n)
		}
	}
	if len(t.names) == 0 {
		return Types{}, fmt.Errorf("no upload type in %q (known: %s)", list, DefaultTypes)
	}
	slices.SortFunc(t.names, func(a, b string) int { return typeIndex(a) - typeIndex(b) })
	return t, nil
}

func typeIndex(name string) int {
	return slices.IndexFunc(typeNames, func(tn struct{ name, mediaType, label string }) bool { return tn.name == name })
}

// Accepts says whether mediaType (such as "image/heic") is an accepted type.
func (t Types) Accepts(mediaType string) bool {
	if len(t.names) == 0 {
		return true
	}
	for _, n := range t.names {
		if typeNames[typeIndex(n)].mediaType == mediaType {
			return true
		}
	}
	return false
}

// acceptsAnyHEIF says whether any type of the HEIF family is accepted: a file that starts
// as a HEIF can only be told HEIC, HEIF or AVIF once its ftyp box is read whole.
func (t Types) acceptsAnyHEIF() bool {
	return t.Accepts(imageformat.HEIC) || t.Accepts(imageformat.HEIF) || t.Accepts(imageformat.AVIF)
}

// String returns the list as ParseTypes reads it, such as "jpeg,png,heic".
func (t Types) String() string {
	if len(t.names) == 0 {
		return DefaultTypes
	}
	return strings.Join(t.names, ",")
}

// labels returns the accepted types for a person: "JPEG, PNG or HEIC".
func (t Types) labels() string {
	names := t.names
	if len(names) == 0 {
		names = strings.Split(DefaultTypes, ",")
	}
	var ls []string
	for _, n := range names {
		ls = append(ls, typeNames[typeIndex(n)].label)
	}
	if len(ls) == 1 {
		return ls[0]
	}
	return strings.Join(ls[:len(ls)-1], ", ") + " or " + ls[len(ls)-1]
}

// label returns the name of mediaType for a person ("HEIC"), or mediaType itself.
func label(mediaType string) string {
	for _, tn := range typeNames {
		if tn.mediaType == mediaType {
			return tn.label
		}
	}
	return mediaType
}

// refuse returns the EMEDIATYPE error of an upload of mediaType ("" when unrecognised).
func (t Types) refuse(mediaType string, cause error) error {
	msg := fmt.Sprintf("the file is not a %s image", t.labels())
	if mediaType != "" {
		msg = fmt.Sprintf("%s images are not accepted here: upload a %s image", label(mediaType), t.labels())
	}
	return &gallery.Error{Code: gallery.EMEDIATYPE, Message: msg, Err: cause}
}
