package jobs

import "sync"

// HostSlots bounds the requests in flight to each host in one process: webhook deliveries
// by host:port, import fetches by host name.
type HostSlots struct {
	perHost int
	mu      sync.Mutex
	busy    map[string]int
}

// NewHostSlots returns slots of perHost requests per host.
func NewHostSlots(perHost int) *HostSlots {
	return &HostSlots{perHost: max(perHost, 1), busy: map[string]int{}}
}

// acquire takes a slot of host, or reports false when they are all taken; release gives it
// back. Hosts without a request in flight take no memory.
func (h *HostSlots) acquire(host string) (release func(), ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.busy[host] >= h.perHost {
		return nil, false
	}
	h.busy[host]++
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.busy[host]--; h.busy[host] == 0 {
			delete(h.busy, host)
		}
	}, true
}
