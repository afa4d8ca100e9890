package httpapi

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/vitrine-dev/vitrine/gallery"
)

// UploadSlots bounds how many upload bodies the whole server takes in at once: multipart
// uploads and direct-upload completions, whoever sends them. A request that finds every slot
// taken waits in line, first come first served, for up to Wait; then it is refused with 503
// (code unavailable) and a Retry-After header, before any byte of its body is read. While it
// waits, its body stays unread in the connection, so a waiting request costs no more than an
// idle connection.
type UploadSlots struct {
	sem   *semaphore.Weighted
	n     int
	wait  time.Duration
	inUse atomic.Int64
}

// InUse reports how many slots are taken.
func (s *UploadSlots) InUse() int { return int(s.inUse.Load()) }

// NewUploadSlots returns a limit of n uploads at once (n ≥ 1), each further one waiting up to
// wait for a slot.
func NewUploadSlots(n int, wait time.Duration) *UploadSlots {
	return &UploadSlots{sem: semaphore.NewWeighted(int64(n)), n: n, wait: wait}
}

// uploadSlot takes an upload slot for r, to be given back by calling release. When it cannot,
// it has answered the request (503, or nothing useful if the client went away) and returns
// false.
func (s *Server) uploadSlot(w http.ResponseWriter, r *http.Request) (release func(), ok bool) {
	if s.UploadSlots == nil {
		return func() {}, true
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.UploadSlots.wait)
	defer cancel()
	if err := s.UploadSlots.sem.Acquire(ctx, 1); err != nil {
		if errors.Is(r.Context().Err(), context.Canceled) {
			return nil, false // the client is gone: there is no one to answer
		}
		s.writeError(w, r, gallery.Errorf(gallery.EUNAVAILABLE,
			"the server is taking in %d uploads already and none ended within %s: retry shortly", s.UploadSlots.n, s.UploadSlots.wait))
		return nil, false
	}
	s.UploadSlots.inUse.Add(1)
	return func() {
		s.UploadSlots.inUse.Add(-1)
		s.UploadSlots.sem.Release(1)
	}, true
}
