package jobs

import (
	"context"
	"sync"
	"time"
)

// HostSlots bounds the requests in flight to each host in one process: webhook deliveries
// by host:port, import fetches by host name.
type HostSlots struct {
	perHost int
	mu      sync.Mutex
	busy    map[string]int
	freed   chan struct{} // closed, and replaced, when a slot of any host is given back
}

// NewHostSlots returns slots of perHost requests per host.
func NewHostSlots(perHost int) *HostSlots {
	return &HostSlots{perHost: max(perHost, 1), busy: map[string]int{}, freed: make(chan struct{})}
}

// acquire takes a slot of host, or reports false when they are all taken; release gives it
// back. Hosts without a request in flight take no memory.
func (h *HostSlots) acquire(host string) (release func(), ok bool) {
	release, ok, _ = h.tryAcquire(host)
	return release, ok
}

// tryAcquire is acquire, which also returns, when the slots are taken, a channel closed at
// the next release of any host's slot.
func (h *HostSlots) tryAcquire(host string) (release func(), ok bool, freed <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.busy[host] >= h.perHost {
		return nil, false, h.freed
	}
	h.busy[host]++
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.busy[host]--; h.busy[host] == 0 {
			delete(h.busy, host)
		}
		close(h.freed)
		h.freed = make(chan struct{})
	}, true, nil
}

// acquireWithin takes a slot of host, waiting up to wait for one to be given back when they
// are all taken; it reports false when none was free in time, or ctx ended.
func (h *HostSlots) acquireWithin(ctx context.Context, host string, wait time.Duration) (release func(), ok bool) {
	var timeout <-chan time.Time
	for {
		release, ok, freed := h.tryAcquire(host)
		if ok || wait <= 0 {
			return release, ok
		}
		if timeout == nil {
			t := time.NewTimer(wait)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-freed:
		case <-timeout:
			return nil, false
		case <-ctx.Done():
			return nil, false
		}
	}
}
