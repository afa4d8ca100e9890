package storage_test

import (
	"crypto/sha256"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vitrine-dev/vitrine/storage"
	"github.com/vitrine-dev/vitrine/storage/storagetest"
)

func TestValidateKey(t *testing.T) {
	for _, key := range storagetest.ValidKeys {
		if err := storage.ValidateKey(key); err != nil {
			t.Errorf("ValidateKey(%q) = %v, want nil", key, err)
		}
	}
	for _, key := range storagetest.InvalidKeys {
		if err := storage.ValidateKey(key); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("ValidateKey(%q) = %v, want ErrInvalidKey", key, err)
		}
	}
}

func TestContentKey(t *testing.T) {
	sum := sha256.Sum256([]byte("hello"))
	const hex = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
	for _, c := range []struct{ prefix, ext, want string }{
		{"originals", "jpg", "originals/2c/" + hex + ".jpg"},
		{"thumbs/256", "webp", "thumbs/256/2c/" + hex + ".webp"},
		{"originals", "", "originals/2c/" + hex},
		{"", "png", "2c/" + hex + ".png"},
	} {
		got := storage.ContentKey(c.prefix, sum[:], c.ext)
		if got != c.want {
			t.Errorf("ContentKey(%q, sum, %q) = %q, want %q", c.prefix, c.ext, got, c.want)
		}
		if err := storage.ValidateKey(got); err != nil {
			t.Errorf("ContentKey result invalid: %v", err)
		}
	}
}

// FuzzValidateKey checks that every key ValidateKey accepts stays inside a
// root directory when joined under it, and names no hidden file.
func FuzzValidateKey(f *testing.F) {
	for _, k := range storagetest.InvalidKeys {
		f.Add(k)
	}
	for _, k := range storagetest.ValidKeys {
		f.Add(k)
	}
	root := filepath.Join(f.TempDir(), "root")
	f.Fuzz(func(t *testing.T, key string) {
		err := storage.ValidateKey(key)
		if err != nil {
			if !errors.Is(err, storage.ErrInvalidKey) {
				t.Fatalf("ValidateKey(%q) = %v, not wrapping ErrInvalidKey", key, err)
			}
			return
		}
		if key == "" || len(key) > storage.MaxKeyLen {
			t.Fatalf("ValidateKey accepted %q of length %d", key, len(key))
		}
		segments := strings.Split(key, "/")
		if slices.Contains(segments, "..") || slices.Contains(segments, ".") || slices.Contains(segments, "") {
			t.Fatalf("ValidateKey accepted %q with a '.', '..' or empty segment", key)
		}
		for _, s := range segments {
			if strings.HasPrefix(s, ".") || strings.ContainsAny(s, "\\:%\x00") {
				t.Fatalf("ValidateKey accepted %q with segment %q", key, s)
			}
		}
		p := filepath.Join(root, filepath.FromSlash(key))
		rel, err := filepath.Rel(root, p)
		if err != nil || !filepath.IsLocal(rel) || !strings.HasPrefix(p, root+string(filepath.Separator)) {
			t.Fatalf("key %q joined under %q gives %q, outside the root", key, root, p)
		}
		if rel != filepath.FromSlash(key) {
			t.Fatalf("key %q joined under the root is %q, not the key itself", key, rel)
		}
		if slices.Contains(strings.Split(filepath.ToSlash(rel), "/"), "..") {
			t.Fatalf("key %q gives path %q with a '..' segment", key, rel)
		}
	})
}
