package main

import (
	"errors"
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// byteUnits are the suffixes parseBytes accepts, as GOMEMLIMIT does.
var byteUnits = []struct {
	suffix string
	mult   int64
}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}

// parseBytes reads a size in bytes: a whole number with an optional suffix B, KiB, MiB, GiB
// or TiB.
func parseBytes(v string) (int64, error) {
	mult := int64(1)
	for _, u := range byteUnits {
		if n, ok := strings.CutSuffix(v, u.suffix); ok {
			v, mult = n, u.mult
			break
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, errors.New("not a number of bytes (such as 268435456 or 256MiB)")
	}
	if n > math.MaxInt64/mult {
		return 0, errors.New("too large")
	}
	return n * mult, nil
}

// setMemoryLimit gives the Go runtime the soft memory limit of cfg, unless GOMEMLIMIT set
// one already (the runtime read it at start), and logs the limit in effect.
func setMemoryLimit(cfg config, getenv func(string) string, log *slog.Logger) {
	source := "GOMEMLIMIT"
	if getenv("GOMEMLIMIT") == "" && os.Getenv("GOMEMLIMIT") == "" {
		source = "VITRINE_MEMORY_LIMIT"
		limit := cfg.MemoryLimit
		if limit == 0 {
			limit = math.MaxInt64
		}
		debug.SetMemoryLimit(limit)
	}
	limit := debug.SetMemoryLimit(-1)
	if limit == math.MaxInt64 {
		log.Info("go memory limit", "limit", "none", "from", source)
		return
	}
	log.Info("go memory limit", "limit_mib", limit>>20, "from", source)
}
