package gallery

import (
	"fmt"
	"strconv"
	"strings"
)

// Preset is a thumbnail size: the length of the longest side, in pixels. Images are never
// upscaled, so a smaller original keeps its size.
type Preset struct {
	Name     string
	LongSide int
}

// DefaultPresets are the legacy design's four sizes.
func DefaultPresets() []Preset {
	return []Preset{{"minithumb", 96}, {"mobile", 480}, {"tablet", 1024}, {"desktop", 1600}}
}

// MainPreset is the preset whose URL is the image's thumbnail_url, and whose presence makes a
// thumbnail record complete.
const MainPreset = "desktop"

// ParsePresets reads presets written as "name:size,name:size". They must include MainPreset.
func ParsePresets(s string) ([]Preset, error) {
	var out []Preset
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		name, size, ok := strings.Cut(strings.TrimSpace(part), ":")
		n, err := strconv.Atoi(size)
		if !ok || err != nil || n < 1 || n > 8192 || name == "" || seen[name] {
			return nil, fmt.Errorf("preset %q is not name:size with a size from 1 to 8192, named once", part)
		}
		seen[name] = true
		out = append(out, Preset{name, n})
	}
	if !seen[MainPreset] {
		return nil, fmt.Errorf("the presets must include %q", MainPreset)
	}
	return out, nil
}

// Variant is one stored rendition of an image: a preset in one format. How it is stored and
// how the API shows it are the adapters' business.
type Variant struct {
	Key    string // the object key
	URL    string // the public URL of the object
	Width  int
	Height int
	Bytes  int64
}

// Variants holds an image's renditions by preset name, then by format ("webp", "jpeg", "avif").
type Variants map[string]map[string]Variant

// Keys returns the object keys of every variant.
func (v Variants) Keys() []string {
	var keys []string
	for _, formats := range v {
		for _, f := range formats {
			keys = append(keys, f.Key)
		}
	}
	return keys
}

// ThumbnailStatus is where an image's thumbnails stand.
type ThumbnailStatus string

// The thumbnail statuses an image can show.
const (
	StatusNone       ThumbnailStatus = "none"       // no thumbnails are wanted (not the main image)
	StatusPending    ThumbnailStatus = "pending"    // a job waits, or waits to retry
	StatusProcessing ThumbnailStatus = "processing" // a worker runs the job now
	StatusReady      ThumbnailStatus = "ready"      // the thumbnail record is complete
	StatusFailed     ThumbnailStatus = "failed"     // the job gave up, or the import failed; it can be retried
	StatusImporting  ThumbnailStatus = "importing"  // the original is being fetched from its source URL
)

// ThumbnailsFor says which images get thumbnails.
type ThumbnailsFor string

// The thumbnail policies.
const (
	ThumbnailsForMain ThumbnailsFor = "main" // only each product's main image, as the legacy design did
	ThumbnailsForAll  ThumbnailsFor = "all"  // every image
)

// Wants reports whether the image at position (0 is the product's main image) gets
// thumbnails under the policy. Any policy but ThumbnailsForAll wants the main image only.
func (t ThumbnailsFor) Wants(position int) bool {
	return position == 0 || t == ThumbnailsForAll
}

// Thumbnails is what a thumbnail job made of an image's original.
type Thumbnails struct {
	Variants      Variants
	ThumbHash     string // base64 of the ThumbHash placeholder
	DominantColor string // "#rrggbb"
}

// JobFailure is the code of a permanent failure of a thumbnail job that clients may be told
// about. The job records it apart from its error text, and it is read back as recorded.
type JobFailure string

// FailureUndecodable is the failure of a job whose original cannot be decoded; it is not
// retried.
const FailureUndecodable JobFailure = "undecodable"

// UndecodableMessage is what clients are shown for FailureUndecodable, and how the job's
// recorded error starts.
const UndecodableMessage = "the original cannot be decoded"

// Message returns what clients are shown for the failure, or "" when f is not a failure code.
func (f JobFailure) Message() string {
	if f == FailureUndecodable {
		return UndecodableMessage
	}
	return ""
}
