package storagetest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vitrine-dev/vitrine/storage"
)

var keyTests = []test{
	{"InvalidKeysRefused", testInvalidKeysRefused},
	{"InvalidPrefixesRefused", testInvalidPrefixesRefused},
	{"ValidKeysAccepted", testValidKeysAccepted},
}

// InvalidKeys are keys that every Store method must refuse with
// storage.ErrInvalidKey: path traversal, absolute paths, encoded or
// alternative separators, hidden names, and characters outside
// [a-z0-9._-].
var InvalidKeys = []string{
	"", ".", "..", "../x", "../../etc/passwd", "/etc/passwd", "/a", "a/",
	"a/../../b", "a/..", "a/./b", "a//b", "%2e%2e/x", "a%2fb", "a\\b",
	"..\\x", "a\x00b", "\x00", ".tmp", ".tmp/x", "a/.hidden", ".a",
	"A", "a/B.jpg", "a b", "a\tb", "a\nb", "é", "a:b", "c:/x", "~/x",
	"a?b", "a*b", "a%00", strings.Repeat("a", storage.MaxKeyLen+1),
}

// ValidKeys are unusual keys that every Store must accept.
var ValidKeys = []string{
	"a", "0", "-", "_", "a.", "a..b", "a-b_c.d", "x/y/z", "a.b/c..d/e",
	"originals/ab/" + strings.Repeat("ab", 32) + ".jpg",
	strings.Repeat("l/", storage.MaxKeyLen/2-1) + "bb", // exactly MaxKeyLen bytes,
}

func testInvalidKeysRefused(t *testing.T, s storage.Store) {
	ctx := context.Background()
	for _, key := range InvalidKeys {
		if err := storage.ValidateKey(key); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("ValidateKey(%q) = %v, want ErrInvalidKey", key, err)
		}
		r, _, err := s.Open(ctx, key, 0, -1)
		if err == nil {
			r.Close()
		}
		if !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("Open(%q) error = %v, want ErrInvalidKey", key, err)
		}
		if _, err := s.Stat(ctx, key); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("Stat(%q) error = %v, want ErrInvalidKey", key, err)
		}
		if err := s.Delete(ctx, key); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("Delete(%q) error = %v, want ErrInvalidKey", key, err)
		}
		w := newWriter(t, s, []byte("payload"))
		if err := w.Commit(ctx, key); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("Commit(%q) error = %v, want ErrInvalidKey", key, err)
		}
	}
	if got := list(t, s, "", ""); len(got) != 0 {
		t.Errorf("List after refused commits = %+v, want none", got)
	}
}

func testInvalidPrefixesRefused(t *testing.T, s storage.Store) {
	Put(t, s, "a/b", pattern(1))
	for _, prefix := range []string{
		"/", "//", "/a", "a//", "../", "..", "../a", "a/../", "./", ".tmp/",
		"%2e%2e/", "a%2f", "a\\", "A", "a\x00", strings.Repeat("a", storage.MaxKeyLen+1),
	} {
		var errs []error
		for info, err := range s.List(context.Background(), prefix, "") {
			if err == nil {
				t.Errorf("List(%q) yielded %+v", prefix, info)
				continue
			}
			errs = append(errs, err)
		}
		if len(errs) != 1 || !errors.Is(errs[0], storage.ErrInvalidKey) {
			t.Errorf("List(%q) errors = %v, want one ErrInvalidKey", prefix, errs)
		}
	}
}

func testValidKeysAccepted(t *testing.T, s storage.Store) {
	for i, key := range ValidKeys {
		if err := storage.ValidateKey(key); err != nil {
			t.Fatalf("ValidateKey(%q) = %v", key, err)
		}
		Put(t, s, key, pattern(i))
		checkContent(t, s, key, pattern(i))
	}
}
