package httpapi

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/internal/reqid"
)

// Observer receives the measures of each request (a Prometheus adapter implements it).
type Observer interface {
	// ObserveRequest counts one answered request; route is the pattern that served it, ""
	// for none.
	ObserveRequest(method, route string, status int, d time.Duration)
	// ObserveUpload counts the bytes read of an upload's body, and its refusal's error code
	// when it was refused ("" when it was not).
	ObserveUpload(bytes int64, refusal string)
}

// uploadRoutes are the routes whose bodies are uploads.
var uploadRoutes = map[string]bool{"POST /v1/products/{product_id}/images": true}

// exchange is what the layers of a request learn of it, for its access log line, metrics
// and span; observe puts it in the request's context.
type exchange struct {
	route     string
	role      gallery.Role
	errorCode string
}

type exchangeKey struct{}

// observe gives each request its id (the client's X-Request-Id when valid, else a new one),
// echoed in the response and carried in its context; when tracing is on, a server span
// continuing the client's trace; and when it is answered, one access log line and its
// metrics.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := reqid.Choose(r.Header.Get(reqid.Header))
		w.Header().Set(reqid.Header, id)
		ex := &exchange{role: gallery.RoleAnon}
		ctx := context.WithValue(reqid.With(r.Context(), id), exchangeKey{}, ex)
		var span trace.Span
		if s.Tracer != nil {
			ctx = propagation.TraceContext{}.Extract(ctx, propagation.HeaderCarrier(r.Header))
			ctx, span = s.Tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer))
		}
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		var body *countedBody
		if r.Body != nil && r.Body != http.NoBody {
			body = &countedBody{ReadCloser: r.Body}
			r.Body = body
		}
		next.ServeHTTP(rec, r.WithContext(ctx))
		d := time.Since(start)
		if s.Observer != nil {
			s.Observer.ObserveRequest(r.Method, ex.route, rec.status, d)
			if uploadRoutes[ex.route] {
				var n int64
				if body != nil {
					n = body.n
				}
				refusal := ""
				if rec.status >= 400 {
					refusal = ex.errorCode
					if refusal == "" {
						refusal = "http_" + strconv.Itoa(rec.status)
					}
				}
				s.Observer.ObserveUpload(n, refusal)
			}
		}
		if span != nil {
			if ex.route != "" {
				span.SetName(ex.route)
				span.SetAttributes(attribute.String("http.route", ex.route))
			}
			span.SetAttributes(attribute.String("http.request.method", r.Method),
				attribute.Int("http.response.status_code", rec.status), attribute.String("request_id", id))
			if rec.status >= 500 {
				span.SetStatus(codes.Error, http.StatusText(rec.status))
			}
			span.End()
		}
		s.Logger.LogAttrs(ctx, slog.LevelInfo, "request",
			slog.String("method", r.Method), slog.String("route", ex.route), slog.Int("status", rec.status),
			slog.Int64("bytes", rec.bytes), slog.Duration("duration", d), slog.String("role", string(ex.role)))
	})
}

// routed records, for observe, the pattern that matched the request and its caller's role.
func routed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if ex, ok := r.Context().Value(exchangeKey{}).(*exchange); ok {
			ex.route = r.Pattern
			if c, ok := gallery.CallerFrom(r.Context()); ok {
				ex.role = c.Role
			}
		}
		h(w, r)
	}
}

// noteErrorCode records, for observe, the error code a request was answered with.
func noteErrorCode(r *http.Request, code gallery.Code) {
	if ex, ok := r.Context().Value(exchangeKey{}).(*exchange); ok {
		ex.errorCode = string(code)
	}
}

// recorder notes a response's status and the bytes of its body.
type recorder struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
}

func (w *recorder) WriteHeader(status int) {
	if !w.wroteHeader && status >= 200 {
		w.status, w.wroteHeader = status, true
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *recorder) Write(p []byte) (int, error) {
	w.wroteHeader = true
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (deadlines, flushes).
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush passes flushes on (streamed responses).
func (w *recorder) Flush() {
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// countedBody counts the bytes read of a request body.
type countedBody struct {
	io.ReadCloser
	n int64
}

func (b *countedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	return n, err
}
