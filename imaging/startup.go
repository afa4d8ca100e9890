package imaging

/*
#cgo pkg-config: vips
#include "vips.h"
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/semaphore"
)

// Config sets how libvips runs and how many images are processed at once.
type Config struct {
	// Concurrency is the number of libvips worker threads per operation. Zero means 1: a
	// job server gets its parallelism from MaxJobs, one image per core, which is cheaper
	// than splitting each image across threads.
	Concurrency int
	// CacheMaxMem is the memory, in bytes, of libvips' operation cache. Zero, the default,
	// turns the cache off: each original is decoded once, so cached operations are never
	// reused and would only hold memory.
	CacheMaxMem int64
	// MaxJobs is how many Process calls may run at once; callers beyond that wait. Zero
	// means runtime.NumCPU().
	MaxJobs int
	// MemoryBudget, when positive, is the memory in bytes that the Processor's jobs may be
	// expected to use at once: each job is admitted only when its estimate (from the
	// original's header: pixels, bands, bit depth, progressive or not, format) fits in what
	// the running jobs leave of the budget; a job estimated above the whole budget runs
	// alone. Zero admits by MaxJobs only.
	MemoryBudget int64
	// MaxPixels is the largest original, in pixels (width × height), that Process accepts;
	// larger ones fail with ErrTooLarge. Zero means 100 million.
	MaxPixels int64
	// Logger receives libvips' warnings and messages. Nil means slog.Default(); pass a
	// logger with slog.DiscardHandler to silence them. Since libvips is process-wide, the
	// logger of the first Start is the one used.
	Logger *slog.Logger
	// Observe, when set, is told of each step of every Process call as it ends (for metrics
	// and traces); it must be quick and safe for concurrent use.
	Observe func(ctx context.Context, s Step)
}

const defaultMaxPixels = 100_000_000

func (c Config) withDefaults() Config {
	if c.Concurrency == 0 {
		c.Concurrency = 1
	}
	if c.MaxJobs == 0 {
		c.MaxJobs = runtime.NumCPU()
	}
	if c.MaxPixels == 0 {
		c.MaxPixels = defaultMaxPixels
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

func (c Config) validate() error {
	var errs []error
	if c.Concurrency < 0 {
		errs = append(errs, fmt.Errorf("concurrency %d is negative", c.Concurrency))
	}
	if c.CacheMaxMem < 0 {
		errs = append(errs, fmt.Errorf("cache max mem %d is negative", c.CacheMaxMem))
	}
	if c.MaxJobs < 0 {
		errs = append(errs, fmt.Errorf("max jobs %d is negative", c.MaxJobs))
	}
	if c.MemoryBudget < 0 {
		errs = append(errs, fmt.Errorf("memory budget %d is negative", c.MemoryBudget))
	}
	if c.MaxPixels < 0 {
		errs = append(errs, fmt.Errorf("max pixels %d is negative", c.MaxPixels))
	}
	return errors.Join(errs...)
}

// libvips is the one piece of process-wide state: libvips itself is global, can be
// initialised once and cannot be started again after it is shut down.
var libvips struct {
	once        sync.Once
	err         error
	concurrency int
	cacheMaxMem int64
	logger      atomic.Pointer[slog.Logger] // read by vitrineLog on libvips' threads
}

// Processor makes thumbnail variants. It is safe for concurrent use; at most
// Config.MaxJobs calls to Process or ProcessFile run at once, the others wait. Make one
// with Start: the zero Processor is not usable.
type Processor struct {
	cfg  Config
	sem  chan struct{}
	mem  *semaphore.Weighted // nil without a MemoryBudget
	tune tuning

	mu       sync.Mutex
	closed   bool
	inflight sync.WaitGroup

	running     atomic.Int32 // jobs holding a slot
	peakRunning atomic.Int32 // the most jobs that ever held a slot at once
	held        atomic.Int64 // memory estimates of the jobs admitted, in bytes
	peakHeld    atomic.Int64 // the most that held ever was
}

// Start initialises libvips once for the process with cfg and returns a Processor.
//
// The first call sets libvips' concurrency and operation cache, blocks its untrusted
// loaders and every loader but JPEG, PNG, WebP, HEIF/AVIF, TIFF and GIF, and routes its
// log messages to cfg.Logger. A later call returns a new Processor, with its own MaxJobs
// and MaxPixels, on the same libvips; it fails if it asks for a different Concurrency or
// CacheMaxMem, since those are process-wide. Start fails if cfg has a negative field or
// libvips cannot be initialised.
func Start(cfg Config) (*Processor, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("imaging: invalid config: %w", err)
	}
	cfg = cfg.withDefaults()
	libvips.once.Do(func() { libvips.err = startLibvips(cfg) })
	if libvips.err != nil {
		return nil, libvips.err
	}
	if cfg.Concurrency != libvips.concurrency || cfg.CacheMaxMem != libvips.cacheMaxMem {
		return nil, fmt.Errorf("imaging: libvips already started with concurrency %d and cache %d bytes, asked for %d and %d",
			libvips.concurrency, libvips.cacheMaxMem, cfg.Concurrency, cfg.CacheMaxMem)
	}
	p := &Processor{cfg: cfg, sem: make(chan struct{}, cfg.MaxJobs), tune: defaultTuning}
	if cfg.MemoryBudget > 0 {
		p.mem = semaphore.NewWeighted(cfg.MemoryBudget)
	}
	return p, nil
}

func startLibvips(cfg Config) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	libvips.logger.Store(cfg.Logger)
	debug := 0
	if cfg.Logger.Enabled(context.Background(), slog.LevelDebug) {
		debug = 1
	}
	C.vitrine_route_logging(C.int(debug))
	if C.vitrine_start(C.int(cfg.Concurrency), C.size_t(cfg.CacheMaxMem)) != 0 {
		return fmt.Errorf("imaging: starting libvips: %s", vipsErrorMessage())
	}
	libvips.concurrency = cfg.Concurrency
	libvips.cacheMaxMem = cfg.CacheMaxMem
	cfg.Logger.Info("libvips started",
		slog.String("version", C.GoString(C.vips_version_string())),
		slog.Int("concurrency", cfg.Concurrency),
		slog.Int64("cache_max_mem", cfg.CacheMaxMem))
	return nil
}

// Close stops p accepting work and waits for the jobs already admitted to finish; later
// calls to Process fail with ErrClosed. It is safe to call more than once and from several
// goroutines. It does not shut libvips down: libvips cannot be restarted, and other
// Processors may share it, so it lives until the process exits.
func (p *Processor) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.inflight.Wait()
}

// admit registers a job with p, waits for a free slot and then for estimate bytes of the
// memory budget (all of it for a job estimated above the budget, which then runs alone), and
// returns the function that gives both back. Waiting jobs are admitted in order, so a large
// job is not starved by smaller ones behind it. It fails with ErrClosed after Close, and with
// ctx's error if ctx ends first.
func (p *Processor) admit(ctx context.Context, estimate int64) (release func(), err error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	p.inflight.Add(1)
	p.mu.Unlock()

	if err := ctx.Err(); err != nil {
		p.inflight.Done()
		return nil, err
	}
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		p.inflight.Done()
		return nil, ctx.Err()
	}
	weight := int64(0)
	if p.mem != nil {
		weight = min(estimate, p.cfg.MemoryBudget)
		if err := p.mem.Acquire(ctx, weight); err != nil {
			<-p.sem
			p.inflight.Done()
			return nil, err
		}
	}
	raise(&p.peakRunning, p.running.Add(1))
	raise64(&p.peakHeld, p.held.Add(weight))
	return func() {
		p.held.Add(-weight)
		p.running.Add(-1)
		releaseFreedMemory()
		if p.mem != nil {
			p.mem.Release(weight)
		}
		<-p.sem
		p.inflight.Done()
	}, nil
}

// raise makes peak at least n.
func raise(peak *atomic.Int32, n int32) {
	for old := peak.Load(); n > old && !peak.CompareAndSwap(old, n); old = peak.Load() {
	}
}

func raise64(peak *atomic.Int64, n int64) {
	for old := peak.Load(); n > old && !peak.CompareAndSwap(old, n); old = peak.Load() {
	}
}
