// Package upload takes an image from a stream into the object store and the gallery: it
// streams the bytes once, checking their type from magic bytes, their pixel count from the
// header and their structure to the end, while the same bytes, without their metadata, are
// hashed and written to the store; only then does it publish the object under its
// content-addressed key and append the image to its product's gallery.
package upload

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/imageinfo"
	"github.com/vitrine-dev/vitrine/imagestrip"
	"github.com/vitrine-dev/vitrine/internal/imageformat"
	"github.com/vitrine-dev/vitrine/storage"
)

// OriginalsPrefix is the key prefix of original images in the object store.
const OriginalsPrefix = "originals"

// Gallery is what uploads need of the gallery's storage.
type Gallery interface {
	// CheckWritable refuses a product the caller may not change: not found when it cannot
	// see it, forbidden when it can see it but not change it.
	CheckWritable(ctx context.Context, productID uuid.UUID) error
	AppendImage(ctx context.Context, im gallery.NewImage, publish func(context.Context) error) (gallery.Image, error)
	CreateUpload(ctx context.Context, productID uuid.UUID, alt string, ttl time.Duration) (gallery.Upload, error)
	Upload(ctx context.Context, id uuid.UUID) (gallery.Upload, error)
	CancelUpload(ctx context.Context, id uuid.UUID) error
	ImportImages(ctx context.Context, ins []gallery.NewImport) ([]gallery.ImportResult, error)
	PublishImport(ctx context.Context, im gallery.NewImage, sourceURL string, publish func(context.Context) error) error
	FailImport(ctx context.Context, imageID uuid.UUID, sourceURL string, e gallery.ImportError) error
}

// Service receives uploads. Its fields are set once at start-up.
type Service struct {
	Store     storage.Store
	Gallery   Gallery
	MaxBytes  int64 // the largest accepted file
	MaxPixels int64 // the most pixels an image may declare
	// MaxPixelsPerByte, when positive, refuses an image of more than DensityFrom pixels that
	// declares more pixels than this per byte of the upload (see checkDensity).
	MaxPixelsPerByte float64
	DensityFrom      int64
	ObjectURL        func(string) string // the public URL of an object key
	// KeepMetadata stores originals byte for byte as uploaded. When false, the default,
	// the stored original is the upload without its metadata (EXIF with GPS, XMP, IPTC,
	// comments, text chunks) and without any bytes after the image's end marker, as package
	// imagestrip describes; pixels are not touched, and an EXIF orientation is kept in a
	// minimal EXIF block. An extended WebP is held back until its end while it is stripped:
	// up to 256 KiB in memory, the rest in an unnamed temporary file in TempDir, closed (and
	// so gone) as soon as the upload is stored or refused. The content hash, the key and the
	// size are those of the stored bytes either way.
	KeepMetadata bool
	// TempDir is where uploads being stripped of their metadata keep what they hold back;
	// empty means os.TempDir(). It should be on a disk, not in memory.
	TempDir string
	// DirectTTL is how long a direct upload's presigned URL and record stay valid.
	DirectTTL time.Duration
	// ImportClient fetches the sources of imports (a client from internal/safehttp, which
	// refuses addresses a supplier must not reach); nil: the server imports nothing.
	ImportClient *http.Client
	// ImportTimeout bounds one fetch of an import's source, from the request to the last byte.
	ImportTimeout time.Duration
	// Types are the accepted types (VITRINE_UPLOAD_TYPES); the zero Types accepts all.
	Types Types
}

// Received is an upload whose bytes are in the store's temporary space and have passed every
// check, but are not yet published. Call Service.Add or Discard.
type Received struct {
	Info   imageinfo.Info
	SHA256 string // hex, of the stored bytes
	Bytes  int64  // the size of the stored bytes
	w      storage.Writer
}

// Discard drops the upload's bytes; it is safe to call more than once and after Add.
func (r *Received) Discard() {
	if r != nil && r.w != nil {
		_ = r.w.Abort()
	}
}

// CheckProduct refuses an upload to a product that the caller that ctx carries cannot see
// (not found) or may not change (forbidden: another supplier's published product, or one of
// a team the caller is a viewer of), before any byte is read.
func (s *Service) CheckProduct(ctx context.Context, productID uuid.UUID) error {
	return s.Gallery.CheckWritable(ctx, productID)
}

