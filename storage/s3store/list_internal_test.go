package s3store

import (
	"slices"
	"strings"
	"testing"
)

// startAfter gives S3 a StartAfter made of key bytes and '~' that selects
// exactly the keys after any string.
func TestStartAfter(t *testing.T) {
	t.Parallel()
	keys := []string{"-", "a", "a-", "a.b", "a/x", "a/y/1", "a0", "a_", "ab", "az", "b", "z/z", "zz"}
	slices.Sort(keys)
	afters := []string{"", "a", "a/", "a/\xff", "a\xff", "~", "a~", "A", "a/Y", "a ", "a\x00", "é", "aé", "a/y/1\xff", "zz\xff", "\x00"}
	for _, after := range afters {
		start := startAfter(after)
		for _, r := range start {
			if !strings.ContainsRune(keyBytes+"~", r) {
				t.Errorf("startAfter(%q) = %q holds %q", after, start, r)
			}
		}
		for _, k := range keys {
			if (k > after) != (k > start) {
				t.Errorf("startAfter(%q) = %q: key %q is after one and not the other", after, start, k)
			}
		}
	}
}
