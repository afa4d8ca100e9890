// Package storagetest is the conformance suite that every storage.Store
// implementation must pass.
//
// A backend's tests call Run with a function returning a new, empty store:
//
//	func TestConformance(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T) storage.Store { ... })
//	}
//
// The suite fixes the semantics that the storage.Store documentation leaves
// to be checked: in particular Open with an offset equal to the size yields
// an empty reader (so empty objects can be opened), and an offset beyond
// the size fails with storage.ErrInvalidRange.
package storagetest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/vitrine-dev/vitrine/storage"
)

// Run runs the conformance suite against the stores returned by newStore.
// newStore is called once per subtest, possibly from parallel subtests, and
// must return an empty store that stays usable until the subtest ends (it
// may register cleanups with t).
func Run(t *testing.T, newStore func(t *testing.T) storage.Store) {
	groups := []struct {
		name  string
		tests []test
	}{
		{"Objects", objectTests},
		{"Writer", writerTests},
		{"List", listTests},
		{"Keys", keyTests},
		{"Stress", stressTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.fn(t, newStore(t))
				})
			}
		})
	}
}

// test is one conformance test, run on a fresh store.
type test struct {
	name string
	fn   func(t *testing.T, s storage.Store)
}

// Put stores data under key in s with storage.Put, failing the test on error.
func Put(t testing.TB, s storage.Store, key string, data []byte) {
	t.Helper()
	if err := storage.Put(context.Background(), s, key, data); err != nil {
		t.Fatalf("storing %q: %v", key, err)
	}
}

// read returns the bytes of the range of key and the info Open returned.
func read(t testing.TB, s storage.Store, key string, offset, length int64) ([]byte, storage.ObjectInfo) {
	t.Helper()
	r, info, err := s.Open(context.Background(), key, offset, length)
	if err != nil {
		t.Fatalf("Open(%q, %d, %d): %v", key, offset, length, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("reading %q [%d, %d]: %v", key, offset, length, err)
	}
	return b, info
}

// list returns all the objects List yields, failing the test on error.
func list(t testing.TB, s storage.Store, prefix, after string) []storage.ObjectInfo {
	t.Helper()
	var infos []storage.ObjectInfo
	for info, err := range s.List(context.Background(), prefix, after) {
		if err != nil {
			t.Fatalf("List(%q, %q): %v", prefix, after, err)
		}
		infos = append(infos, info)
	}
	return infos
}

// keys returns the keys of infos.
func keys(infos []storage.ObjectInfo) []string {
	ks := make([]string, len(infos))
	for i, info := range infos {
		ks[i] = info.Key
	}
	return ks
}

// checkContent fails the test unless key holds exactly want.
func checkContent(t testing.TB, s storage.Store, key string, want []byte) {
	t.Helper()
	got, info := read(t, s, key, 0, -1)
	if !bytes.Equal(got, want) {
		t.Errorf("%q holds %d bytes %.16q..., want %d bytes %.16q...", key, len(got), got, len(want), want)
	}
	if info.Size != int64(len(want)) {
		t.Errorf("Open(%q) reports size %d, want %d", key, info.Size, len(want))
	}
}

// checkMissing fails the test unless Stat and Open report key as missing.
func checkMissing(t testing.TB, s storage.Store, key string) {
	t.Helper()
	ctx := context.Background()
	if info, err := s.Stat(ctx, key); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Stat(%q) = %+v, %v; want ErrNotFound", key, info, err)
	}
	r, _, err := s.Open(ctx, key, 0, -1)
	if err == nil {
		r.Close()
	}
	if !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Open(%q) error = %v, want ErrNotFound", key, err)
	}
}

// pattern returns n deterministic bytes that differ between positions.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}