// Receive streams r into a temporary object while checking it. imageinfo.Scan checks the
// bytes as uploaded; unless KeepMetadata is set, what is hashed and stored is those bytes
// stripped of their metadata. On any error nothing is left in the store. The error is a
// domain error: ETOOLARGE past MaxBytes (counted on the upload, before stripping), EMEDIATYPE
// for anything but an image of one of Types (refused from its first bytes when they tell),
// EPIXELS past MaxPixels or MaxPixelsPerByte, ECORRUPT for a malformed or truncated image.
func (s *Service) Receive(ctx context.Context, r io.Reader) (*Received, error) {
	w, err := s.Store.NewWriter(ctx)
	if err != nil {
		return nil, fmt.Errorf("starting object: %w", err)
	}
	out := &sinks{h: sha256.New(), w: w}
	var in io.Writer = out
	var strip *stripInput
	if !s.KeepMetadata {
		strip = &stripInput{w: imagestrip.NewWriter(out, s.scratch)}
		defer strip.w.Abort() // a no-op once closed
		in = strip
	}
	lr := &limitedReader{r: r, left: s.MaxBytes}
	// A type that is not accepted is refused from its first bytes, before any is stored,
	// when they tell (the HEIF family's exact type needs its whole ftyp box: see below).
	head := make([]byte, imageformat.SniffLen)
	n, _ := io.ReadFull(lr, head) // a short or failed read is Scan's to report
	head = head[:n]
	if mt := imageformat.Sniff(head); mt != "" && !s.acceptsStart(mt) {
		if mt == imageformat.HEIF { // named after its major brand in the message
			mt = imageformat.HEIFBrand(string(head[8:12]))
		}
		_ = w.Abort()
		return nil, s.Types.refuse(mt, nil)
	}
	info, scanErr := imageinfo.Scan(io.TeeReader(io.MultiReader(bytes.NewReader(head), lr), in), s.MaxPixels)
	err = receiveError(lr, scanErr, s.Types)
	if err == nil && !s.Types.Accepts(info.MediaType) {
		err = s.Types.refuse(info.MediaType, nil)
	}
	if err == nil {
		err = s.checkDensity(info, lr.read)
	}
	if err == nil {
		err = checkProfile(info)
	}
	if err == nil && strip != nil {
		err = strip.close(info)
	}
	if err != nil {
		_ = w.Abort()
		return nil, err
	}
	return &Received{Info: info, SHA256: hex.EncodeToString(out.h.Sum(nil)), Bytes: out.n, w: w}, nil
}

// acceptsStart says whether a file that Sniff takes for mediaType may be of an accepted type.
func (s *Service) acceptsStart(mediaType string) bool {
	if mediaType == imageformat.HEIF {
		return s.Types.acceptsAnyHEIF()
	}
	return s.Types.Accepts(mediaType)
}

// receiveError decides what went wrong, in order of precedence: the body was too large, the
// client's stream broke, the store failed, or the image itself is bad.
func receiveError(lr *limitedReader, scanErr error, types Types) error {
	switch {
	case lr.tooLarge:
		return gallery.Errorf(gallery.ETOOLARGE, "the file is larger than %d bytes", lr.limit())
	case lr.err != nil:
		return &gallery.Error{Code: gallery.EINVALID, Message: "the upload was interrupted", Err: lr.err}
	case scanErr == nil:
		return nil
	case errors.Is(scanErr, errWrite):
		return fmt.Errorf("writing object: %w", scanErr)
	case errors.Is(scanErr, imageinfo.ErrTooManyPixels):
		return &gallery.Error{Code: gallery.EPIXELS, Message: scanErr.Error(), Err: scanErr}
	case errors.Is(scanErr, imageinfo.ErrUnsupported):
		return types.refuse("", scanErr)
	case errors.Is(scanErr, imageinfo.ErrCorrupt):
		return &gallery.Error{Code: gallery.ECORRUPT, Message: scanErr.Error(), Err: scanErr}
	default:
		return fmt.Errorf("checking upload: %w", scanErr)
	}
}

// Add publishes a received upload under its content-addressed key and appends it to the
// product's gallery, in one transaction that holds the key's lock (so a concurrent delete of
// an object with the same bytes cannot remove it). If the transaction fails after the object
// was published, the object stays for the reconciler, which deletes unreferenced objects once
// they are older than its grace period (an object of the same bytes may be in use already).
func (s *Service) Add(ctx context.Context, productID uuid.UUID, rec *Received, alt string) (gallery.Image, error) {
	return s.add(ctx, productID, rec, alt, uuid.Nil)
}

