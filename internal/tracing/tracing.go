// Package tracing turns OpenTelemetry tracing on when OTEL_EXPORTER_OTLP_ENDPOINT is set:
// spans go by OTLP over HTTP (protobuf) to that endpoint, in batches. Unset, nothing is set
// up and the instrumentation stays on OpenTelemetry's no-op tracer.
package tracing

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdkresource "go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/vitrine-dev/vitrine/imaging"
)

// EndpointVariable turns tracing on.
const EndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT"

// Name names Vitrine's tracer.
const Name = "github.com/vitrine-dev/vitrine"

// Start sets up tracing when endpoint (OTEL_EXPORTER_OTLP_ENDPOINT, the base URL of an
// OTLP/HTTP collector) is set, for service (the process's service.name unless
// OTEL_SERVICE_NAME says otherwise), and returns its tracer provider (not made global) and a
// function that flushes and stops it; with no endpoint it returns nil and a no-op. The exporter reads the
// other OTEL_EXPORTER_OTLP_* variables (headers, timeout) itself.
func Start(ctx context.Context, endpoint, service string) (trace.TracerProvider, func(context.Context) error, error) {
	if endpoint == "" {
		return nil, func(context.Context) error { return nil }, nil
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(strings.TrimRight(endpoint, "/")+"/v1/traces"))
	if err != nil {
		return nil, nil, fmt.Errorf("starting the OTLP trace exporter: %w", err)
	}
	res, err := sdkresource.Merge(sdkresource.Default(), sdkresource.NewSchemaless(attribute.String("service.name", service)))
	if err != nil {
		return nil, nil, fmt.Errorf("describing the traced service: %w", err)
	}
	if os.Getenv("OTEL_SERVICE_NAME") != "" {
		res = sdkresource.Default()
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(time.Second)), sdktrace.WithResource(res))
	return tp, tp.Shutdown, nil
}

// Imaging returns an imaging.Config.Observe that makes a span of each step of the image
// pipeline, under the span of ctx.
func Imaging(t trace.Tracer) func(context.Context, imaging.Step) {
	return func(ctx context.Context, s imaging.Step) {
		attrs := []attribute.KeyValue{}
		if s.Preset != "" {
			attrs = append(attrs, attribute.String("preset", s.Preset))
		}
		if s.Format != "" {
			attrs = append(attrs, attribute.String("format", string(s.Format)))
		}
		_, span := t.Start(ctx, "imaging."+s.Name, trace.WithTimestamp(s.Start), trace.WithAttributes(attrs...))
		span.End(trace.WithTimestamp(s.End))
	}
}
