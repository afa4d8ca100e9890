package imageinfo

import (
	"bytes"
	"errors"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/testheif"
	"github.com/vitrine-dev/vitrine/internal/testimages"
)

// fuzzLimit keeps decoding by the standard library cheap while fuzzing.
const fuzzLimit = 1 << 16

func FuzzScan(f *testing.F) {
	for _, s := range allSamples(f) {
		if len(s.data) <= 4096 {
			f.Add(s.data)
			f.Add(s.data[:len(s.data)-1])
		}
	}
	for _, s := range []string{"", "GIF89a", "\x89PNG\r\n\x1a\n", "\xff\xd8\xff\xd9", "RIFF\x00\x00\x00\x00WEBP", "<svg/>"} {
		f.Add([]byte(s))
	}
	f.Add(pngFile(ihdr(16, 16, 8, 0, 0), testimages.PNGChunk("IDAT", zlibBytes(make([]byte, 1<<16)))))
	f.Add(gifFile(gifHeader(10, 10), gifFrame(200, 0, 100, 10, 2, onePixel...)))
	for _, avif := range []bool{false, true} {
		small := testheif.Small(f, avif)
		f.Add(small)
		for _, b := range testheif.Broken(f, small) {
			if len(b) <= 4096 {
				f.Add(b)
			}
		}
	}

	f.Fuzz(fuzzBody)
}

// fuzzBody checks one input: Scan must not panic, its errors must wrap a
// sentinel and be short, and when it accepts a PNG, JPEG or GIF, Go's decoder
// must agree on the dimensions.
func fuzzBody(t *testing.T, data []byte) {
	r := &countingReader{r: bytes.NewReader(data)}
	info, err := Scan(r, fuzzLimit)
	if err != nil {
		if !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTooManyPixels) {
			t.Fatalf("error wraps no sentinel: %v", err)
		}
		checkMessage(t, err)
		return
	}
	if r.n != int64(len(data)) {
		t.Fatalf("success after reading %d of %d bytes", r.n, len(data))
	}
	if info.Width <= 0 || info.Height <= 0 || info.Pixels() > fuzzLimit || info.Ext() == "" {
		t.Fatalf("bad Info %+v", info)
	}
	var cfg image.Config
	switch info.MediaType {
	case "image/png":
		cfg, err = png.DecodeConfig(bytes.NewReader(data))
		if err == nil {
			// Scan checks everything Go's PNG decoder checks except
			// palette indices, which the decoder accepts anyway.
			if _, err := png.Decode(bytes.NewReader(data)); err != nil {
				t.Fatalf("Scan accepts a PNG that png.Decode refuses: %v", err)
			}
		}
	case "image/jpeg":
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(data))
		var unsupported jpeg.UnsupportedError
		if errors.As(err, &unsupported) {
			return // valid, but beyond what Go's decoder implements
		}
	case "image/gif":
		cfg, err = gif.DecodeConfig(bytes.NewReader(data))
	default:
		return
	}
	if err != nil {
		t.Fatalf("Scan accepts %+v but DecodeConfig says %v", info, err)
	}
	if cfg.Width != info.Width || cfg.Height != info.Height {
		t.Fatalf("Scan says %dx%d, DecodeConfig says %dx%d", info.Width, info.Height, cfg.Width, cfg.Height)
	}
}
