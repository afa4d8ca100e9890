package s3test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"
)

// Fault is what a Proxy does to a request instead of, or while, passing it
// on.
type Fault int

const (
	// SlowDown answers 503 with S3's SlowDown error, as S3 does when
	// asked to reduce its request rate.
	SlowDown Fault = iota + 1
	// InternalError answers 500 with S3's InternalError error.
	InternalError
	// Delay waits before passing the request on, as a slow server does.
	Delay
	// PauseBody passes the request on, but stops its body halfway for a
	// while, as a slow upload does.
	PauseBody
	// CutBody passes half of the request's body on, then drops both
	// connections, as a network failure in the middle of an upload does.
	CutBody
)

func (f Fault) String() string {
	switch f {
	case SlowDown:
		return "SlowDown"
	case InternalError:
		return "InternalError"
	case Delay:
		return "Delay"
	case PauseBody:
		return "PauseBody"
	case CutBody:
		return "CutBody"
	}
	return fmt.Sprintf("Fault(%d)", int(f))
}

// Match selects the requests a fault applies to.
type Match func(r *http.Request) bool

// AnyRequest matches every request.
func AnyRequest(*http.Request) bool { return true }

// Method matches the requests of an HTTP method, such as "PUT" (uploads and
// upload parts), "GET" (reads and lists), "HEAD" (stats) or "DELETE".
func Method(m string) Match { return func(r *http.Request) bool { return r.Method == m } }

// UploadPart matches the part uploads of multipart uploads.
func UploadPart(r *http.Request) bool {
	return r.Method == http.MethodPut && r.URL.Query().Has("partNumber")
}

// ListObjects matches ListObjectsV2 requests.
func ListObjects(r *http.Request) bool {
	return r.Method == http.MethodGet && r.URL.Query().Get("list-type") == "2"
}

// Request is a request that went through a Proxy.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	// Fault is the fault injected into the request, or 0.
	Fault Fault
	// Status is the status of the answer the client got (0 when the
	// connection was dropped).
	Status int
}

// Proxy is an HTTP reverse proxy in front of an S3 server that injects the
// faults it is told to into the requests that match, in order, and records
// every request. Clients sign requests for the proxy's host, which the
// proxy passes on as is, so signatures stay valid. It is safe for
// concurrent use.
type Proxy struct {
	// URL is the proxy's base URL, to use as an S3 endpoint.
	URL string

	mu       sync.Mutex
	rules    []*rule
	requests []Request
}

type rule struct {
	n     int // requests still to fault
	fault Fault
	d     time.Duration
	match Match
}

// NewProxy starts a proxy in front of the S3 server at endpoint; it stops
// at the end of the test.
func NewProxy(t testing.TB, endpoint string) *Proxy {
	t.Helper()
	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatalf("s3test: proxy target %q: %v", endpoint, err)
	}
	p := &Proxy{}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host // the host the client signed
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if faultOf(r) == CutBody {
				panic(http.ErrAbortHandler) // drop the client's connection
			}
			http.Error(w, err.Error(), http.StatusBadGateway)
		},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.serve(w, r, rp)
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// Inject makes the next n requests that match suffer fault. d is the delay
// of Delay and the pause of PauseBody. Rules apply in the order they were
// added; a request suffers at most one fault.
func (p *Proxy) Inject(n int, fault Fault, d time.Duration, match Match) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = append(p.rules, &rule{n: n, fault: fault, d: d, match: match})
}

// Fail makes the next n requests that match fail with fault (SlowDown or
// InternalError).
func (p *Proxy) Fail(n int, fault Fault, match Match) { p.Inject(n, fault, 0, match) }

// Clear removes the faults still to inject.
func (p *Proxy) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = nil
}

// Requests returns the requests that went through the proxy so far, in the
// order they arrived.
func (p *Proxy) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.requests...)
}

// Count returns how many requests matching match went through the proxy,
// and how many of those suffered a fault.
func (p *Proxy) Count(match Match) (requests, faulted int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range p.requests {
		req := &http.Request{Method: r.Method, URL: &url.URL{Path: r.Path, RawQuery: r.Query.Encode()}}
		if match(req) {
			requests++
			if r.Fault != 0 {
				faulted++
			}
		}
	}
	return requests, faulted
}

type faultKey struct{}

func faultOf(r *http.Request) Fault {
	f, _ := r.Context().Value(faultKey{}).(Fault)
	return f
}

// serve handles one request.
func (p *Proxy) serve(w http.ResponseWriter, r *http.Request, rp *httputil.ReverseProxy) {
	var fault Fault
	var d time.Duration
	p.mu.Lock()
	for _, rl := range p.rules {
		if rl.n > 0 && rl.match(r) {
			rl.n--
			fault, d = rl.fault, rl.d
			break
		}
	}
	i := len(p.requests)
	p.requests = append(p.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Fault: fault})
	p.mu.Unlock()
	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		p.mu.Lock()
		p.requests[i].Status = sw.status
		p.mu.Unlock()
	}()

	switch fault {
	case SlowDown:
		writeS3Error(sw, r, http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
		return
	case InternalError:
		writeS3Error(sw, r, http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.")
		return
	case Delay:
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
	case PauseBody, CutBody:
		if r.ContentLength > 1 {
			r.Body = &faultyBody{r: r.Body, ctx: r.Context(), at: r.ContentLength / 2, fault: fault, d: d}
		}
	}
	rp.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), faultKey{}, fault)))
}

// writeS3Error answers with an S3 error document.
func writeS3Error(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
		`<Error><Code>%s</Code><Message>%s</Message><Resource>%s</Resource><RequestId>s3test-fault</RequestId></Error>`,
		code, message, r.URL.Path)
}

// faultyBody passes a request body on and, at offset at, pauses for d or
// fails.
type faultyBody struct {
	r     io.ReadCloser
	ctx   context.Context
	at    int64
	fault Fault
	d     time.Duration
	done  bool
	n     int64
}

func (b *faultyBody) Read(p []byte) (int, error) {
	if !b.done && b.n >= b.at {
		b.done = true
		if b.fault == CutBody {
			return 0, io.ErrUnexpectedEOF
		}
		select {
		case <-time.After(b.d):
		case <-b.ctx.Done():
			return 0, b.ctx.Err()
		}
	}
	if !b.done && int64(len(p)) > b.at-b.n {
		p = p[:b.at-b.n]
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	return n, err
}

func (b *faultyBody) Close() error { return b.r.Close() }

// statusWriter records the status of an answer.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Flush lets the reverse proxy stream answers.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// String describes the request for messages.
func (r Request) String() string {
	q := r.Query.Encode()
	if q != "" {
		q = "?" + q
	}
	s := r.Method + " " + r.Path + q
	if r.Fault != 0 {
		s += " [" + r.Fault.String() + "]"
	}
	return s + fmt.Sprintf(" %d", r.Status)
}
