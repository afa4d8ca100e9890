package jobs

import "sync"

// ImportEnded tells the bulk import jobs of a process that a fetch of an import ended there,
// so that they admit their next lines at once rather than at their next poll. Fetches that
// end in another process are seen at the poll only. The zero value is not usable; make one
// with NewImportEnded and give it to both workers. A nil *ImportEnded tells nothing.
type ImportEnded struct {
	mu sync.Mutex
	ch chan struct{}
}

// NewImportEnded returns an ImportEnded that no one waits on yet.
func NewImportEnded() *ImportEnded { return &ImportEnded{ch: make(chan struct{})} }

// Next returns a channel closed at the next fetch's end after this call (never, for nil).
func (e *ImportEnded) Next() <-chan struct{} {
	if e == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.ch
}

// Broadcast wakes every waiter of Next: a fetch ended.
func (e *ImportEnded) Broadcast() {
	if e == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	close(e.ch)
	e.ch = make(chan struct{})
}
