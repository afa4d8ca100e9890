package imaging

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/testphotos"
)

func TestUndecodable(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	photo := readFile(t, testphotos.Medium(t))
	noise := make([]byte, 64<<10)
	rand.Read(noise)
	// A valid JPEG header (SOI, JFIF APP0) followed by noise.
	jfif := append([]byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0}, noise...)
	// A real photograph's header and tables, cut off inside its entropy-coded data.
	_, scan := jpegSegments(t, photo)
	truncated := photo[:len(photo)-len(scan)+len(scan)/3]
	svg := []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>`)
	pdf := []byte("%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")

	for name, src := range map[string][]byte{
		"empty":                {},
		"noise":                noise,
		"JPEG header, noise":   jfif,
		"truncated photograph": truncated,
		"text":                 []byte("definitely not an image"),
		"SVG (blocked)":        svg,
		"PDF (blocked)":        pdf,
	} {
		_, err := b.p.Process(context.Background(), src, DefaultPresets(), []Format{WebP})
		if !errors.Is(err, ErrUndecodable) {
			t.Errorf("%s: got %v, want ErrUndecodable", name, err)
		}
	}

	missing := filepath.Join(t.TempDir(), "missing.jpg")
	if _, err := b.p.ProcessFile(context.Background(), missing, DefaultPresets(), []Format{WebP}); err == nil {
		t.Error("missing file: no error")
	}
	garbage := filepath.Join(t.TempDir(), "garbage.jpg")
	if err := os.WriteFile(garbage, jfif, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := b.p.ProcessFile(context.Background(), garbage, DefaultPresets(), []Format{WebP}); !errors.Is(err, ErrUndecodable) {
		t.Errorf("garbage file: got %v, want ErrUndecodable", err)
	}
}

func TestTooLarge(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{MaxPixels: 1000 * 1000})
	_, err := b.p.Process(context.Background(), readFile(t, testphotos.Medium(t)), DefaultPresets(), []Format{WebP})
	if !errors.Is(err, ErrTooLarge) || !errors.Is(err, ErrUndecodable) {
		t.Errorf("got %v, want ErrTooLarge and ErrUndecodable", err)
	}
}
