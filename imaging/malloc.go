package imaging

/*
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
static void vitrine_malloc_trim(void) { malloc_trim(0); }
#else
static void vitrine_malloc_trim(void) {}
#endif
*/
import "C"

// releaseFreedMemory returns the memory that a finished job freed to the operating system
// (glibc's malloc_trim), so that its peak does not stay resident in malloc's arenas until
// another job reuses it. It does nothing with another C library. How many arenas glibc makes
// is set where the process starts (MALLOC_ARENA_MAX): `vitrine serve` and `vitrine work` see
// to it.
func releaseFreedMemory() { C.vitrine_malloc_trim() }
