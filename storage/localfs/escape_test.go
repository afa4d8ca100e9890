package localfs_test

import (
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitrine-dev/vitrine/storage"
	"github.com/vitrine-dev/vitrine/storage/storagetest"
)

// snapshot records every path under base except root, with the content of
// files and the target of symbolic links.
func snapshot(t *testing.T, base, root string) map[string]string {
	t.Helper()
	snap := map[string]string{}
	err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return filepath.SkipDir
		}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			snap[p] = "link:" + target
			return err
		case d.IsDir():
			snap[p] = "dir"
		default:
			b, err := os.ReadFile(p)
			snap[p] = "file:" + string(b)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func checkSnapshot(t *testing.T, before, after map[string]string) {
	t.Helper()
	for p, v := range before {
		if after[p] != v {
			t.Errorf("%s changed from %q to %q", p, v, after[p])
		}
	}
	for p, v := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("%s (%q) appeared outside the root", p, v)
		}
	}
}

// attack tries every Store operation on key and fails the test if any of
// them succeeds in reading the secret.
func attack(t *testing.T, s storage.Store, key, secret string) {
	t.Helper()
	ctx := context.Background()
	if r, _, err := s.Open(ctx, key, 0, -1); err == nil {
		b, _ := io.ReadAll(r)
		r.Close()
		if strings.Contains(string(b), secret) {
			t.Errorf("Open(%q) read the secret", key)
		}
	}
	s.Stat(ctx, key)
	s.Delete(ctx, key)
	storage.Put(ctx, s, key, []byte("overwritten"))
	for info := range s.List(ctx, key, "") {
		if strings.Contains(info.Key, "secret") {
			t.Errorf("List(%q) yielded %q", key, info.Key)
		}
	}
}

func TestLocalTraversalStaysInside(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "root")
	const secret = "top secret"
	for _, name := range []string{"sibling/secret", "x", "b", "passwd"} {
		p := filepath.Join(base, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(secret), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	l := newLocal(t, root)
	before := snapshot(t, base, root)

	keys := append([]string{
		"../sibling/secret", "../x", "../b", "../passwd", "a/../../b", "..%2fx",
		"../sibling/new", "root/../../x", filepath.Join(base, "x"),
	}, storagetest.InvalidKeys...)
	for _, key := range keys {
		if err := storage.ValidateKey(key); err == nil {
			t.Fatalf("ValidateKey(%q) accepted a traversal", key)
		}
		attack(t, l, key, secret)
	}
	checkSnapshot(t, before, snapshot(t, base, root))
}

func TestLocalSymlinkEscape(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	root := filepath.Join(base, "root")
	sibling := filepath.Join(base, "sibling")
	const secret = "top secret"
	if err := os.MkdirAll(sibling, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sibling, "secret"), []byte(secret), 0o644); err != nil {
		t.Fatal(err)
	}
	l := newLocal(t, root)
	links := map[string]string{
		"abs":         sibling,
		"rel":         "../sibling",
		"abs.jpg":     filepath.Join(sibling, "secret"),
		"rel.jpg":     "../sibling/secret",
		"d/deep.jpg":  "../../sibling/secret",
		"d/deep":      "../../sibling",
		"d/dangling":  "../../sibling/none",
		"d/dangling2": filepath.Join(sibling, "none"),
	}
	for name, target := range links {
		p := filepath.Join(root, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	before := snapshot(t, base, root)

	for _, key := range []string{"abs/secret", "rel/secret", "d/deep/secret", "abs.jpg", "rel.jpg", "d/deep.jpg"} {
		r, _, err := l.Open(ctx, key, 0, -1)
		if err == nil {
			r.Close()
			t.Errorf("Open(%q) followed a symbolic link out of the root", key)
		}
		if info, err := l.Stat(ctx, key); err == nil {
			t.Errorf("Stat(%q) = %+v through a symbolic link out of the root", key, info)
		}
	}
	for _, key := range []string{"abs/new.jpg", "rel/new.jpg", "d/deep/new.jpg", "abs/secret", "rel/sub/new.jpg", "d/dangling", "d/dangling2"} {
		if err := storage.Put(ctx, l, key, []byte("overwritten")); err == nil && !strings.HasPrefix(key, "d/dangling") {
			t.Errorf("Commit(%q) succeeded through a symbolic link out of the root", key)
		}
	}
	// Committing over a link to a file replaces the link, not its target.
	for _, key := range []string{"abs.jpg", "rel.jpg", "d/deep.jpg"} {
		attack(t, l, key, secret)
	}
	for _, key := range []string{"abs/secret", "rel/secret", "d/deep/secret"} {
		attack(t, l, key, secret)
	}
	checkSnapshot(t, before, snapshot(t, base, root))
}
