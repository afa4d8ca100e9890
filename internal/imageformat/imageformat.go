// Package imageformat holds what the readers of uploaded images share: the signatures that
// identify the accepted types (JPEG, PNG, GIF, WebP, and the HEIF family: HEIC, AVIF and
// HEIF), the JPEG marker codes, the signatures of embedded colour profiles, and the errors
// that say an input is not an image of an accepted type or is malformed. imageinfo checks an upload with them and imagestrip
// removes its metadata with them, so the two always agree on what an upload is.
package imageformat

import (
	"bytes"
	"errors"
)

// The media types of the accepted images, as Sniff returns them.
const (
	JPEG = "image/jpeg"
	PNG  = "image/png"
	GIF  = "image/gif"
	WebP = "image/webp"
	// HEIC, AVIF and HEIF are ISO base media files (package isobmff reads them): HEIF images
	// coded with HEVC, with AV1, and with anything else. Sniff returns HEIF for all three;
	// the exact type depends on every brand of the file's ftyp box (see HEIFBrand).
	HEIC = "image/heic"
	AVIF = "image/avif"
	HEIF = "image/heif"
)

// SniffLen is how many bytes Sniff needs to recognise every type: a WebP's signature is
// spread over its first 12 bytes ("RIFF", a size, "WEBP").
const SniffLen = 12

// PNGSignature is the first 8 bytes of every PNG.
const PNGSignature = "\x89PNG\r\n\x1a\n"

// Sniff returns the media type (JPEG, PNG, GIF, WebP or HEIF) whose signature starts p, or ""
// if p starts with none of them. A WebP is recognised only from SniffLen bytes, and so is
// the HEIF family: an ftyp box whose major brand HEIFBrand knows (HEIF stands for HEIC and
// AVIF too: the compatible brands that follow decide). The other types are recognised from
// their signature's length (8 bytes for PNG, 3 for JPEG, 6 for GIF).
func Sniff(p []byte) string {
	switch {
	case bytes.HasPrefix(p, []byte(PNGSignature)):
		return PNG
	case bytes.HasPrefix(p, []byte{0xff, MarkerSOI, 0xff}):
		return JPEG
	case bytes.HasPrefix(p, []byte("GIF87a")), bytes.HasPrefix(p, []byte("GIF89a")):
		return GIF
	case len(p) >= SniffLen && string(p[0:4]) == "RIFF" && string(p[8:12]) == "WEBP":
		return WebP
	case len(p) >= SniffLen && string(p[4:8]) == "ftyp" && HEIFBrand(string(p[8:12])) != "":
		return HEIF
	}
	return ""
}

// HEIFBrand returns the media type that an ftyp brand stands for: HEIC for the HEVC brands
// (heic, heix, heim, heis, hevc, hevx, hevm, hevs), AVIF for avif and avis, HEIF for the
// structural brands of still images and image sequences (mif1, mif2, msf1, miaf), and "" for
// any other brand.
func HEIFBrand(brand string) string {
	switch brand {
	case "heic", "heix", "heim", "heis", "hevc", "hevx", "hevm", "hevs":
		return HEIC
	case "avif", "avis":
		return AVIF
	case "mif1", "mif2", "msf1", "miaf":
		return HEIF
	}
	return ""
}

// JPEG marker codes: the byte that follows 0xFF at the start of a marker.
const (
	MarkerSOI  = 0xd8 // start of image
	MarkerEOI  = 0xd9 // end of image
	MarkerSOS  = 0xda // start of scan: entropy-coded data follows its segment
	MarkerDRI  = 0xdd // define restart interval
	MarkerAPP0 = 0xe0 // JFIF
	MarkerAPP1 = 0xe1 // EXIF, XMP
	MarkerAPP2 = 0xe2 // ICC profile, MPF
	MarkerAPPE = 0xee // Adobe
	MarkerAPPF = 0xef // the last application segment
	MarkerCOM  = 0xfe // comment
)

// ICCProfileSignature starts a JPEG APP2 segment that holds (a part of) an ICC profile.
const ICCProfileSignature = "ICC_PROFILE\x00"

// GIFICCApplication names the GIF application extension that holds an ICC profile.
const GIFICCApplication = "ICCRGBG1012"

var (
	// ErrUnsupported means that the input is not an image of a supported type: its first
	// bytes match none of the JPEG, PNG, GIF, WebP and HEIF signatures.
	ErrUnsupported = errors.New("unsupported image type")
	// ErrCorrupt means that the type was recognised but the data is malformed or the input
	// ends before the image does.
	ErrCorrupt = errors.New("image is corrupt or truncated")
)
