package jobs

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/riverqueue/river/rivertype"
)

// backoff retries after base, 2·base, 4·base, ... up to limit (an hour when zero), with ±10%
// jitter so that a burst of failures does not retry in lockstep.
type backoff struct{ base, limit time.Duration }

// NextRetry implements river.ClientRetryPolicy.
func (b backoff) NextRetry(job *rivertype.JobRow) time.Time {
	base := b.base
	if base <= 0 {
		base = time.Second
	}
	d := time.Duration(float64(base) * math.Pow(2, float64(max(job.Attempt-1, 0))))
	limit := b.limit
	if limit <= 0 {
		limit = time.Hour
	}
	d = min(d, limit)
	d += time.Duration((rand.Float64()*0.2 - 0.1) * float64(d))
	return time.Now().Add(d)
}
