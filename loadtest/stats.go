package loadtest

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// The routes a run requests, as the API's route patterns.
const (
	routeCreateProduct = "POST /v1/products"
	routeUpload        = "POST /v1/products/{product_id}/images"
	routeGallery       = "GET /v1/products/{product_id}/images"
	routeImage         = "GET /v1/images/{id}"
	routeMove          = "POST /v1/images/{id}/position"
	routeReorder       = "PUT /v1/products/{product_id}/images/order"
	routeDelete        = "DELETE /v1/images/{id}"
)

// noAnswer is the outcome of a request that got no HTTP answer (connection refused or reset,
// timeout).
const noAnswer = "no answer"

// RouteStats is what the requests of one route did.
type RouteStats struct {
	Route    string
	Requests int
	OK       int            // 2xx answers
	Errors   map[string]int // by status code, or "no answer"
	PerSec   float64        // requests a second over the run
	P50, P99 time.Duration  // latency of every request, answered or not
	Max      time.Duration
}

// Snapshot is the counts of a run so far, for a progress line.
type Snapshot struct {
	Elapsed  time.Duration
	Requests int
	Uploads  int // acknowledged uploads
	Errors   int // requests not answered 2xx
}

// stats collects every request's latency and outcome by route.
type stats struct {
	mu      sync.Mutex
	start   time.Time
	byRoute map[string]*routeSamples
	first   string // the first error seen, for a run that could not start
}

type routeSamples struct {
	latencies []time.Duration
	ok        int
	errors    map[string]int
}

func newStats() *stats {
	return &stats{start: time.Now(), byRoute: make(map[string]*routeSamples)}
}

// record notes one request of route that took d and ended with status (0: no answer).
func (s *stats) record(route string, d time.Duration, status int, detail string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.byRoute[route]
	if r == nil {
		r = &routeSamples{errors: make(map[string]int)}
		s.byRoute[route] = r
	}
	r.latencies = append(r.latencies, d)
	switch {
	case status >= 200 && status < 300:
		r.ok++
		return
	case status == 0:
		r.errors[noAnswer]++
	default:
		r.errors[strconv.Itoa(status)]++
	}
	if s.first == "" {
		s.first = fmt.Sprintf("first error: %s: %s", route, detail)
	}
}

func (s *stats) firstError() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.first
}

func (s *stats) snapshot() Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := Snapshot{Elapsed: time.Since(s.start)}
	for route, r := range s.byRoute {
		snap.Requests += len(r.latencies)
		snap.Errors += len(r.latencies) - r.ok
		if route == routeUpload {
			snap.Uploads = r.ok
		}
	}
	return snap
}

// routes returns the statistics of every route, over a run of length d.
func (s *stats) routes(d time.Duration) []RouteStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []RouteStats
	for route, r := range s.byRoute {
		lat := slices.Clone(r.latencies)
		slices.Sort(lat)
		rs := RouteStats{Route: route, Requests: len(lat), OK: r.ok, Errors: make(map[string]int), PerSec: float64(len(lat)) / d.Seconds()}
		for k, v := range r.errors {
			rs.Errors[k] = v
		}
		if len(lat) > 0 {
			rs.P50, rs.P99, rs.Max = percentile(lat, 0.50), percentile(lat, 0.99), lat[len(lat)-1]
		}
		out = append(out, rs)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Route < out[j].Route })
	return out
}

// percentile returns the q-quantile of sorted (nearest rank).
func percentile(sorted []time.Duration, q float64) time.Duration {
	i := int(float64(len(sorted))*q+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// Route returns the statistics of route, or zero ones when it had no request.
func (r *Result) Route(route string) RouteStats {
	for _, rs := range r.Routes {
		if rs.Route == route {
			return rs
		}
	}
	return RouteStats{Route: route}
}

// Uploads returns the statistics of the upload route.
func (r *Result) Uploads() RouteStats { return r.Route(routeUpload) }

// Print writes the run's figures: a line per route with its requests a second, acknowledged
// answers, p50 and p99 latency and errors by status, then the totals.
func (r *Result) Print(w io.Writer) {
	d := r.Ended.Sub(r.Started)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "route\trequests\treq/s\t2xx\tp50\tp99\tmax\terrors\t")
	total, ok := 0, 0
	for _, rs := range r.Routes {
		total += rs.Requests
		ok += rs.OK
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%d\t%s\t%s\t%s\t%s\t\n", rs.Route, rs.Requests, rs.PerSec, rs.OK,
			ms(rs.P50), ms(rs.P99), ms(rs.Max), errorList(rs.Errors))
	}
	tw.Flush()
	fmt.Fprintf(w, "%d requests in %s (%.1f/s), %d answered 2xx, %d not; %.1f uploads/s\n",
		total, d.Round(time.Millisecond), float64(total)/d.Seconds(), ok, total-ok, float64(r.Uploads().OK)/d.Seconds())
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }

func errorList(errs map[string]int) string {
	if len(errs) == 0 {
		return "-"
	}
	var parts []string
	for k, v := range errs {
		parts = append(parts, fmt.Sprintf("%s×%d", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}
