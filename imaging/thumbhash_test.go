package imaging

import (
	"encoding/hex"
	"math"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/testphotos"
)

// pattern makes the synthetic image the golden hashes below were computed from: red
// rising to the right, green downwards, blue diagonally, and, with alpha, the right half
// fading in rows.
func pattern(w, h int, alpha bool) []byte {
	p := make([]byte, 4*w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := 4 * (y*w + x)
			p[i], p[i+1], p[i+2], p[i+3] = byte(x*6%256), byte(y*8%256), byte((x+y)*3%256), 255
			if alpha && 2*x >= w {
				p[i+3] = byte(y * 6 % 256)
			}
		}
	}
	return p
}

// TestThumbHashMatchesReference compares with hashes computed by the reference
// implementation (the thumbhash npm package, 0.1.1, by the algorithm's author) from the
// same pixels.
func TestThumbHashMatchesReference(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		w, h  int
		alpha bool
		want  string
	}{
		{40, 30, false, "5c080e15987077778178887788788887788008f788"},
		{30, 40, true, "97b789240e3b60277738868a96d80862a8ff58378a77888707"},
		{100, 100, false, "9ef7050f0636069b956678659468966988734436c0047c0a"},
		{1, 1, false, "000802070000000000000000000000000000000000000000"},
	} {
		if got := hex.EncodeToString(thumbHash(tc.w, tc.h, pattern(tc.w, tc.h, tc.alpha))); got != tc.want {
			t.Errorf("%dx%d alpha=%v: got %s, want %s", tc.w, tc.h, tc.alpha, got, tc.want)
		}
	}
}

func TestThumbHashOfSolidColour(t *testing.T) {
	t.Parallel()
	for _, c := range [][4]byte{{200, 40, 40, 255}, {20, 120, 220, 255}, {255, 255, 255, 255}, {90, 160, 60, 128}} {
		w, h := 60, 20
		px := make([]byte, 4*w*h)
		for i := 0; i < len(px); i += 4 {
			copy(px[i:], c[:])
		}
		hash := thumbHash(w, h, px)
		// Opaque 3:1: 7×3 luminance terms in the triangle (15, 14 AC), 5 P, 5 Q: 24 nibbles
		// after the 5-byte header. With alpha: 5×3 (11, 10 AC), 5, 5 and 14 alpha terms: 34
		// nibbles after 6 bytes.
		if wantLen := map[bool]int{true: 5 + 12, false: 6 + 17}[c[3] == 255]; len(hash) != wantLen {
			t.Errorf("%v: %d bytes, want %d", c, len(hash), wantLen)
		}
		r, g, b, a, err := thumbHashAverageRGBA(hash)
		if err != nil {
			t.Fatal(err)
		}
		// The average is stored in 6 bits per channel in LPQ space: within 1/20 per channel.
		for i, got := range []float64{r, g, b, a} {
			if want := float64(c[i]) / 255; math.Abs(got-want) > 0.05 {
				t.Errorf("%v: channel %d averages %.3f, want %.3f", c, i, got, want)
			}
		}
		if ratio := thumbHashAspectRatio(hash); math.Abs(ratio-3) > 0.5 {
			t.Errorf("%v: aspect ratio %.2f, want about 3", c, ratio)
		}
	}
}

func TestThumbHashLength(t *testing.T) {
	t.Parallel()
	// Opaque 16:9: 7×4 luminance terms in the triangle (19, 18 AC), 5 P and 5 Q: 28
	// nibbles after the 5-byte header. With alpha: 5×3 luminance (11, 10 AC), 5, 5, then
	// 14 alpha AC terms: 34 nibbles after the 6-byte header.
	if n := len(thumbHash(96, 54, pattern(96, 54, false))); n != 5+14 {
		t.Errorf("opaque 16:9: %d bytes, want 19", n)
	}
	if n := len(thumbHash(96, 54, pattern(96, 54, true))); n != 6+17 {
		t.Errorf("16:9 with alpha: %d bytes, want 23", n)
	}
	for _, size := range [][2]int{{100, 100}, {100, 1}, {1, 100}, {37, 91}} {
		for _, alpha := range []bool{false, true} {
			if n := len(thumbHash(size[0], size[1], pattern(size[0], size[1], alpha))); n < 5 || n > 25 {
				t.Errorf("%v alpha=%v: %d bytes, want 5 to 25", size, alpha, n)
			}
		}
	}
}

// TestThumbHashOfPhotograph checks a real photograph's hash: landscape, and its render has
// the photo's blue sky at the top and yellow grass at the bottom.
func TestThumbHashOfPhotograph(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	res := b.process(t, readFile(t, testphotos.Medium(t)), []Preset{{"p", 96}}, []Format{WebP})
	if ratio := thumbHashAspectRatio(res.ThumbHash); math.Abs(ratio-1680.0/1050) > 0.3 {
		t.Errorf("aspect ratio %.2f, want about 1.6", ratio)
	}
	w, h, px, err := thumbHashToRGBA(res.ThumbHash)
	if err != nil {
		t.Fatal(err)
	}
	top, bottom := px[4*(w/2):], px[4*((h-1)*w+w/2):]
	if !(top[2] > top[0] && top[2] > 150) {
		t.Errorf("top centre is %v, want sky blue", top[:3])
	}
	if !(bottom[0] > bottom[2]+40 && bottom[1] > bottom[2]+20) {
		t.Errorf("bottom centre is %v, want grass yellow", bottom[:3])
	}
}
