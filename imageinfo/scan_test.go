package imageinfo

import (
	"bytes"
	"errors"
	"image"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"unicode"
)

func TestInfo(t *testing.T) {
	for mt, ext := range map[string]string{"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp", "text/plain": ""} {
		if got := (Info{MediaType: mt}).Ext(); got != ext {
			t.Errorf("Ext(%s) = %q, want %q", mt, got, ext)
		}
	}
	if got := (Info{Width: 65535, Height: 65535}).Pixels(); got != 65535*65535 {
		t.Errorf("Pixels() = %d", got)
	}
}

func TestScanValid(t *testing.T) {
	samples := allSamples(t)
	if len(samples) < 100 {
		t.Fatalf("only %d samples", len(samples))
	}
	for _, s := range samples {
		r := &countingReader{r: bytes.NewReader(s.data)}
		info, err := Scan(r, noLimit)
		if err != nil {
			t.Errorf("%s: %v", s.name, err)
			continue
		}
		want := Info{MediaType: s.mediaType, Width: s.w, Height: s.h}
		if info != want {
			t.Errorf("%s: got %+v, want %+v", s.name, info, want)
		}
		if r.n != int64(len(s.data)) {
			t.Errorf("%s: read %d of %d bytes", s.name, r.n, len(s.data))
		}
		if s.mediaType != "image/webp" {
			cfg, _, err := image.DecodeConfig(bytes.NewReader(s.data))
			if err != nil || cfg.Width != info.Width || cfg.Height != info.Height {
				t.Errorf("%s: image.DecodeConfig says %dx%d, %v; Scan says %dx%d",
					s.name, cfg.Width, cfg.Height, err, info.Width, info.Height)
			}
		}
		// The exact pixel count is allowed, one pixel less is not.
		if _, err := Scan(bytes.NewReader(s.data), info.Pixels()); err != nil {
			t.Errorf("%s: at the exact limit: %v", s.name, err)
		}
		_, err = Scan(bytes.NewReader(s.data), info.Pixels()-1)
		checkErr(t, s.name+" one pixel over", err, ErrTooManyPixels)
	}
}

// TestScanReaders checks that the result does not depend on how the reader
// splits the data.
func TestScanReaders(t *testing.T) {
	for _, s := range allSamples(t) {
		for name, r := range map[string]io.Reader{
			"one byte": iotest.OneByteReader(bytes.NewReader(s.data)),
			"half":     iotest.HalfReader(bytes.NewReader(s.data)),
			"data+EOF": iotest.DataErrReader(bytes.NewReader(s.data)),
		} {
			info, err := Scan(r, noLimit)
			if err != nil || info.Width != s.w || info.Height != s.h {
				t.Errorf("%s with %s reader: %+v, %v", s.name, name, info, err)
			}
		}
	}
}

func TestScanTrailingData(t *testing.T) {
	for _, s := range allSamples(t) {
		data := append(bytes.Clone(s.data), "trailing bytes \xff\xd9\x00IEND"...)
		r := followedBy(data, 100<<10)
		if _, err := Scan(r, noLimit); err != nil {
			t.Errorf("%s with trailing data: %v", s.name, err)
		}
		if want := int64(len(data) + 100<<10); r.n != want {
			t.Errorf("%s: read %d bytes, want all %d", s.name, r.n, want)
		}
	}
}

// magicLength is how many bytes of each type's signature Scan needs.
var magicLength = map[string]int{"image/png": 8, "image/jpeg": 3, "image/gif": 6, "image/webp": 12}

func TestScanTruncated(t *testing.T) {
	for _, s := range allSamples(t) {
		// Every cut for small files, a spread of cuts for larger ones, and
		// always 1 byte, half and all but one byte.
		step := 1
		if len(s.data) > 2048 {
			step = len(s.data) / 256
		}
		cuts := []int{1, len(s.data) / 2, len(s.data) - 1}
		for n := 0; n < len(s.data); n += step {
			cuts = append(cuts, n)
		}
		for _, n := range cuts {
			_, err := Scan(bytes.NewReader(s.data[:n]), noLimit)
			want := ErrCorrupt
			if n < magicLength[s.mediaType] {
				want = ErrUnsupported
			}
			if !errors.Is(err, want) {
				t.Errorf("%s cut to %d of %d bytes: got %v, want %q", s.name, n, len(s.data), err, want)
				break
			}
		}
	}
}

