package main

import (
	"os"
	"syscall"
)

// mallocArenaMax is the MALLOC_ARENA_MAX that `vitrine serve` and `vitrine work` run with.
// glibc's malloc otherwise makes up to eight arenas per core for the threads that call it,
// and memory freed in one arena serves only that arena's threads, so thumbnail jobs that run
// one after another on different threads each leave their peak behind. bench/uploads
// measured 20 thumbnail jobs of 1680×1050 originals with 2 workers leaving `vitrine serve`
// at a peak of 173–290 MiB with glibc's default, and 117–199 MiB with two arenas.
const mallocArenaMax = "2"

// bindMallocArenas re-executes the process with MALLOC_ARENA_MAX set, for the commands that
// run libvips jobs (serve and work) when the environment does not set it already: glibc
// reads the variable when the process starts, before any code of Vitrine's could change the
// limit. It returns only if there was nothing to do, or the re-execution failed, in which
// case the process goes on with glibc's default.
func bindMallocArenas(args []string) {
	if len(args) == 0 || (args[0] != "serve" && args[0] != "work") {
		return
	}
	if _, set := os.LookupEnv("MALLOC_ARENA_MAX"); set {
		return
	}
	exe, err := os.Executable()
	if err != nil {
		return
	}
	_ = syscall.Exec(exe, os.Args, append(os.Environ(), "MALLOC_ARENA_MAX="+mallocArenaMax))
}
