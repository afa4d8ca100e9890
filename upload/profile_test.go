package upload_test

import (
	"bytes"
	"image/png"
	"testing"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/internal/testimages"
	"github.com/vitrine-dev/vitrine/upload"
)

// withICC returns the PNG image with an iCCP chunk of n bytes after its IHDR chunk.
func withICC(img []byte, n int) []byte {
	const ihdrEnd = 8 + 8 + 13 + 4 // signature, IHDR's header, data and CRC
	iccp := testimages.PNGChunk("iCCP", append([]byte("icc\x00\x00"), bytes.Repeat([]byte{'p'}, n-5)...))
	return append(append(bytes.Clone(img[:ihdrEnd]), iccp...), img[ihdrEnd:]...)
}

// TestLargeColourProfileIsRefused uploads an image carrying an ICC profile just over
// upload.MaxProfileBytes (too_large, nothing stored, with KeepMetadata too, where no stripper
// runs) and one exactly at it (stored).
func TestLargeColourProfileIsRefused(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := png.Encode(&buf, testimages.Pattern(64, 48)); err != nil {
		t.Fatal(err)
	}
	photo := buf.Bytes()
	for _, keep := range []bool{false, true} {
		b := setup(t, false)
		b.svc.MaxBytes, b.svc.MaxPixels, b.svc.KeepMetadata = 25<<20, 50_000_000, keep
		_, err := b.svc.Receive(t.Context(), bytes.NewReader(withICC(photo, upload.MaxProfileBytes+1)))
		if gallery.ErrorCode(err) != gallery.ETOOLARGE {
			t.Fatalf("keep metadata %v: a profile of %d bytes: %v, want too_large", keep, upload.MaxProfileBytes+1, err)
		}
		if files := storedFiles(t, b.dir); len(files) != 0 {
			t.Fatalf("keep metadata %v: files left behind: %v", keep, files)
		}
		rec, err := b.svc.Receive(t.Context(), bytes.NewReader(withICC(photo, upload.MaxProfileBytes)))
		if err != nil {
			t.Fatalf("keep metadata %v: a profile of %d bytes: %v", keep, upload.MaxProfileBytes, err)
		}
		if rec.Info.ProfileBytes != upload.MaxProfileBytes {
			t.Errorf("keep metadata %v: ProfileBytes = %d, want %d", keep, rec.Info.ProfileBytes, upload.MaxProfileBytes)
		}
		rec.Discard()
	}
}
