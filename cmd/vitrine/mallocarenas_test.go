package main

import (
	"bytes"
	"fmt"
	"os"
	"testing"
)

// TestServeBindsMallocArenas checks that a `vitrine serve` process runs with glibc's malloc
// arenas bounded (MALLOC_ARENA_MAX=2 in its own environment, which glibc reads at start),
// and that a value the operator set is kept.
func TestServeBindsMallocArenas(t *testing.T) {
	t.Parallel()
	inherited := mallocArenaMax // what a serve process started from this one's environment gets
	if v, ok := os.LookupEnv("MALLOC_ARENA_MAX"); ok {
		inherited = v
	}
	for _, tc := range []struct{ set, want string }{{"", inherited}, {"4", "4"}} {
		envs := map[string]string{}
		if tc.set != "" {
			envs["MALLOC_ARENA_MAX"] = tc.set
		}
		s := startServeProcess(t, envs)
		environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", s.proc.Pid))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, kv := range bytes.Split(environ, []byte{0}) {
			if v, ok := bytes.CutPrefix(kv, []byte("MALLOC_ARENA_MAX=")); ok {
				got = append(got, string(v))
			}
		}
		if len(got) != 1 || got[0] != tc.want {
			t.Errorf("MALLOC_ARENA_MAX set to %q: the serve process runs with %q, want exactly %q", tc.set, got, tc.want)
		}
	}
}
