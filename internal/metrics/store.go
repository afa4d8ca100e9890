package metrics

import (
	"context"
	"errors"
	"io"
	"iter"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/vitrine-dev/vitrine/storage"
)

// Store wraps s so that each operation is counted by kind and outcome and timed (when m is
// not nil), and traced as a span under the span of its context (when tracer is not nil).
// The result implements the optional interfaces s implements (storage.Checker,
// storage.Presigner, storage.BatchDeleter) and no others, so callers that look for them see
// the same store. With neither, s is returned as it is.
func Store(s storage.Store, m *Metrics, tracer trace.Tracer) storage.Store {
	if m == nil && tracer == nil {
		return s
	}
	if tracer == nil {
		tracer = noop.NewTracerProvider().Tracer("")
	}
	if m == nil {
		m = unregistered()
	}
	o := &observedStore{inner: s, m: m, tracer: tracer}
	_, check := s.(storage.Checker)
	_, presign := s.(storage.Presigner)
	_, batch := s.(storage.BatchDeleter)
	switch {
	case check && presign && batch:
		return &observedS3{o}
	case check && !presign && !batch:
		return &observedChecker{o}
	case !check && !presign && !batch:
		return o
	}
	panic("metrics: a store with an unforeseen set of optional interfaces")
}

type observedStore struct {
	inner  storage.Store
	m      *Metrics
	tracer trace.Tracer
}

// observedChecker is a store that checks its reachability (local disk).
type observedChecker struct{ *observedStore }

// observedS3 is a store with every optional interface (S3).
type observedS3 struct{ *observedStore }

// op starts an operation; its end records it with its error.
func (o *observedStore) op(ctx context.Context, name string) (context.Context, func(error)) {
	start := time.Now()
	ctx, span := o.tracer.Start(ctx, "store."+name, trace.WithSpanKind(trace.SpanKindClient))
	return ctx, func(err error) {
		outcome := "ok"
		switch {
		case err == nil:
		case errors.Is(err, storage.ErrNotFound):
			outcome = "not_found"
		default:
			outcome = "error"
			span.SetStatus(codes.Error, err.Error())
		}
		span.SetAttributes(attribute.String("outcome", outcome))
		span.End()
		o.m.storeOps.WithLabelValues(name, outcome).Inc()
		o.m.storeDuration.WithLabelValues(name).Observe(time.Since(start).Seconds())
	}
}

func (o *observedStore) NewWriter(ctx context.Context) (storage.Writer, error) {
	w, err := o.inner.NewWriter(ctx)
	if err != nil {
		return nil, err
	}
	return &observedWriter{Writer: w, o: o, start: time.Now()}, nil
}

func (o *observedStore) Open(ctx context.Context, key string, offset, length int64) (io.ReadCloser, storage.ObjectInfo, error) {
	ctx, end := o.op(ctx, "open")
	rc, info, err := o.inner.Open(ctx, key, offset, length)
	end(err)
	return rc, info, err
}

func (o *observedStore) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	ctx, end := o.op(ctx, "stat")
	info, err := o.inner.Stat(ctx, key)
	end(err)
	return info, err
}

func (o *observedStore) Delete(ctx context.Context, key string) error {
	ctx, end := o.op(ctx, "delete")
	err := o.inner.Delete(ctx, key)
	end(err)
	return err
}

// List is counted once per listing, timed to its end.
func (o *observedStore) List(ctx context.Context, prefix, after string) iter.Seq2[storage.ObjectInfo, error] {
	return func(yield func(storage.ObjectInfo, error) bool) {
		ctx, end := o.op(ctx, "list")
		var last error
		for info, err := range o.inner.List(ctx, prefix, after) {
			last = err
			if !yield(info, err) {
				break
			}
		}
		end(last)
	}
}

func (o *observedChecker) Check(ctx context.Context) error {
	ctx, end := o.op(ctx, "check")
	err := o.inner.(storage.Checker).Check(ctx)
	end(err)
	return err
}

func (o *observedS3) Check(ctx context.Context) error {
	return (&observedChecker{o.observedStore}).Check(ctx)
}

func (o *observedS3) PresignGet(ctx context.Context, key string, expiry time.Duration) (string, error) {
	return o.inner.(storage.Presigner).PresignGet(ctx, key, expiry)
}

func (o *observedS3) PresignPut(ctx context.Context, key string, expiry time.Duration) (string, error) {
	return o.inner.(storage.Presigner).PresignPut(ctx, key, expiry)
}

func (o *observedS3) DeleteBatch(ctx context.Context, keys []string) error {
	ctx, end := o.op(ctx, "delete_batch")
	err := o.inner.(storage.BatchDeleter).DeleteBatch(ctx, keys)
	end(err)
	return err
}

// observedWriter records a write ("put") from NewWriter to its Commit or Abort.
type observedWriter struct {
	storage.Writer
	o     *observedStore
	start time.Time
	done  bool
}

func (w *observedWriter) Commit(ctx context.Context, key string) error {
	ctx, span := w.o.tracer.Start(ctx, "store.put", trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(w.start))
	err := w.Writer.Commit(ctx, key)
	if !w.done {
		w.done = true
		outcome := "ok"
		if err != nil {
			outcome = "error"
			span.SetStatus(codes.Error, err.Error())
		}
		w.o.m.storeOps.WithLabelValues("put", outcome).Inc()
		w.o.m.storeDuration.WithLabelValues("put").Observe(time.Since(w.start).Seconds())
	}
	span.End()
	return err
}

func (w *observedWriter) Abort() error {
	err := w.Writer.Abort()
	if !w.done {
		w.done = true
		w.o.m.storeOps.WithLabelValues("put", "aborted").Inc()
	}
	return err
}
