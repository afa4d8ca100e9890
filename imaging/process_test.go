package imaging

import (
	"context"
	"math"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/testphotos"
)

// checkSizes checks that every variant has its preset's long side (or the original's,
// when smaller) and the original's aspect ratio within a pixel.
func checkSizes(t *testing.T, res Result, presets []Preset) {
	t.Helper()
	for _, v := range res.Variants {
		var long int
		for _, p := range presets {
			if p.Name == v.Preset {
				long = min(p.LongSide, max(res.Width, res.Height))
			}
		}
		if got := max(v.Width, v.Height); got != long {
			t.Errorf("%s %s is %dx%d: long side %d, want %d", v.Preset, v.Format, v.Width, v.Height, got, long)
		}
		if (v.Width >= v.Height) != (res.Width >= res.Height) {
			t.Errorf("%s %s is %dx%d, original %dx%d: orientation differs", v.Preset, v.Format, v.Width, v.Height, res.Width, res.Height)
		}
		// The short side, from the original's aspect ratio.
		want := float64(min(res.Width, res.Height)) * float64(long) / float64(max(res.Width, res.Height))
		if got := float64(min(v.Width, v.Height)); math.Abs(got-want) > 1 {
			t.Errorf("%s %s is %dx%d: short side %v, want %.1f±1", v.Preset, v.Format, v.Width, v.Height, got, want)
		}
	}
}

func TestProcessLargePhotograph(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	presets := DefaultPresets()
	res := b.process(t, readFile(t, testphotos.Large(t)), presets, allFormats)

	if res.Width != 5120 || res.Height != 2880 {
		t.Errorf("original is %dx%d, want 5120x2880", res.Width, res.Height)
	}
	checkSizes(t, res, presets)
	want := map[string][2]int{"minithumb": {96, 54}, "mobile": {480, 270}, "tablet": {1024, 576}, "desktop": {1600, 900}}
	for i, v := range res.Variants {
		// Preset order, then format order.
		if p, f := presets[i/len(allFormats)].Name, allFormats[i%len(allFormats)]; v.Preset != p || v.Format != f {
			t.Errorf("variant %d is %s %s, want %s %s", i, v.Preset, v.Format, p, f)
		}
		if w := want[v.Preset]; v.Width != w[0] || v.Height != w[1] {
			t.Errorf("%s %s is %dx%d, want %dx%d", v.Preset, v.Format, v.Width, v.Height, w[0], w[1])
		}
		if v.MediaType != v.Format.MediaType() || len(v.Data) == 0 {
			t.Errorf("%s %s: media type %q, %d bytes", v.Preset, v.Format, v.MediaType, len(v.Data))
		}
	}
}

func TestProcessDoesNotUpscale(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	// A small real photograph: the 480×300 JPEG variant of the medium one.
	small := variant(t, b.process(t, readFile(t, testphotos.Medium(t)), []Preset{{"small", 480}}, []Format{JPEG}), "small", JPEG)
	if small.Width != 480 || small.Height != 300 {
		t.Fatalf("small photo is %dx%d, want 480x300", small.Width, small.Height)
	}

	presets := DefaultPresets()
	res := b.process(t, small.Data, presets, allFormats)
	if res.Width != 480 || res.Height != 300 {
		t.Errorf("original is %dx%d, want 480x300", res.Width, res.Height)
	}
	checkSizes(t, res, presets)
	for _, name := range []string{"mobile", "tablet", "desktop"} {
		for _, f := range allFormats {
			if v := variant(t, res, name, f); v.Width != 480 || v.Height != 300 {
				t.Errorf("%s %s is %dx%d, want the original's 480x300", name, f, v.Width, v.Height)
			}
		}
	}
	if v := variant(t, res, "minithumb", WebP); v.Width != 96 || v.Height != 60 {
		t.Errorf("minithumb is %dx%d, want 96x60", v.Width, v.Height)
	}
}

// TestVariantsDecode decodes every variant with a decoder other than the one that wrote
// it and checks its size is the one declared.
func TestVariantsDecode(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	res := b.process(t, readFile(t, testphotos.Medium(t)), DefaultPresets(), allFormats)
	for _, v := range res.Variants {
		switch v.Format {
		case JPEG, WebP:
			got := decodeVariant(t, v).Bounds()
			if got.Dx() != v.Width || got.Dy() != v.Height {
				t.Errorf("%s %s decodes to %dx%d, declared %dx%d", v.Preset, v.Format, got.Dx(), got.Dy(), v.Width, v.Height)
			}
		case AVIF:
			// Go has no AVIF decoder: check the container's size, then decode it with
			// libvips by processing it as an original.
			if w, h := avifSize(t, v.Data); w != v.Width || h != v.Height {
				t.Errorf("%s AVIF says %dx%d, declared %dx%d", v.Preset, w, h, v.Width, v.Height)
			}
			again := b.process(t, v.Data, []Preset{{"same", max(v.Width, v.Height)}}, []Format{WebP})
			if again.Width != v.Width || again.Height != v.Height {
				t.Errorf("%s AVIF decodes to %dx%d, declared %dx%d", v.Preset, again.Width, again.Height, v.Width, v.Height)
			}
		}
	}
}

func TestProcessFileMatchesProcess(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	path := testphotos.Medium(t)
	presets := []Preset{{"a", 200}, {"b", 64}}
	fromBytes := b.process(t, readFile(t, path), presets, []Format{WebP})
	fromFile, err := b.p.ProcessFile(context.Background(), path, presets, []Format{WebP})
	if err != nil {
		t.Fatal(err)
	}
	for i := range fromBytes.Variants {
		a, f := fromBytes.Variants[i], fromFile.Variants[i]
		if a.Width != f.Width || a.Height != f.Height || string(a.Data) != string(f.Data) {
			t.Errorf("variant %d differs: %dx%d %d bytes from bytes, %dx%d %d bytes from file",
				i, a.Width, a.Height, len(a.Data), f.Width, f.Height, len(f.Data))
		}
	}
	if string(fromBytes.ThumbHash) != string(fromFile.ThumbHash) || fromBytes.DominantColor != fromFile.DominantColor {
		t.Error("placeholders differ between Process and ProcessFile")
	}
}

func TestProcessRejectsBadRequests(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	src := readFile(t, testphotos.Medium(t))
	for name, tc := range map[string]struct {
		presets []Preset
		formats []Format
	}{
		"no presets":     {nil, allFormats},
		"no formats":     {DefaultPresets(), nil},
		"zero size":      {[]Preset{{"zero", 0}}, allFormats},
		"no name":        {[]Preset{{"", 10}}, allFormats},
		"unknown format": {DefaultPresets(), []Format{"gif"}},
	} {
		if _, err := b.p.Process(context.Background(), src, tc.presets, tc.formats); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
