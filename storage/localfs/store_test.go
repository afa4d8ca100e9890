package localfs_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/storage"
	"github.com/vitrine-dev/vitrine/storage/localfs"
	"github.com/vitrine-dev/vitrine/storage/storagetest"
)

func newLocal(t testing.TB, dir string) *localfs.Store {
	t.Helper()
	l, err := localfs.New(dir)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestLocalConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		return newLocal(t, t.TempDir())
	})
}

func TestNew(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	l := newLocal(t, dir)
	if fi, err := os.Stat(filepath.Join(dir, ".tmp")); err != nil || !fi.IsDir() {
		t.Fatalf("New did not create .tmp: %v", err)
	}
	storagetest.Put(t, l, "x/y.jpg", []byte("hello"))
	// Reopening an existing store sees its objects.
	l2 := newLocal(t, dir)
	if info, err := l2.Stat(context.Background(), "x/y.jpg"); err != nil || info.Size != 5 {
		t.Errorf("Stat after reopening = %+v, %v", info, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "x", "y.jpg")); err != nil {
		t.Errorf("key does not map to its relative path: %v", err)
	}

	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if l, err := localfs.New(file); err == nil {
		l.Close()
		t.Errorf("New on a regular file succeeded")
	}
}

// tempFiles returns the names of the files in the store's temporary
// directory.
func tempFiles(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, ".tmp"))
	if err != nil {
		t.Fatalf("reading .tmp: %v", err)
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names
}

func TestLocalTempDirStaysEmpty(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l := newLocal(t, dir)
	check := func(when string) {
		t.Helper()
		if names := tempFiles(t, dir); len(names) != 0 {
			t.Errorf("after %s, .tmp holds %q", when, names)
		}
	}

	w, _ := l.NewWriter(ctx)
	io.WriteString(w, "aborted")
	if len(tempFiles(t, dir)) != 1 {
		t.Errorf("a pending writer has no file in .tmp")
	}
	w.Abort()
	check("Abort")

	w, _ = l.NewWriter(ctx)
	io.WriteString(w, "bad key")
	if err := w.Commit(ctx, "../bad"); err == nil {
		t.Fatal("Commit(../bad) succeeded")
	}
	check("a Commit with an invalid key")

	w, _ = l.NewWriter(ctx)
	io.WriteString(w, "canceled")
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if err := w.Commit(canceled, "canceled"); err == nil {
		t.Fatal("Commit with a canceled context succeeded")
	}
	check("a Commit with a canceled context")

	// A Commit failing in the file system: the parent is an object.
	storagetest.Put(t, l, "file", []byte("x"))
	w, _ = l.NewWriter(ctx)
	io.WriteString(w, "under a file")
	if err := w.Commit(ctx, "file/child"); err == nil {
		t.Fatal("Commit(file/child) succeeded")
	}
	check("a Commit failing to create the parent")

	storagetest.Put(t, l, "x/y", []byte("data"))
	storagetest.Put(t, l, "x/y", []byte("data"))
	check("Commits")

	storagetest.CommitConcurrently(t, l, "originals/ab/same.jpg", []byte(strings.Repeat("same bytes ", 10000)))
	check("concurrent Commits of the same key")
}

func TestLocalCleanTemp(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l := newLocal(t, dir)
	stale, _ := l.NewWriter(ctx)
	io.WriteString(stale, "stale")
	old := time.Now().Add(-2 * time.Hour)
	for _, name := range tempFiles(t, dir) {
		if err := os.Chtimes(filepath.Join(dir, ".tmp", name), old, old); err != nil {
			t.Fatal(err)
		}
	}
	fresh, _ := l.NewWriter(ctx)
	io.WriteString(fresh, "fresh")

	n, err := l.CleanTemp(time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("CleanTemp = %d, %v; want 1, nil", n, err)
	}
	if names := tempFiles(t, dir); len(names) != 1 {
		t.Errorf("after CleanTemp, .tmp holds %q, want the fresh writer's file", names)
	}
	if err := stale.Commit(ctx, "stale"); err == nil {
		t.Errorf("Commit of a cleaned writer succeeded")
	}
	if err := stale.Abort(); err != nil {
		t.Errorf("Abort of a cleaned writer: %v", err)
	}
	if err := fresh.Commit(ctx, "fresh"); err != nil {
		t.Errorf("Commit of the fresh writer: %v", err)
	}
	if n, err := l.CleanTemp(0); err != nil || n != 0 {
		t.Errorf("CleanTemp on an empty .tmp = %d, %v", n, err)
	}
	if names := tempFiles(t, dir); len(names) != 0 {
		t.Errorf(".tmp holds %q", names)
	}
}

func TestLocalListSkipsForeignEntries(t *testing.T) {
	dir := t.TempDir()
	l := newLocal(t, dir)
	storagetest.Put(t, l, "a/ok.jpg", []byte("ok"))
	for _, name := range []string{"UPPER.jpg", ".hidden", "a/.x", "a/B/c.jpg", "a/sp ace"} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("foreign"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("ok.jpg", filepath.Join(dir, "a", "link.jpg")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(".", filepath.Join(dir, "a", "loop")); err != nil {
		t.Fatal(err)
	}
	var got []string
	for info, err := range l.List(context.Background(), "", "") {
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		got = append(got, info.Key)
	}
	if len(got) != 1 || got[0] != "a/ok.jpg" {
		t.Errorf("List = %q, want [a/ok.jpg]", got)
	}
}

func TestLocalDeleteKeepsSiblings(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l := newLocal(t, dir)
	storagetest.Put(t, l, "originals/ab/1.jpg", []byte("1"))
	storagetest.Put(t, l, "originals/ab/2.jpg", []byte("2"))
	if err := l.Delete(ctx, "originals/ab/1.jpg"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Stat(ctx, "originals/ab/2.jpg"); err != nil {
		t.Errorf("sibling lost: %v", err)
	}
	if _, err := l.Stat(ctx, "originals/ab/1.jpg"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Stat of deleted key: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".tmp")); err != nil {
		t.Errorf(".tmp lost: %v", err)
	}
}
