package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// JobMiddleware is River middleware that times the jobs this process works: queue latency
// (from when the job was due to its start here), duration and outcome, by kind.
type JobMiddleware struct {
	river.MiddlewareDefaults
	M *Metrics
}

// Work times doInner.
func (j *JobMiddleware) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	start := time.Now()
	if wait := start.Sub(job.ScheduledAt); wait > 0 {
		j.M.jobQueueWait.WithLabelValues(job.Kind).Observe(wait.Seconds())
	}
	err := doInner(ctx)
	j.M.jobDuration.WithLabelValues(job.Kind).Observe(time.Since(start).Seconds())
	var cancel *river.JobCancelError
	var snooze *river.JobSnoozeError
	outcome := "completed"
	switch {
	case err == nil:
	case errors.As(err, &cancel):
		outcome = "cancelled"
	case errors.As(err, &snooze):
		outcome = "snoozed"
	default:
		outcome = "error"
	}
	j.M.jobsWorked.WithLabelValues(job.Kind, outcome).Inc()
	return err
}
