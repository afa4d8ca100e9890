package imaging

import (
	"fmt"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/testphotos"
)

func solid(n int, c [4]byte) []byte {
	px := make([]byte, 0, 4*n)
	for range n {
		px = append(px, c[:]...)
	}
	return px
}

func TestDominantColor(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		rgba []byte
		want string
	}{
		"solid": {solid(100, [4]byte{0x12, 0x34, 0x56, 255}), "#123456"},
		// 60% a red family (mean of its two shades), 40% blue.
		"majority wins": {append(append(solid(30, [4]byte{200, 10, 10, 255}), solid(30, [4]byte{210, 20, 20, 255})...),
			solid(40, [4]byte{10, 10, 200, 255})...), "#cd0f0f"},
		"transparent pixels ignored": {append(solid(70, [4]byte{255, 255, 255, 0}), solid(30, [4]byte{0, 128, 0, 255})...), "#008000"},
		"tie goes to the lower box":  {append(solid(50, [4]byte{250, 0, 0, 255}), solid(50, [4]byte{0, 0, 250, 255})...), "#0000fa"},
		"all transparent":            {solid(10, [4]byte{100, 50, 0, 0}), "#643200"},
		"empty":                      {nil, "#000000"},
	} {
		if got := dominantColor(tc.rgba); got != tc.want {
			t.Errorf("%s: got %s, want %s", name, got, tc.want)
		}
	}
}

func TestDominantColorOfPhotograph(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	res := b.process(t, readFile(t, testphotos.Medium(t)), []Preset{{"p", 96}}, []Format{WebP})
	var r, g, bl int
	if _, err := fmt.Sscanf(res.DominantColor, "#%02x%02x%02x", &r, &g, &bl); err != nil {
		t.Fatalf("dominant colour %q: %v", res.DominantColor, err)
	}
	// Most of the photograph is pale blue sky and sea.
	if !(bl > r && bl > 150) {
		t.Errorf("dominant colour %s, want a blue", res.DominantColor)
	}
	again := b.process(t, readFile(t, testphotos.Medium(t)), []Preset{{"p", 96}}, []Format{WebP})
	if again.DominantColor != res.DominantColor {
		t.Errorf("not deterministic: %s then %s", res.DominantColor, again.DominantColor)
	}
}
