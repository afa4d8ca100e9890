package imageinfo

import (
	"bytes"
	"io"
	"testing"
	"testing/iotest"

	"github.com/vitrine-dev/vitrine/internal/testheif"
)

// heifSamples returns a HEIC and an AVIF photograph with EXIF and XMP items, made by
// heif-enc.
func heifSamples(t testing.TB) []sample {
	t.Helper()
	heic, _ := testheif.Photo(t, false)
	avif, _ := testheif.Photo(t, true)
	return []sample{
		{"photo.heic", heic, "image/heic", testheif.Width, testheif.Height},
		{"photo.avif", avif, "image/avif", testheif.Width, testheif.Height},
	}
}

func TestScanHEIF(t *testing.T) {
	t.Parallel()
	for _, s := range heifSamples(t) {
		r := &countingReader{r: bytes.NewReader(s.data)}
		info, err := Scan(r, noLimit)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if want := (Info{MediaType: s.mediaType, Width: s.w, Height: s.h}); info != want {
			t.Errorf("%s: got %+v, want %+v", s.name, info, want)
		}
		if r.n != int64(len(s.data)) {
			t.Errorf("%s: read %d of %d bytes", s.name, r.n, len(s.data))
		}
		if _, err := Scan(bytes.NewReader(s.data), info.Pixels()); err != nil {
			t.Errorf("%s: at the exact limit: %v", s.name, err)
		}
		_, err = Scan(bytes.NewReader(s.data), info.Pixels()-1)
		checkErr(t, s.name+" one pixel over", err, ErrTooManyPixels)
		for name, r := range map[string]io.Reader{
			"one byte": iotest.OneByteReader(bytes.NewReader(s.data)),
			"half":     iotest.HalfReader(bytes.NewReader(s.data)),
			"data+EOF": iotest.DataErrReader(bytes.NewReader(s.data)),
		} {
			if got, err := Scan(r, noLimit); err != nil || got != info {
				t.Errorf("%s with %s reader: %+v, %v", s.name, name, got, err)
			}
		}
	}
}
