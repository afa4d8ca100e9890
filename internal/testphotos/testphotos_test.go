package testphotos

import (
	"image/jpeg"
	"os"
	"testing"
)

func TestPhotos(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		path          func(testing.TB) string
		width, height int
	}{
		"large":          {Large, 5120, 2880},
		"large original": {LargeOriginal, 5640, 3172},
		"medium":         {Medium, 1680, 1050},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f, err := os.Open(tc.path(t))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			cfg, err := jpeg.DecodeConfig(f)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Width != tc.width || cfg.Height != tc.height {
				t.Errorf("got %dx%d, want %dx%d", cfg.Width, cfg.Height, tc.width, tc.height)
			}
		})
	}
}
