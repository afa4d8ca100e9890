package storagetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/vitrine-dev/vitrine/storage"
)

var stressTests = []test{
	{"ConcurrentSameKey", testConcurrentSameKey},
	{"LargeObject", testLargeObject},
}

// ConcurrentCommits is how many goroutines commit the same key at once in
// the ConcurrentSameKey test.
const ConcurrentCommits = 32

// CommitConcurrently has ConcurrentCommits goroutines write data and commit
// it under key at the same time, and fails the test if any of them fails.
// Backends' own tests use it to check for leftovers afterwards.
func CommitConcurrently(t testing.TB, s storage.Store, key string, data []byte) {
	t.Helper()
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make(chan error, ConcurrentCommits)
	)
	for range ConcurrentCommits {
		wg.Go(func() {
			ctx := context.Background()
			w, err := s.NewWriter(ctx)
			if err != nil {
				errs <- err
				return
			}
			<-start
			if _, err := w.Write(data); err != nil {
				w.Abort()
				errs <- err
				return
			}
			if err := w.Commit(ctx, key); err != nil {
				errs <- err
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent commit of %q: %v", key, err)
	}
}

func testConcurrentSameKey(t *testing.T, s storage.Store) {
	const key = "originals/ff/concurrent.jpg"
	data := pattern(256 << 10)
	CommitConcurrently(t, s, key, data)
	checkContent(t, s, key, data)
	if ks := keys(list(t, s, "", "")); len(ks) != 1 || ks[0] != key {
		t.Errorf("List = %q, want [%q]", ks, key)
	}
}

// largeSize is the size of the object of the LargeObject test.
const largeSize = 20 << 20

// randomReader returns n deterministic pseudo-random bytes.
func randomReader(n int64) io.Reader {
	return io.LimitReader(rand.NewChaCha8([32]byte{'v', 'i', 't', 'r', 'i', 'n', 'e'}), n)
}

func testLargeObject(t *testing.T, s storage.Store) {
	ctx := context.Background()
	const key = "large/object.bin"
	w, err := s.NewWriter(ctx)
	if err != nil {
		t.Fatalf("NewWriter: %v", err)
	}
	defer w.Abort()
	want := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, want), randomReader(largeSize))
	if err != nil || n != largeSize {
		t.Fatalf("streaming %d bytes: copied %d, %v", largeSize, n, err)
	}
	if err := w.Commit(ctx, key); err != nil {
		t.Fatalf("Commit: %v", err)
	}

	r, info, err := s.Open(ctx, key, 0, -1)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	got := sha256.New()
	n, err = io.Copy(got, r)
	r.Close()
	if err != nil || n != largeSize || info.Size != largeSize {
		t.Fatalf("reading back: %d bytes (size %d), %v; want %d", n, info.Size, err, largeSize)
	}
	if !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Fatalf("content read back differs from content written")
	}

	// A range deep inside the object.
	const offset, length = 15<<20 + 12345, 1 << 20
	src := randomReader(largeSize)
	if _, err := io.CopyN(io.Discard, src, offset); err != nil {
		t.Fatal(err)
	}
	wantRange := make([]byte, length)
	if _, err := io.ReadFull(src, wantRange); err != nil {
		t.Fatal(err)
	}
	if gotRange, _ := read(t, s, key, offset, length); !bytes.Equal(gotRange, wantRange) {
		t.Errorf("range [%d, +%d) differs from the content written", offset, length)
	}
}