func TestScanNotImages(t *testing.T) {
	tests := map[string]string{
		"empty":      "",
		"text":       "hello, world\n",
		"svg":        `<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>`,
		"svg bare":   `<svg xmlns="http://www.w3.org/2000/svg"><rect width="1" height="1"/></svg>`,
		"html":       "<!DOCTYPE html><html><body><img src=x></body></html>",
		"pdf":        "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n",
		"bmp":        "BM\x36\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00\x28\x00\x00\x00",
		"tiff":       "II*\x00\x08\x00\x00\x00",
		"mp4":        "\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2",
		"quicktime":  "\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  ",
		"wav":        "RIFF\x24\x00\x00\x00WAVEfmt ",
		"short RIFF": "RIFF\x24\x00\x00\x00WEB",
		"GIF90a":     "GIF90a\x01\x00\x01\x00",
		"png prefix": "\x89PNG\r\n\x1a",
		"jpeg SOI":   "\xff\xd8",
		"zip":        "PK\x03\x04\x14\x00\x00\x00",
	}
	for name, data := range tests {
		r := followedBy([]byte(data), 10<<20)
		_, err := Scan(r, noLimit)
		checkErr(t, name, err, ErrUnsupported)
		if r.n > 64 {
			t.Errorf("%s: read %d bytes, want at most 64", name, r.n)
		}
	}
}

func TestScanTooManyPixelsEarly(t *testing.T) {
	// A 35-byte GIF whose logical screen is 65535×65535.
	tinyGIF := []byte("GIF89a\xff\xff\xff\xff\x80\x00\x00" + "\x00\x00\x00\xff\xff\xff" +
		"\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00" + "\x02\x02\x44\x01\x00" + "\x3b")
	if _, err := Scan(bytes.NewReader(tinyGIF), 1<<32); err != nil {
		t.Fatalf("tiny GIF is not valid: %v", err)
	}
	bigPNG := pngFile(ihdr(100000, 100000, 8, 2, 0), idatChunks(zlibBytes(make([]byte, 10)))...)
	bigJPEG := setJPEGSize(t, jpegSample(t), 60000, 60000)

	for name, data := range map[string][]byte{"gif": tinyGIF, "png": bigPNG, "jpeg": bigJPEG} {
		r := followedBy(data, 10<<20)
		_, err := Scan(r, 100_000_000)
		checkErr(t, name, err, ErrTooManyPixels)
		if r.n >= 1024 {
			t.Errorf("%s: read %d bytes before refusing, want < 1 KiB", name, r.n)
		}
	}
	for _, s := range encodedSamples(t)[:3] {
		_, err := Scan(bytes.NewReader(s.data), 0)
		checkErr(t, s.name+" with zero limit", err, ErrTooManyPixels)
	}
}

// TestScanDimensionsWithinFirstMiB checks that a JPEG whose SOF comes after
// more than a MiB of metadata is refused without reading much further.
func TestScanDimensionsWithinFirstMiB(t *testing.T) {
	base := jpegSample(t)
	app := append([]byte{0xff, 0xe1, 0xff, 0xff}, bytes.Repeat([]byte{'x'}, 0xffff-2)...)
	withApps := func(n int) []byte {
		b := append([]byte{}, base[:2]...)
		for range n {
			b = append(b, app...)
		}
		return append(b, base[2:]...)
	}
	if _, err := Scan(bytes.NewReader(withApps(15)), noLimit); err != nil {
		t.Errorf("SOF after 15 APP1 segments: %v", err)
	}
	r := &countingReader{r: bytes.NewReader(withApps(40))}
	_, err := Scan(r, noLimit)
	checkErr(t, "SOF after 40 APP1 segments", err, ErrCorrupt)
	if r.n > headerLimit+128<<10 {
		t.Errorf("read %d bytes before giving up", r.n)
	}
}

// errReader returns data and then err.
type errReader struct {
	data []byte
	err  error
}

func (r *errReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestScanReadError(t *testing.T) {
	boom := errors.New("connection reset")
	for _, s := range allSamples(t)[:40] {
		for _, n := range []int{0, 5, len(s.data) / 2, len(s.data)} {
			_, err := Scan(&errReader{s.data[:n], boom}, noLimit)
			if !errors.Is(err, boom) {
				t.Errorf("%s failing after %d bytes: got %v, want the reader's error", s.name, n, err)
			}
			if errors.Is(err, ErrCorrupt) || errors.Is(err, ErrUnsupported) || errors.Is(err, ErrTooManyPixels) {
				t.Errorf("%s: reader error reported as an image error: %v", s.name, err)
			}
		}
	}
}

// checkMessage fails if an error message is long or not printable ASCII, as
// it may be shown to API clients.
func checkMessage(t testing.TB, err error) {
	t.Helper()
	msg := err.Error()
	if len(msg) > 120 || strings.IndexFunc(msg, func(r rune) bool { return r > unicode.MaxASCII || !unicode.IsPrint(r) }) >= 0 {
		t.Errorf("unsuitable error message %q", msg)
	}
}
