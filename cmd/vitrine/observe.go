package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/riverqueue/river/rivertype"
	"github.com/riverqueue/rivercontrib/otelriver"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/term"

	"github.com/vitrine-dev/vitrine/imaging"
	"github.com/vitrine-dev/vitrine/internal/metrics"
	"github.com/vitrine-dev/vitrine/internal/reqid"
	"github.com/vitrine-dev/vitrine/internal/tracing"
	"github.com/vitrine-dev/vitrine/storage"
)

// dbStatsMaxAge is how long /metrics reuses the database's counts (one query each time).
const dbStatsMaxAge = 5 * time.Second

// newLogger logs as text on a terminal, as JSON otherwise (to a file, a pipe, a journal);
// records logged with a request's context, or a job's that a request enqueued, carry its
// request_id.
func newLogger(cfg config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewJSONHandler(w, opts)
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(reqid.Handler{Handler: h})
}

// observability is what a process measures with: its metrics (nil without
// VITRINE_METRICS_ADDR) and its tracer (nil without OTEL_EXPORTER_OTLP_ENDPOINT).
type observability struct {
	metrics *metrics.Metrics
	traces  trace.TracerProvider
	tracer  trace.Tracer
}

// startObservability sets up metrics and tracing as cfg says; the returned function
// flushes the traces.
func startObservability(ctx context.Context, cfg config) (observability, func(), error) {
	var o observability
	if cfg.MetricsAddr != "" {
		o.metrics = metrics.New()
	}
	tp, shutdown, err := tracing.Start(ctx, cfg.OTLPEndpoint, "vitrine")
	if err != nil {
		return o, nil, err
	}
	if tp != nil {
		o.traces, o.tracer = tp, tp.Tracer(tracing.Name)
	}
	return o, func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = shutdown(sctx)
	}, nil
}

// store wraps the object store with its metrics and spans.
func (o observability) store(s storage.Store) storage.Store {
	return metrics.Store(s, o.metrics, o.tracer)
}

// imaging is the image pipeline's observer: a histogram per step, and a span per step.
func (o observability) imaging() func(context.Context, imaging.Step) {
	var spans func(context.Context, imaging.Step)
	if o.tracer != nil {
		spans = tracing.Imaging(o.tracer)
	}
	if o.metrics == nil && spans == nil {
		return nil
	}
	return func(ctx context.Context, s imaging.Step) {
		o.metrics.ObserveImagingStep(s.Name, s.Preset, string(s.Format), s.End.Sub(s.Start))
		if spans != nil {
			spans(ctx, s)
		}
	}
}

// jobMiddleware is River's middleware for metrics and traces: River's OpenTelemetry
// middleware (a span per insert and per job worked, the trace context in the job's metadata)
// and the job metrics.
func (o observability) jobMiddleware() []rivertype.Middleware {
	var mw []rivertype.Middleware
	if o.tracer != nil {
		mw = append(mw, otelriver.NewMiddleware(&otelriver.MiddlewareConfig{
			EnableTracePropagation: true, EnableWorkSpanJobKindSuffix: true,
			MeterProvider: noop.NewMeterProvider(), TracerProvider: o.traces,
		}))
	}
	if o.metrics != nil {
		mw = append(mw, &metrics.JobMiddleware{M: o.metrics})
	}
	return mw
}

// serveMetrics serves /metrics on cfg.MetricsAddr until a closes, with the database's
// counts and its pool's statistics. An address that cannot be listened on is an error when
// it was chosen, a warning when it is the default.
func (a *app) serveMetrics() error {
	m := a.obs.metrics
	if m == nil {
		return nil
	}
	if err := m.Register(metrics.NewPoolStats(a.db.Pool()), metrics.NewDBStats(a.db.Stats, dbStatsMaxAge)); err != nil {
		return err
	}
	stop, err := metrics.Serve(a.cfg.MetricsAddr, m.Handler(), a.log)
	switch {
	case err == nil:
		a.close = append(a.close, stop)
		return nil
	case a.cfg.MetricsAddrChosen:
		return fmt.Errorf("VITRINE_METRICS_ADDR: %w", err)
	default:
		// Several processes on one host: the first one takes the default address.
		a.log.Warn("not serving /metrics: its default address is taken; set VITRINE_METRICS_ADDR", "error", err)
		return nil
	}
}
