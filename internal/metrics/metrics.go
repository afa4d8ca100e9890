// Package metrics is Vitrine's Prometheus instrumentation: the series of HTTP requests,
// uploads, the object store, the image pipeline, River's jobs and the database, and the
// handler that serves them on their own listen address (never the API's).
package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// latencyBuckets, in seconds, span a cached read (1 ms) to a large upload over S3 (a minute).
var latencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// Metrics holds the series of one process. Its methods are safe for concurrent use, and
// do nothing on a nil *Metrics, so that instrumented code needs no check.
type Metrics struct {
	reg *prometheus.Registry

	httpRequests   *prometheus.CounterVec
	httpDuration   *prometheus.HistogramVec
	uploadBytes    prometheus.Counter
	uploadRefusals *prometheus.CounterVec
	storeOps       *prometheus.CounterVec
	storeDuration  *prometheus.HistogramVec
	imagingSteps   *prometheus.HistogramVec
	jobsWorked     *prometheus.CounterVec
	jobDuration    *prometheus.HistogramVec
	jobQueueWait   *prometheus.HistogramVec
}

// New returns the series of a process, with Go's runtime and the process's own collectors.
func New() *Metrics {
	m := unregistered()
	m.reg.MustRegister(m.httpRequests, m.httpDuration, m.uploadBytes, m.uploadRefusals, m.storeOps,
		m.storeDuration, m.imagingSteps, m.jobsWorked, m.jobDuration, m.jobQueueWait,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// unregistered returns series that no registry serves (for tracing without metrics).
func unregistered() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vitrine_http_requests_total",
		Help: "HTTP requests answered, by method, route pattern, status code and class.",
	}, []string{"method", "route", "code", "class"})
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "vitrine_http_request_duration_seconds", Buckets: latencyBuckets,
		Help: "Time from a request's arrival to the end of its response, by method and route pattern.",
	}, []string{"method", "route"})
	m.uploadBytes = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "vitrine_upload_bytes_total",
		Help: "Bytes of upload bodies read by the API.",
	})
	m.uploadRefusals = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vitrine_upload_refusals_total",
		Help: "Uploads refused, by the error code of the answer.",
	}, []string{"reason"})
	m.storeOps = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vitrine_store_operations_total",
		Help: "Object store operations, by kind and outcome (ok, not_found, error).",
	}, []string{"operation", "outcome"})
	m.storeDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "vitrine_store_operation_duration_seconds", Buckets: latencyBuckets,
		Help: "Latency of object store operations, by kind.",
	}, []string{"operation"})
	m.imagingSteps = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "vitrine_imaging_step_duration_seconds", Buckets: latencyBuckets,
		Help: "Time of the image pipeline's steps: decode, resize per preset, encode per preset and format.",
	}, []string{"step", "preset", "format"})
	m.jobsWorked = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vitrine_jobs_worked_total",
		Help: "River job attempts worked by this process, by kind and outcome (completed, error, cancelled, snoozed).",
	}, []string{"kind", "outcome"})
	m.jobDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "vitrine_job_duration_seconds", Buckets: latencyBuckets,
		Help: "Time of one attempt of a River job, by kind.",
	}, []string{"kind"})
	m.jobQueueWait = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "vitrine_job_queue_latency_seconds", Buckets: latencyBuckets,
		Help: "Time from when a River job was due to when this process started working it, by kind.",
	}, []string{"kind"})
	return m
}

// Register adds collectors (DBStats, PoolStats) to the process's series.
func (m *Metrics) Register(cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := m.reg.Register(c); err != nil {
			return fmt.Errorf("registering a metrics collector: %w", err)
		}
	}
	return nil
}

// Handler serves the series in Prometheus's text (or OpenMetrics) format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, MaxRequestsInFlight: 4, Timeout: 30 * time.Second})
}

// ObserveRequest counts one answered request. route is the ServeMux pattern that served it
// ("" for none), never a raw path, so the label set stays bounded.
func (m *Metrics) ObserveRequest(method, route string, status int, d time.Duration) {
	if m == nil {
		return
	}
	if route == "" {
		route = "unmatched"
	}
	method = boundedMethod(method)
	code := strconv.Itoa(status)
	m.httpRequests.WithLabelValues(method, route, code, code[:1]+"xx").Inc()
	m.httpDuration.WithLabelValues(method, route).Observe(d.Seconds())
}

// boundedMethod keeps the method label to the methods the API knows.
func boundedMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

// ObserveUpload counts the bytes read of an upload body and, when refused, the error code
// of its answer (codes are a fixed set: gallery's error codes).
func (m *Metrics) ObserveUpload(bytes int64, refusal string) {
	if m == nil {
		return
	}
	m.uploadBytes.Add(float64(bytes))
	if refusal != "" {
		m.uploadRefusals.WithLabelValues(refusal).Inc()
	}
}

// ObserveImagingStep records one step of the image pipeline.
func (m *Metrics) ObserveImagingStep(step, preset, format string, d time.Duration) {
	if m == nil {
		return
	}
	m.imagingSteps.WithLabelValues(step, preset, format).Observe(d.Seconds())
}

// Serve serves h as GET /metrics on addr, logging where, until the returned function is
// called; the listener is opened before Serve returns, so an address in use is an error at
// start-up.
func Serve(addr string, h http.Handler, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening for /metrics on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	log.Info("serving metrics", "addr", ln.Addr().String(), "path", "/metrics")
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("serving metrics", "error", err)
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}
