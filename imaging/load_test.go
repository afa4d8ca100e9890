package imaging

import (
	"runtime"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/testphotos"
)

func TestShrinkOnLoadChoice(t *testing.T) {
	t.Parallel()
	jpeg := header{loader: "jpegload_buffer"}
	for _, tc := range []struct {
		long, target int
		margin       bool
		want         int
	}{
		{5120, 1600, false, 2}, // 2560 ≥ 1600 > 1280
		{5120, 1024, false, 4}, // 1280 ≥ 1024 > 640
		{5120, 480, false, 8},
		{5120, 1600, true, 1}, // with the margin: 2560 < 2×1600
		{5121, 1600, false, 2},
		{1600, 1600, false, 1},
		{1599, 200, false, 8}, // libjpeg rounds up: ⌈1599/8⌉ = 200
		{1599, 201, false, 4},
	} {
		got, _ := tuning{shrinkMargin: tc.margin}.shrinkOnLoad(jpeg, tc.long, tc.target)
		if got != tc.want {
			t.Errorf("long %d, target %d, margin %v: shrink %d, want %d", tc.long, tc.target, tc.margin, got, tc.want)
		}
	}
	if _, scale := defaultTuning.shrinkOnLoad(header{loader: "webpload_buffer"}, 4000, 1000); scale != 0.25 {
		t.Errorf("WebP scale %v, want 0.25", scale)
	}
	if shrink, scale := defaultTuning.shrinkOnLoad(header{loader: "pngload_buffer"}, 4000, 1000); shrink != 1 || scale != 1 {
		t.Errorf("PNG: shrink %d scale %v, want none", shrink, scale)
	}
}

// TestShrinkOnLoadApplies checks that libvips really decodes a JPEG smaller when asked.
func TestShrinkOnLoadApplies(t *testing.T) {
	t.Parallel()
	setup(t, Config{})
	src := readFile(t, testphotos.Large(t))
	var pin runtime.Pinner
	pin.Pin(&src[0])
	defer pin.Unpin()

	hdr, err := source{buf: src}.readHeader()
	if err != nil {
		t.Fatal(err)
	}
	if hdr.loader != "jpegload_buffer" || hdr.width != 5120 || hdr.height != 2880 || hdr.orientation != 1 {
		t.Errorf("header %+v", hdr)
	}
	var s scope
	defer s.close()
	im, err := source{buf: src}.open(4, 1)
	if err != nil {
		t.Fatal(err)
	}
	s.own(im)
	if w, h := imageSize(im); w != 1280 || h != 720 {
		t.Errorf("decoded at 1/4: %dx%d, want 1280x720", w, h)
	}
}
