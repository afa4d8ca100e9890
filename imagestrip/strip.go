// Package imagestrip removes metadata from JPEG, PNG, GIF, WebP and HEIF images as they stream
// past, without decoding or re-encoding pixels: what is kept is copied byte for byte, so the
// image decodes to exactly the same pixels.
//
// What is removed is what can identify a person, a place or a device, or hide content: EXIF
// (with GPS), XMP, IPTC, comments, text chunks, timestamps, thumbnails, and every byte after
// the image's end marker (where polyglot files put a ZIP archive or an HTML page). What is kept
// is what decoders need to show the image as it was uploaded: the coded image, colour
// information (ICC profiles, sRGB, gamma, chromaticities, the Adobe transform flag), pixel
// density, transparency and animation control.
//
// The EXIF orientation is a display instruction, not personal data: without it a phone
// photograph taken upright would be shown on its side. When the first EXIF block declares an
// orientation other than 1, the output carries a minimal EXIF block (26 bytes of TIFF) holding
// only the Orientation tag, in place of the original one.
//
// Per format:
//
//   - JPEG: APP0 is kept only if it is JFIF, without its thumbnail; APP2 only if it is an
//     ICC_PROFILE; APP14 only if it is Adobe. Every other APPn segment (APP1 EXIF and XMP,
//     APP2 MPF and FlashPix, APP13 Photoshop/IPTC, ...) and every COM segment is dropped. All
//     other segments (DQT, DHT, SOFn, SOS, DRI, ...) and the entropy-coded data are copied
//     unchanged. Bytes between segments that are not part of a marker, and fill bytes before a
//     marker, are dropped, as decoders skip them.
//   - PNG: eXIf, tEXt, zTXt, iTXt and tIME are dropped, and iDOT (Apple's index of IDAT
//     offsets, which dropping chunks can invalidate). Every other chunk is copied whole with
//     its CRC, including unknown ones, as some (APNG's acTL, fcTL and fdAT, cICP) change how
//     the image looks.
//   - GIF: comment extensions are dropped, and application extensions other than
//     NETSCAPE2.0 and ANIMEXTS1.0 (loop count) and ICCRGBG1012 (ICC profile); XMP is one.
//   - WebP: in an extended file (VP8X), only VP8X, ICCP, ANIM, ANMF, ALPH, VP8 and VP8L
//     chunks are kept; EXIF, XMP and unknown chunks are dropped, and the VP8X flags and the
//     RIFF size are rewritten. A simple file (VP8 or VP8L) is reduced to its image chunk.
//   - HEIF (HEIC, AVIF): EXIF and XMP are items of the file, described in its meta box, whose
//     data usually lies in an mdat box. The items of type Exif, mime (XMP, and any other typed
//     content) and uri are dropped from the meta box (item information, locations, references,
//     property associations), which is written again shorter; the offsets of the other items'
//     data in the file move back by the same amount. Their data in mdat is overwritten with
//     zeros as it streams (cutting it would move the data after it, which the rewritten meta
//     box has already placed), and their data in the meta box's idat is zeroed. Every
//     top-level box other than ftyp, meta and mdat (free, skip, uuid, an image sequence's moov
//     with its user data) becomes a free box of the same size full of zeros. Orientation
//     (irot, imir) and colour (colr) are properties of the image, not items, and are kept.
//     The meta box must come before the media data and end within the first MiB: imageinfo
//     refuses other files, and so does the Writer.
//
// Memory use is constant: about 100 KiB, plus up to 256 KiB for an extended WebP or twice
// the meta box of a HEIF (at most 2 MiB: it is gathered, then written again). An extended
// WebP must be held back until its end, because the RIFF size that starts the file depends
// on what is dropped later: its kept chunks are held in memory up to 256 KiB, and beyond that
// in a temporary file that the caller provides (see NewWriter), which is closed as soon as the
// image is written, refused or abandoned.
package imagestrip

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"github.com/vitrine-dev/vitrine/internal/imageformat"
)

var (
	// ErrUnsupported means that the input does not start with the signature of a JPEG,
	// PNG, GIF, WebP or HEIF image. It is imageformat.ErrUnsupported, which imageinfo returns too.
	ErrUnsupported = imageformat.ErrUnsupported
	// ErrCorrupt means that the type was recognised but the structure is malformed or the
	// input ends before the image does. It is imageformat.ErrCorrupt, which imageinfo
	// returns too.
	ErrCorrupt = imageformat.ErrCorrupt
)

// Writer writes to its destination the image written to it, without its metadata. The type
// is decided from the first 12 bytes.
//
// Output is buffered, and an extended WebP is written only once its end has been seen: call
// Close to flush, or Abort to give up. Write and Close return an error wrapping ErrUnsupported or ErrCorrupt for a
// bad image, and an error wrapping the destination's error if writing to it failed. Errors
// are sticky: after one, Write writes nothing. Bytes after the end of the image are accepted
// and dropped.
//
// A Writer checks only the structure it needs to follow. Output for an image that it accepts
// but that is otherwise invalid is just as invalid; use imageinfo.Scan for validation.
type Writer struct {
	in        input
	bw        *bufio.Writer
	head      [imageformat.SniffLen]byte
	nhead     int
	mediaType string
	err       error
	scratch   func() (File, error)
	memoryMax int // bytes of an extended WebP held in memory before scratch is used
}

