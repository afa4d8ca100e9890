// Package imageinfo identifies uploaded images and checks their structure
// while they stream past, without decoding pixels and in constant memory.
//
// Scan recognises JPEG, PNG, GIF, WebP and HEIF (HEIC, AVIF) from their magic bytes only, reports
// the dimensions declared in the header, refuses images that declare too many
// pixels before any pixel data is read, and rejects files that are truncated
// or structurally malformed.
package imageinfo

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/vitrine-dev/vitrine/internal/imageformat"
)

// Info is what the header says.
type Info struct {
	// MediaType is one of "image/jpeg", "image/png", "image/gif", "image/webp", and for
	// the HEIF family "image/heic" (HEVC), "image/avif" (AV1) and "image/heif" (the
	// others), as the brands of the file's ftyp box say (see isobmff.Ftyp.MediaType).
	MediaType string
	// Width and Height are the dimensions declared by the image header. For GIF
	// and animated WebP they are those of the logical screen or canvas; for HEIF
	// those of the primary image's ispe property (for a grid, the grid's output
	// size). No EXIF orientation, nor HEIF irot or imir, is applied.
	Width, Height int
	// ProfileBytes is the size of the embedded ICC colour profile, as the file's
	// structure declares it (for PNG, compressed): JPEG APP2 ICC_PROFILE
	// segments, a PNG iCCP chunk, a GIF ICCRGBG1012 application extension, a
	// WebP ICCP chunk, the prof or rICC colr properties of a HEIF's primary image. Decoders load the profile whole, so callers may bound it.
	ProfileBytes int64
}

// Pixels returns Width*Height as an int64, so that it cannot overflow.
func (i Info) Pixels() int64 { return int64(i.Width) * int64(i.Height) }

// Ext returns the usual file extension for the media type, without a dot:
// "jpg", "png", "gif", "webp", "heic", "heif" or "avif". It returns "" for an unknown media type.
func (i Info) Ext() string {
	switch i.MediaType {
	case "image/jpeg":
		return "jpg"
	case "image/png":
		return "png"
	case "image/gif":
		return "gif"
	case "image/webp":
		return "webp"
	case "image/heic":
		return "heic"
	case "image/heif":
		return "heif"
	case "image/avif":
		return "avif"
	}
	return ""
}

var (
	// ErrUnsupported means that the input is not an image of a supported type:
	// its first bytes match none of the JPEG, PNG, GIF, WebP and HEIF signatures. It is
	// imageformat.ErrUnsupported, which imagestrip returns too.
	ErrUnsupported = imageformat.ErrUnsupported
	// ErrTooManyPixels means that the header declares more pixels than the
	// caller allows, or that an animation has more frames than this package
	// accepts.
	ErrTooManyPixels = errors.New("image has too many pixels")
	// ErrCorrupt means that the type was recognised but the data is malformed
	// or truncated. It is imageformat.ErrCorrupt, which imagestrip returns too.
	ErrCorrupt = imageformat.ErrCorrupt
)

const (
	// magicLen is how many bytes are read to identify the type.
	magicLen = imageformat.SniffLen
	// headerLimit is how far into the input the dimensions must be found.
	headerLimit = 1 << 20
	// headerReadSize caps each read from the caller's reader until the
	// dimensions are known and accepted, so that a refused image costs only a
	// small prefix of the upload.
	headerReadSize = 512
	// bufferSize is the size of the internal read buffer.
	bufferSize = 64 << 10
	// maxFrames is the largest number of animation frames that is accepted.
	maxFrames = 1000
)

// Scan reads r to EOF, identifying the image and checking its structure as the
// bytes pass.
//
// The type is decided from at most the first 12 bytes; if they match no
// supported signature, Scan returns an error wrapping ErrUnsupported without
// reading further. As soon as the dimensions are known, and before reading any
// further image data, it compares Width*Height with maxPixels and returns an
// error wrapping ErrTooManyPixels if larger. A maxPixels of zero or less
// refuses every image. If the dimensions are not found within the first MiB of
// input, Scan returns an error wrapping ErrCorrupt.
//
// Errors about the data wrap one of ErrUnsupported, ErrTooManyPixels and
// ErrCorrupt and carry a short reason that is safe to show to API clients.
// An error returned by r itself, other than io.EOF, is returned wrapped but
// without any of these sentinels, so that callers can tell a failed upload
// from a bad image.
//
// On success Scan has consumed r fully: trailing bytes after the image's end
// marker are read and allowed, up to EOF. Memory use is bounded regardless of
// the input.
func Scan(r io.Reader, maxPixels int64) (Info, error) {
	var magic [magicLen]byte
	n, err := io.ReadFull(r, magic[:])
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return Info{}, readError(err)
	}
	p := magic[:n]

	if n == 0 {
		return Info{}, fmt.Errorf("empty input: %w", ErrUnsupported)
	}
	var f format
	switch mt := imageformat.Sniff(p); mt {
	case imageformat.PNG:
		f = format{"png", mt, scanPNG}
	case imageformat.JPEG:
		f = format{"jpeg", mt, scanJPEG}
	case imageformat.GIF:
		f = format{"gif", mt, scanGIF}
	case imageformat.WebP:
		f = format{"webp", mt, scanWebP}
	case imageformat.HEIF:
		f = format{"heif", mt, scanHEIF}
	default:
		return Info{}, fmt.Errorf("unrecognised file signature: %w", ErrUnsupported)
	}

	th := &throttle{r: r, limit: headerReadSize}
	s := &source{
		br:        bufio.NewReaderSize(io.MultiReader(bytes.NewReader(p), th), bufferSize),
		th:        th,
		name:      f.name,
		maxPixels: maxPixels,
	}
	s.info.MediaType = f.mediaType
	if err := f.scan(s); err != nil {
		return Info{}, err
	}
	if !s.dimsKnown {
		// Every parser sets the dimensions before it can succeed; this is a
		// safety net against a parser bug.
		return Info{}, s.corrupt("missing dimensions")
	}
	return s.info, nil
}

// format describes one supported image type.
type format struct {
	name, mediaType string
	scan            func(*source) error
}

// readError wraps an error returned by the caller's reader.
func readError(err error) error {
	return fmt.Errorf("imageinfo: reading input: %w", err)
}

// throttle caps the size of each read from the caller's reader while limit is
// positive.
type throttle struct {
	r     io.Reader
	limit int
}

func (t *throttle) Read(p []byte) (int, error) {
	if t.limit > 0 && len(p) > t.limit {
		p = p[:t.limit]
	}
	return t.r.Read(p)
}
