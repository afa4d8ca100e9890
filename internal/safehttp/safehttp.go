// Package safehttp makes HTTP requests to addresses that someone else chose: the source URLs
// of imports and the targets of webhooks. A supplier must not be able to make Vitrine reach
// what only Vitrine can reach (its database, its object store, a cloud's metadata service), so
// every connection the client opens, the first one and the one of each redirect, is checked
// after the name is resolved, and the address checked is the one dialled: a name that resolves
// to a public address when asked and to a private one a moment later gains nothing.
//
// The address rules are code.dny.dev/ssrf's: only global unicast addresses, without the ranges
// reserved for private networks, loopback, link-local, multicast, documentation, NAT64 and the
// like. The one way past them is an allow-list of host names or host:port pairs, for tests and
// for mirrors on a private network.
package safehttp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"code.dny.dev/ssrf"
)

var (
	// ErrForbiddenAddress means that a connection would have reached an address the rules
	// refuse (after resolution, on the first request or a redirect).
	ErrForbiddenAddress = errors.New("address not allowed")
	// ErrTooManyRedirects means that the redirect chain was longer than allowed.
	ErrTooManyRedirects = errors.New("too many redirects")
	// ErrScheme means that a URL, given or redirected to, is not http or https, or is
	// otherwise unusable (no host, credentials in it).
	ErrScheme = errors.New("only http and https URLs without credentials are allowed")
)

// Options bound the client. Zero values take the defaults.
type Options struct {
	// AllowHosts are "host" or "host:port" entries that may be reached whatever their
	// address. A "host" entry allows every port of that host.
	AllowHosts []string
	// ConnectTimeout bounds each connection's dial and TLS handshake (default 5 s).
	ConnectTimeout time.Duration
	// HeaderTimeout bounds the wait for a response's headers after the request is written
	// (default 10 s). The whole exchange is bounded by the request's context.
	HeaderTimeout time.Duration
	// MaxRedirects is how many redirects are followed (default 5).
	MaxRedirects int
	// UserAgent is sent with every request (default "Vitrine").
	UserAgent string
	// MaxConnsPerHost bounds the connections to one host:port, in all states (default 0:
	// no bound beyond what callers impose).
	MaxConnsPerHost int
}

const maxURLLength = 4096

// ParseAllowHosts reads a comma-separated list of "host" or "host:port" entries. Blanks are
// ignored; an entry with a scheme, a path or a bad port is an error.
func ParseAllowHosts(s string) ([]string, error) {
	var hosts []string
	for _, e := range strings.Split(s, ",") {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if strings.ContainsAny(e, "/@ ") {
			return nil, fmt.Errorf("allowed host %q: want host or host:port", e)
		}
		e = strings.ToLower(e)
		if h, p, err := net.SplitHostPort(e); err == nil {
			if h == "" || !validPort(p) {
				return nil, fmt.Errorf("allowed host %q: want host or host:port", e)
			}
			hosts = append(hosts, net.JoinHostPort(h, p)) // as the dialer sees it
			continue
		}
		e = strings.Trim(e, "[]")
		if strings.Contains(e, ":") && net.ParseIP(e) == nil {
			return nil, fmt.Errorf("allowed host %q: want host or host:port", e)
		}
		hosts = append(hosts, e)
	}
	return hosts, nil
}

func validPort(p string) bool {
	if p == "" || len(p) > 5 {
		return false
	}
	n := 0
	for _, c := range p {
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return n > 0 && n < 65536
}

// CheckURL parses raw and refuses what the client would refuse before any connection: a
// scheme other than http and https, no host, credentials in the URL, an over-long URL.
func CheckURL(raw string) (*url.URL, error) {
	if len(raw) > maxURLLength {
		return nil, fmt.Errorf("%w: the URL is longer than %d bytes", ErrScheme, maxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrScheme, err)
	}
	if err := checkParsed(u); err != nil {
		return nil, err
	}
	return u, nil
}

func checkParsed(u *url.URL) error {
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%w: scheme %q", ErrScheme, u.Scheme)
	case u.Hostname() == "":
		return fmt.Errorf("%w: no host", ErrScheme)
	case u.User != nil:
		return fmt.Errorf("%w: credentials in the URL", ErrScheme)
	}
	return nil
}

// NewClient returns a client that keeps no cookies, uses no proxy from the environment,
// follows at most MaxRedirects http(s) redirects without a Referer, and dials only addresses
// the rules allow.
func NewClient(o Options) *http.Client {
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 5 * time.Second
	}
	if o.HeaderTimeout <= 0 {
		o.HeaderTimeout = 10 * time.Second
	}
	if o.MaxRedirects <= 0 {
		o.MaxRedirects = 5
	}
	if o.UserAgent == "" {
		o.UserAgent = "Vitrine"
	}
	allowed := make(map[string]bool, len(o.AllowHosts))
	for _, h := range o.AllowHosts {
		allowed[strings.ToLower(h)] = true
	}
	guardian := ssrf.New(ssrf.WithAnyPort())
	guarded := &net.Dialer{
		Timeout: o.ConnectTimeout,
		Control: func(network, address string, _ syscall.RawConn) error {
			if err := guardian.Safe(network, address, nil); err != nil {
				return fmt.Errorf("%w: %s (%v)", ErrForbiddenAddress, address, err)
			}
			return nil
		},
	}
	open := &net.Dialer{Timeout: o.ConnectTimeout}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		if allowed[strings.ToLower(host)] || allowed[strings.ToLower(addr)] {
			return open.DialContext(ctx, network, addr)
		}
		return guarded.DialContext(ctx, network, addr)
	}
	transport := &http.Transport{
		Proxy:                  nil,
		DialContext:            dial,
		TLSHandshakeTimeout:    o.ConnectTimeout,
		ResponseHeaderTimeout:  o.HeaderTimeout,
		MaxResponseHeaderBytes: 64 << 10,
		DisableCompression:     true,
		MaxIdleConns:           64,
		MaxIdleConnsPerHost:    4,
		MaxConnsPerHost:        o.MaxConnsPerHost,
		IdleConnTimeout:        30 * time.Second,
		ForceAttemptHTTP2:      true,
	}
	return &http.Client{
		Transport: userAgent{next: transport, agent: o.UserAgent},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > o.MaxRedirects {
				return fmt.Errorf("%w: more than %d", ErrTooManyRedirects, o.MaxRedirects)
			}
			if err := checkParsed(req.URL); err != nil {
				return err
			}
			req.Header.Del("Referer")
			req.Header.Del("Authorization")
			req.Header.Del("Cookie")
			return nil
		},
	}
}

// userAgent sets the User-Agent of every request, redirects included.
type userAgent struct {
	next  http.RoundTripper
	agent string
}

func (u userAgent) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("User-Agent", u.agent)
	return u.next.RoundTrip(req)
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the transport.
func (u userAgent) CloseIdleConnections() {
	if t, ok := u.next.(interface{ CloseIdleConnections() }); ok {
		t.CloseIdleConnections()
	}
}
