package storagetest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/vitrine-dev/vitrine/storage"
)

var listTests = []test{
	{"Order", testListOrder},
	{"PrefixAndAfter", testListPrefixAndAfter},
	{"Info", testListInfo},
	{"Empty", testListEmpty},
	{"AfterDeletes", testListAfterDeletes},
	{"Break", testListBreak},
	{"Pages", testListPages},
	{"CanceledContext", testListCanceled},
}

// trickyKeys are keys whose byte order differs from a naive walk of a
// directory tree: '-' < '.' < '/' < '0' < '_' < 'a'. None of them is a
// prefix of another followed by '/', so that backends with real
// directories can hold them all.
var trickyKeys = []string{
	"a-", "a.b", "a/x", "a/y.z", "a/y/1", "a/y/2/3", "a0", "a_", "ab/c", "b",
	"originals/a.jpg", "originals/ab/abc.jpg", "originals/ab/abd.jpg",
	"originals/ac/x.jpg", "originals/b/x", "z/z/z/z/z",
}

// putTricky stores trickyKeys, each with a distinct size, and returns them
// sorted.
func putTricky(t *testing.T, s storage.Store) []string {
	t.Helper()
	for i, k := range trickyKeys {
		Put(t, s, k, pattern(i+1))
	}
	return slices.Sorted(slices.Values(trickyKeys))
}

// expect returns the keys of sorted that List(prefix, after) must yield.
func expect(sorted []string, prefix, after string) []string {
	var want []string
	for _, k := range sorted {
		if strings.HasPrefix(k, prefix) && k > after {
			want = append(want, k)
		}
	}
	return want
}

func testListOrder(t *testing.T, s storage.Store) {
	want := putTricky(t, s)
	if got := keys(list(t, s, "", "")); !slices.Equal(got, want) {
		t.Errorf("List = %q\nwant   %q", got, want)
	}
}

func testListPrefixAndAfter(t *testing.T, s storage.Store) {
	sorted := putTricky(t, s)
	prefixes := []string{
		"", "a", "a/", "a/y", "a/y/", "a.", "a-", "a0", "b", "originals",
		"originals/", "originals/a", "originals/ab", "originals/ab/",
		"originals/ab/abc.jpg", "nothing", "nothing/", "z/z/",
	}
	afters := append([]string{
		"", "0", "a", "a/", "a/y", "a/y/", "a/y/1x", "a/y/2", "a/y/2/3/4",
		"a.", "a/\xff", "originals/", "originals/a", "originals/b", "zz", "~",
	}, sorted...)
	for _, prefix := range prefixes {
		for _, after := range afters {
			got := keys(list(t, s, prefix, after))
			if want := expect(sorted, prefix, after); !slices.Equal(got, want) {
				t.Errorf("List(%q, %q) = %q\nwant %q", prefix, after, got, want)
			}
		}
	}
}

func testListInfo(t *testing.T, s storage.Store) {
	putTricky(t, s)
	for _, info := range list(t, s, "", "") {
		st, err := s.Stat(context.Background(), info.Key)
		if err != nil {
			t.Fatalf("Stat(%q): %v", info.Key, err)
		}
		if i := slices.Index(trickyKeys, info.Key); info.Size != int64(i+1) {
			t.Errorf("List reports %q with size %d, want %d", info.Key, info.Size, i+1)
		}
		if st.Size != info.Size || st.ETag != info.ETag || !st.ModTime.Equal(info.ModTime) {
			t.Errorf("List reports %+v, Stat %+v", info, st)
		}
	}
}

func testListEmpty(t *testing.T, s storage.Store) {
	for _, prefix := range []string{"", "a", "a/", "originals/ab/"} {
		if got := list(t, s, prefix, ""); len(got) != 0 {
			t.Errorf("List(%q) on an empty store = %+v", prefix, got)
		}
	}
}

func testListAfterDeletes(t *testing.T, s storage.Store) {
	sorted := putTricky(t, s)
	for _, k := range sorted {
		if k != "a/y/1" {
			if err := s.Delete(context.Background(), k); err != nil {
				t.Fatalf("Delete(%q): %v", k, err)
			}
		}
	}
	for _, prefix := range []string{"", "a", "a/y/", "originals/"} {
		got := keys(list(t, s, prefix, ""))
		if want := expect([]string{"a/y/1"}, prefix, ""); !slices.Equal(got, want) {
			t.Errorf("List(%q) after deletes = %q, want %q", prefix, got, want)
		}
	}
}

func testListBreak(t *testing.T, s storage.Store) {
	sorted := putTricky(t, s)
	var got []string
	for info, err := range s.List(context.Background(), "", "") {
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		got = append(got, info.Key)
		if len(got) == 3 {
			break
		}
	}
	if !slices.Equal(got, sorted[:3]) {
		t.Errorf("first three keys = %q, want %q", got, sorted[:3])
	}
}

func testListPages(t *testing.T, s storage.Store) {
	sorted := putTricky(t, s)
	var got []string
	after := ""
	for page := 0; page <= len(sorted); page++ {
		n := 0
		for info, err := range s.List(context.Background(), "", after) {
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			got = append(got, info.Key)
			after = info.Key
			if n++; n == 3 {
				break
			}
		}
		if n == 0 {
			break
		}
	}
	if !slices.Equal(got, sorted) {
		t.Errorf("paged List = %q\nwant %q", got, sorted)
	}
}

func testListCanceled(t *testing.T, s storage.Store) {
	putTricky(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var last error
	n := 0
	for _, err := range s.List(ctx, "", "") {
		if last != nil {
			t.Fatalf("List yielded after the error %v", last)
		}
		last = err
		n++
	}
	if !errors.Is(last, context.Canceled) {
		t.Errorf("List with canceled context ended with %v after %d results, want context.Canceled", last, n)
	}
}