// add is Add, completing the direct upload uploadID when it is not zero.
func (s *Service) add(ctx context.Context, productID uuid.UUID, rec *Received, alt string, uploadID uuid.UUID) (gallery.Image, error) {
	defer rec.Discard()
	im, publish := s.original(rec)
	im.ID, im.ProductID, im.Alt, im.UploadID = uuid.New(), productID, alt, uploadID
	return s.Gallery.AppendImage(ctx, im, publish)
}

// original returns what the gallery records of a received upload's original, and the
// function that publishes it under its content-addressed key, for the gallery to call inside
// its transaction.
func (s *Service) original(rec *Received) (gallery.NewImage, func(context.Context) error) {
	key := storage.ContentKey(OriginalsPrefix, mustHex(rec.SHA256), rec.Info.Ext())
	publish := func(ctx context.Context) error {
		if err := rec.w.Commit(ctx, key); err != nil {
			return fmt.Errorf("publishing object: %w", err)
		}
		return nil
	}
	return gallery.NewImage{
		URL:         s.ObjectURL(key),
		StoragePath: key,
		SHA256:      rec.SHA256,
		Bytes:       rec.Bytes,
		Width:       rec.Info.Width,
		Height:      rec.Info.Height,
		MediaType:   rec.Info.MediaType,
	}, publish
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// scratch makes the temporary file of an extended WebP being stripped.
func (s *Service) scratch() (imagestrip.File, error) {
	return storage.CreateTemp(s.TempDir, ".vitrine-strip-*")
}

var errWrite = errors.New("write failed")

// sinks receives every byte to be stored: the hash and the object writer.
type sinks struct {
	h hash.Hash
	w io.Writer
	n int64 // bytes written
}

func (s *sinks) Write(p []byte) (int, error) {
	s.h.Write(p)
	if _, err := s.w.Write(p); err != nil {
		return 0, fmt.Errorf("%w: %w", errWrite, err)
	}
	s.n += int64(len(p))
	return len(p), nil
}

// stripInput passes the upload to the metadata stripper, whose output goes to the sinks. An
// error about the image is kept for close, so that Scan, which checks more, reports the
// problem; any other error (writing to the store, or to the stripper's temporary file) stops
// the upload at once.
type stripInput struct {
	w   *imagestrip.Writer
	err error
}

func (s *stripInput) Write(p []byte) (int, error) {
	if s.err == nil {
		_, s.err = s.w.Write(p)
	}
	if s.err != nil && !errors.Is(s.err, imagestrip.ErrCorrupt) && !errors.Is(s.err, imagestrip.ErrUnsupported) {
		return 0, s.err
	}
	return len(p), nil
}

// close flushes the stripped image once Scan has accepted the upload as info. The stripper
// follows less of the structure than Scan checks, so it accepts whatever Scan accepts (its
// fuzz test checks this); if it did not, that would be a bug, reported as an internal error.
func (s *stripInput) close(info imageinfo.Info) error {
	err := s.err
	if err == nil {
		err = s.w.Close()
	}
	switch {
	case errors.Is(err, errWrite):
		return fmt.Errorf("writing object: %w", err)
	case err != nil:
		return fmt.Errorf("stripping metadata from a valid %s: %w", info.MediaType, err)
	case s.w.MediaType() != info.MediaType:
		return fmt.Errorf("stripping metadata: the stripper took a %s for a %s", info.MediaType, s.w.MediaType())
	}
	return nil
}

// limitedReader reads at most left bytes and remembers whether the stream was longer, and
// any error of the underlying reader.
type limitedReader struct {
	r        io.Reader
	left     int64
	read     int64
	tooLarge bool
	err      error
}

var errTooLarge = errors.New("body too large")

func (l *limitedReader) limit() int64 { return l.read + l.left }

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.tooLarge {
		return 0, errTooLarge
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	if int64(n) > l.left {
		l.tooLarge = true
		n = int(l.left)
		err = errTooLarge
	}
	l.left -= int64(n)
	l.read += int64(n)
	if err != nil && err != io.EOF && err != errTooLarge {
		l.err = err
	}
	return n, err
}
