package httpapi

import (
	"context"
	"math"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/vitrine-dev/vitrine/gallery"
)

// Buckets keeps per-caller token buckets where every Vitrine process sees them, so that a
// limit holds however many processes serve (postgres.DB keeps them in PostgreSQL).
type Buckets interface {
	// TakeTokens takes cost tokens from the bucket key, which refills at perMinute tokens a
	// minute up to burst (a new bucket is full). It returns 0 when they were taken, otherwise
	// how long until they would be; nothing is taken then.
	TakeTokens(ctx context.Context, key string, cost, perMinute, burst float64) (time.Duration, error)
}

// Rate is the shape of a token bucket: Burst requests at once, refilled at PerMinute a
// minute. A zero PerMinute means no limit.
type Rate struct {
	PerMinute float64
	Burst     float64
}

// Limits are the per-caller budgets of the API: uploads (multipart and direct), and the
// other writes a caller can repeat to make the server work (creating and deleting products,
// moving, reordering and deleting images, changing an alt text or a product's publication).
// A caller over a budget gets 429 with Retry-After. Callers are told apart by user id, or by
// role and address when they have none.
type Limits struct {
	Buckets Buckets
	Uploads Rate
	Writes  Rate
}

// budget names one of the Limits in bucket keys.
type budget string

const (
	uploadBudget budget = "uploads"
	writeBudget  budget = "writes"
)

// limit takes one token from the caller's bucket of budget b, or answers 429 with
// Retry-After and returns false.
func (s *Server) limit(w http.ResponseWriter, r *http.Request, b budget) bool {
	if s.Limits == nil {
		return true
	}
	rate := s.Limits.Uploads
	if b == writeBudget {
		rate = s.Limits.Writes
	}
	if rate.PerMinute <= 0 {
		return true
	}
	c := s.caller(r)
	key := string(b) + ":user:" + c.UserID.String()
	if c.Role != gallery.RoleAuthenticated {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		key = string(b) + ":" + string(c.Role) + ":" + host
	}
	wait, err := s.Limits.Buckets.TakeTokens(r.Context(), key, 1, rate.PerMinute, rate.Burst)
	if err != nil {
		s.writeError(w, r, err)
		return false
	}
	if wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		what := "uploads"
		if b == writeBudget {
			what = "changes"
		}
		s.writeError(w, r, gallery.Errorf(gallery.ERATELIMIT, "too many %s: retry in %s", what, wait.Round(time.Second)))
		return false
	}
	return true
}
