package storagetest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"testing"

	"github.com/vitrine-dev/vitrine/storage"
)

var writerTests = []test{
	{"Abort", testAbort},
	{"AbortAfterCommit", testAbortAfterCommit},
	{"CommitTwice", testCommitTwice},
	{"UncommittedInvisible", testUncommittedInvisible},
	{"ManySmallWrites", testManySmallWrites},
	{"InterleavedWriters", testInterleavedWriters},
	{"CommitExistingKey", testCommitExistingKey},
	{"FailedCommit", testFailedCommit},
}

// newWriter returns a new writer holding data, aborted at the end of the test.
func newWriter(t *testing.T, s storage.Store, data []byte) storage.Writer {
	t.Helper()
	w, err := s.NewWriter(context.Background())
	if err != nil {
		t.Fatalf("NewWriter: %v", err)
	}
	t.Cleanup(func() { w.Abort() })
	if n, err := w.Write(data); err != nil || n != len(data) {
		t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(data))
	}
	return w
}

// checkUnusable fails the test unless w refuses Write and Commit, and
// accepts Abort, as a committed or aborted writer must.
func checkUnusable(t *testing.T, w storage.Writer, key string) {
	t.Helper()
	if _, err := w.Write([]byte("x")); !errors.Is(err, fs.ErrClosed) {
		t.Errorf("Write on a finished writer: %v, want fs.ErrClosed", err)
	}
	if err := w.Commit(context.Background(), key); !errors.Is(err, fs.ErrClosed) {
		t.Errorf("Commit on a finished writer: %v, want fs.ErrClosed", err)
	}
	if err := w.Abort(); err != nil {
		t.Errorf("Abort on a finished writer: %v", err)
	}
}

func testAbort(t *testing.T, s storage.Store) {
	w := newWriter(t, s, pattern(5000))
	if err := w.Abort(); err != nil {
		t.Fatalf("Abort: %v", err)
	}
	if err := w.Abort(); err != nil {
		t.Errorf("second Abort: %v", err)
	}
	checkUnusable(t, w, "aborted.jpg")
	checkMissing(t, s, "aborted.jpg")
	if ks := keys(list(t, s, "", "")); len(ks) != 0 {
		t.Errorf("List after Abort = %q, want none", ks)
	}
}

func testAbortAfterCommit(t *testing.T, s storage.Store) {
	w := newWriter(t, s, pattern(10))
	if err := w.Commit(context.Background(), "kept.jpg"); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if err := w.Abort(); err != nil {
		t.Errorf("Abort after Commit: %v", err)
	}
	checkContent(t, s, "kept.jpg", pattern(10))
}

func testCommitTwice(t *testing.T, s storage.Store) {
	w := newWriter(t, s, pattern(10))
	if err := w.Commit(context.Background(), "once.jpg"); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	checkUnusable(t, w, "twice.jpg")
	checkMissing(t, s, "twice.jpg")
	checkContent(t, s, "once.jpg", pattern(10))
}

func testUncommittedInvisible(t *testing.T, s storage.Store) {
	Put(t, s, "visible.jpg", pattern(3))
	w := newWriter(t, s, pattern(1000))
	if ks := keys(list(t, s, "", "")); len(ks) != 1 || ks[0] != "visible.jpg" {
		t.Errorf("List with a pending writer = %q, want [visible.jpg]", ks)
	}
	checkMissing(t, s, "late.jpg")
	if err := w.Commit(context.Background(), "late.jpg"); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if ks := keys(list(t, s, "", "")); len(ks) != 2 || ks[0] != "late.jpg" || ks[1] != "visible.jpg" {
		t.Errorf("List after Commit = %q, want [late.jpg visible.jpg]", ks)
	}
	checkContent(t, s, "late.jpg", pattern(1000))
}

func testManySmallWrites(t *testing.T, s storage.Store) {
	data := pattern(10000)
	w := newWriter(t, s, nil)
	for i := 0; i < len(data); i += 7 {
		if _, err := w.Write(data[i:min(i+7, len(data))]); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	if err := w.Commit(context.Background(), "small/writes.bin"); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	checkContent(t, s, "small/writes.bin", data)
}

func testInterleavedWriters(t *testing.T, s storage.Store) {
	const n = 8
	ws := make([]storage.Writer, n)
	for i := range ws {
		ws[i] = newWriter(t, s, nil)
	}
	for round := range 3 {
		for i, w := range ws {
			if _, err := fmt.Fprintf(w, "writer %d round %d;", i, round); err != nil {
				t.Fatalf("Write: %v", err)
			}
		}
	}
	for i, w := range ws {
		if err := w.Commit(context.Background(), fmt.Sprintf("w/%d.txt", i)); err != nil {
			t.Fatalf("Commit: %v", err)
		}
	}
	for i := range ws {
		want := fmt.Sprintf("writer %d round 0;writer %d round 1;writer %d round 2;", i, i, i)
		checkContent(t, s, fmt.Sprintf("w/%d.txt", i), []byte(want))
	}
}

func testCommitExistingKey(t *testing.T, s storage.Store) {
	const key = "originals/ee/same.jpg"
	data := pattern(2048)
	Put(t, s, key, data)
	Put(t, s, key, data)
	checkContent(t, s, key, data)
	if ks := keys(list(t, s, "", "")); len(ks) != 1 || ks[0] != key {
		t.Errorf("List = %q, want [%q]", ks, key)
	}
}

func testFailedCommit(t *testing.T, s storage.Store) {
	w := newWriter(t, s, pattern(100))
	if err := w.Commit(context.Background(), "../escape.jpg"); !errors.Is(err, storage.ErrInvalidKey) {
		t.Errorf("Commit(invalid key) = %v, want ErrInvalidKey", err)
	}
	checkUnusable(t, w, "after-invalid.jpg")

	w = newWriter(t, s, pattern(100))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Commit(ctx, "canceled.jpg"); !errors.Is(err, context.Canceled) {
		t.Errorf("Commit with canceled context = %v, want context.Canceled", err)
	}
	checkUnusable(t, w, "canceled.jpg")
	checkMissing(t, s, "canceled.jpg")
	checkMissing(t, s, "after-invalid.jpg")
	if ks := keys(list(t, s, "", "")); len(ks) != 0 {
		t.Errorf("List after failed commits = %q, want none", ks)
	}
}