var errClosed = errors.New("imagestrip: write after Close")

// NewWriter returns a Writer that writes to dst. scratch makes the temporary file that holds
// the kept chunks of an extended WebP beyond 256 KiB until the end of the image; the Writer
// closes it once the image is written, on the first error, and on Abort. It is called at most
// once per Writer. With a nil scratch those chunks are held in memory whatever their size, so
// memory use grows with the input: pass nil only for input of bounded size.
func NewWriter(dst io.Writer, scratch func() (File, error)) *Writer {
	w := &Writer{bw: bufio.NewWriterSize(dst, 32<<10), scratch: scratch, memoryMax: memoryMax}
	w.in.dst, w.in.out = w.bw, w.bw
	return w
}

// MediaType returns "image/jpeg", "image/png", "image/gif" or "image/webp" once the first 12
// bytes have identified the type, and "" before or if they did not. For the HEIF family it
// returns "image/heic", "image/avif" or "image/heif" once the ftyp box has been read, as
// imageinfo does from the same brands.
func (w *Writer) MediaType() string {
	if h, ok := w.in.f.(*heifStripper); ok {
		return h.mediaType
	}
	return w.mediaType
}

// ender is a stripper of a format whose end is the end of the input (HEIF), rather than
// a marker: ended reports whether the input may end where it did.
type ender interface{ ended() error }

// Write consumes p. It returns len(p) unless it returns an error.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n := len(p)
	if w.in.f == nil {
		k := copy(w.head[w.nhead:], p)
		w.nhead += k
		p = p[k:]
		if w.nhead < imageformat.SniffLen {
			return n, nil
		}
		if w.err = w.start(); w.err != nil {
			w.release()
			return 0, w.err
		}
	}
	if w.err = w.in.feed(p); w.err != nil {
		w.release()
		return 0, w.err
	}
	return n, nil
}

// start identifies the type from the first bytes and passes them to its stripper.
func (w *Writer) start() error {
	w.mediaType = imageformat.Sniff(w.head[:])
	switch w.mediaType {
	case "image/jpeg":
		w.in.f = &jpegStripper{in: &w.in}
	case "image/png":
		w.in.f = &pngStripper{in: &w.in}
	case "image/gif":
		w.in.f = &gifStripper{in: &w.in}
	case "image/webp":
		w.in.f = &webpStripper{in: &w.in, body: spill{max: w.memoryMax, newFile: w.scratch}}
	case imageformat.HEIF:
		w.in.f = &heifStripper{in: &w.in}
	default:
		return fmt.Errorf("imagestrip: unrecognised file signature: %w", ErrUnsupported)
	}
	w.in.f.start()
	return w.in.feed(w.head[:])
}

// Close checks that the whole image was written and flushes the output. It does not close
// the destination. It returns the error that Write returned, if any. Whatever it returns,
// the Writer holds nothing afterwards.
func (w *Writer) Close() error {
	defer w.release()
	if w.err != nil {
		return w.err
	}
	w.err = errClosed
	switch {
	case w.nhead == 0:
		return fmt.Errorf("imagestrip: empty input: %w", ErrUnsupported)
	case w.in.f == nil && imageformat.Sniff(w.head[:w.nhead]) == "":
		return fmt.Errorf("imagestrip: unrecognised file signature: %w", ErrUnsupported)
	case w.in.f == nil:
		return fmt.Errorf("imagestrip: unexpected end of data: %w", ErrCorrupt)
	case w.in.op != opDiscard:
		f, ok := w.in.f.(ender)
		if !ok {
			return fmt.Errorf("imagestrip: unexpected end of data: %w", ErrCorrupt)
		}
		if err := f.ended(); err != nil {
			return err
		}
	}
	if err := w.bw.Flush(); err != nil {
		return writeError(err)
	}
	return nil
}

// Abort gives up the image: it drops what the Writer holds back (an extended WebP's kept
// chunks, and its temporary file) without writing it. Later Writes and Close fail. It is
// safe to call more than once, and after Close.
func (w *Writer) Abort() {
	if w.err == nil {
		w.err = errClosed
	}
	w.release()
}

// release drops what an extended WebP's stripper holds back.
func (w *Writer) release() {
	if ws, ok := w.in.f.(*webpStripper); ok {
		_ = ws.body.release() // a temporary file that fails to close was never needed again
	}
}

// corrupt returns an error wrapping ErrCorrupt with a short reason.
func corrupt(format, reason string) error {
	return fmt.Errorf("imagestrip: %s: %s: %w", format, reason, ErrCorrupt)
}

// writeError wraps an error of the destination.
func writeError(err error) error {
	return fmt.Errorf("imagestrip: writing output: %w", err)
}
