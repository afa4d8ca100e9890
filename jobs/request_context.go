package jobs

import (
	"context"
	"encoding/json"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"go.opentelemetry.io/otel/propagation"

	"github.com/vitrine-dev/vitrine/internal/reqid"
)

// requestContext carries what a request put in its context into the jobs it enqueues and
// back into their context when they are worked: the request id (job metadata "request_id",
// so the job's log lines carry it) and, when tracing is on, the request's trace (the W3C
// "traceparent" that River's OpenTelemetry middleware writes into the metadata), made the
// parent of the job's spans so that one trace runs from the request to its jobs.
type requestContext struct {
	river.MiddlewareDefaults
}

// InsertMany adds the request id of ctx to each job's metadata.
func (requestContext) InsertMany(ctx context.Context, params []*rivertype.JobInsertParams, doInner func(context.Context) ([]*rivertype.JobInsertResult, error)) ([]*rivertype.JobInsertResult, error) {
	if id := reqid.From(ctx); id != "" {
		for _, p := range params {
			md, err := reqid.AddToMetadata(p.Metadata, id)
			if err != nil {
				return nil, err
			}
			p.Metadata = md
		}
	}
	return doInner(ctx)
}

// Work puts the job's request id and trace parent, if any, in its context.
func (requestContext) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	if id := reqid.FromMetadata(job.Metadata); id != "" {
		ctx = reqid.With(ctx, id)
	}
	if len(job.Metadata) > 0 {
		var carrier propagation.MapCarrier
		var m map[string]any
		if json.Unmarshal(job.Metadata, &m) == nil {
			for _, k := range []string{"traceparent", "tracestate"} {
				if s, ok := m[k].(string); ok {
					if carrier == nil {
						carrier = propagation.MapCarrier{}
					}
					carrier[k] = s
				}
			}
		}
		if carrier != nil {
			ctx = propagation.TraceContext{}.Extract(ctx, carrier)
		}
	}
	return doInner(ctx)
}
