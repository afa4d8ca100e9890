package imageinfo

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
	"testing/iotest"

	"github.com/vitrine-dev/vitrine/internal/testheif"
)

// heifSamples returns HEIC and AVIF photographs with EXIF and XMP items, made by heif-enc.
func heifSamples(t testing.TB) []sample {
	t.Helper()
	heic, _ := testheif.Photo(t, false)
	avif, _ := testheif.Photo(t, true)
	return []sample{
		{"photo.heic", heic, "image/heic", testheif.Width, testheif.Height},
		{"photo.avif", avif, "image/avif", testheif.Width, testheif.Height},
		// heif-enc makes a grid of one 64×64 tile (its data in the meta box's idat) of an
		// image smaller than HEVC's coding block.
		{"small.heic", testheif.Small(t, false), "image/heic", 32, 24},
		{"grid.heic", testheif.Grid(t, heic, 3, 2), "image/heic", 3 * testheif.Width, 2 * testheif.Height},
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
		// The limit counts the pixels decoded: those of small.heic's 64×64 tile.
		limit := info.Pixels()
		if s.name == "small.heic" {
			limit = 64 * 64
		}
		if _, err := Scan(bytes.NewReader(s.data), limit); err != nil {
			t.Errorf("%s: at the exact limit: %v", s.name, err)
		}
		_, err = Scan(bytes.NewReader(s.data), limit-1)
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

func TestScanHEIFBroken(t *testing.T) {
	t.Parallel()
	for _, s := range heifSamples(t) {
		if s.name == "grid.heic" {
			continue // Broken edits metadata items too, and the grid has none
		}
		for name, data := range testheif.Broken(t, s.data) {
			r := followedBy(data, 0)
			_, err := Scan(r, 50_000_000)
			want := ErrCorrupt
			if testheif.TooManyPixels[name] {
				want = ErrTooManyPixels
			}
			checkErr(t, s.name+" "+name, err, want)
			if err != nil {
				checkMessage(t, err)
			}
			t.Logf("%s %s: %v (read %d of %d bytes)", s.name, name, err, r.n, len(data))
		}
	}
}

// TestScanHEIFRefusedEarly checks that a HEIF declaring too many pixels or items is refused
// having read little more than its header, however much follows.
func TestScanHEIFRefusedEarly(t *testing.T) {
	t.Parallel()
	heic, _ := testheif.Photo(t, false)
	broken := testheif.Broken(t, heic)
	for name, most := range map[string]int64{
		"image of 100000x100000": 2 << 10,
		"100000 items":           2 << 10,
	} {
		r := followedBy(broken[name], 10<<20)
		if _, err := Scan(r, 50_000_000); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if r.n > most {
			t.Errorf("%s: read %d bytes before refusing, want at most %d", name, r.n, most)
		}
	}
}

func TestScanHEIFTruncated(t *testing.T) {
	t.Parallel()
	for _, s := range heifSamples(t) {
		for n := 0; n < len(s.data); n += max(1, min(n/8, 997)) {
			_, err := Scan(bytes.NewReader(s.data[:n]), noLimit)
			want := ErrCorrupt
			if n < magicLen {
				want = ErrUnsupported
			}
			if !errors.Is(err, want) {
				t.Fatalf("%s cut to %d of %d bytes: got %v, want %q", s.name, n, len(s.data), err, want)
			}
		}
	}
}

// TestScanHEIFGridInMediaData checks a grid whose data lies in the mdat box, which Scan
// reads as it passes.
func TestScanHEIFGridInMediaData(t *testing.T) {
	t.Parallel()
	small := testheif.Small(t, false)
	info, err := Scan(bytes.NewReader(testheif.GridInMediaData(t, small, 32, 24)), noLimit)
	if want := (Info{MediaType: "image/heic", Width: 32, Height: 24}); err != nil || info != want {
		t.Errorf("got %+v, %v; want %+v", info, err, want)
	}
	for _, size := range [][2]uint16{{33, 24}, {32, 23}, {65, 24}, {0, 0}} {
		_, err := Scan(bytes.NewReader(testheif.GridInMediaData(t, small, size[0], size[1])), noLimit)
		checkErr(t, fmt.Sprintf("grid data saying %dx%d", size[0], size[1]), err, ErrCorrupt)
		if err != nil {
			checkMessage(t, err)
		}
	}
}

// TestScanHEIFLargeMeta checks the bound on the meta box: one that ends at the first MiB is
// read, one byte more is refused.
func TestScanHEIFLargeMeta(t *testing.T) {
	t.Parallel()
	heic, _ := testheif.Photo(t, false)
	meta := testheif.Find(t, heic, "meta")
	largest := testheif.WithMetaSize(t, heic, 1<<20-meta.Start)
	if info, err := Scan(bytes.NewReader(largest), noLimit); err != nil || info.Width != testheif.Width {
		t.Errorf("a meta box ending at 1 MiB: %+v, %v", info, err)
	}
	_, err := Scan(bytes.NewReader(testheif.WithMetaSize(t, heic, 1<<20-meta.Start+1)), noLimit)
	checkErr(t, "a meta box ending a byte past 1 MiB", err, ErrCorrupt)
}
