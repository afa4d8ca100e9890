package httpapi

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/vitrine-dev/vitrine/gallery"
)

// RateLimiter limits uploads per caller with a token bucket: Burst uploads at once, refilled
// at PerMinute a minute. Callers are told apart by user id, or by address when anonymous.
// Its state is this process's own: with several processes each enforces its own limit.
type RateLimiter struct {
	PerMinute float64
	Burst     float64

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// allow takes one token for key, or says how long until one is available.
func (l *RateLimiter) allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil {
		l.buckets = map[string]*bucket{}
	}
	if len(l.buckets) > 100_000 { // forget idle callers rather than grow without bound
		for k, b := range l.buckets {
			if now.Sub(b.last) > time.Hour {
				delete(l.buckets, k)
			}
		}
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: l.Burst, last: now}
		l.buckets[key] = b
	}
	rate := l.PerMinute / 60 // tokens a second
	b.tokens = math.Min(l.Burst, b.tokens+now.Sub(b.last).Seconds()*rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / rate * float64(time.Second))
}

// limit answers 429 with Retry-After when the caller is over its limit.
func (s *Server) limit(w http.ResponseWriter, r *http.Request) bool {
	if s.Limiter == nil {
		return true
	}
	c := s.caller(r)
	key := "user:" + c.UserID.String()
	if c.Role != gallery.RoleAuthenticated {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		key = string(c.Role) + ":" + host
	}
	ok, wait := s.Limiter.allow(key, time.Now())
	if !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		s.writeError(w, r, gallery.Errorf(gallery.ERATELIMIT, "too many uploads: retry in %s", wait.Round(time.Second)))
	}
	return ok
}
