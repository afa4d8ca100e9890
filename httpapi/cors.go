package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/rs/cors"

	"github.com/vitrine-dev/vitrine/gallery"
)

// Cross-origin calls: a page on an origin the operator lists (a shop's own admin, with the
// gallery element in it) may call /v1 from a browser with a bearer token. Tokens travel in
// the Authorization header, never in cookies, so Access-Control-Allow-Credentials is never
// sent and cookies, HTTP authentication and client certificates stay out of every
// cross-origin call. /objects is left out: <img> and srcset load images across origins
// without CORS, and the job UI under /admin/jobs (HTTP Basic) is never offered to other
// origins.

// CORSMethods are the methods a cross-origin page may use on /v1.
var CORSMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// CORSHeaders are the request headers a cross-origin page may send beyond the ones the Fetch
// standard always allows: the token, the supplier a team member acts for, a JSON body's type,
// an event stream's resumption point and a request id for the logs.
var CORSHeaders = []string{"Authorization", gallery.SupplierHeader, "Content-Type", "Last-Event-ID", "X-Request-Id"}

// CORSExposedHeaders are the response headers a cross-origin page may read beyond the ones
// the Fetch standard always exposes: where a created resource is, when to retry, an entity
// tag, and why a token was refused.
var CORSExposedHeaders = []string{"Location", "Retry-After", "ETag", "WWW-Authenticate"}

// CORSMaxAge is how long, in seconds, a browser may reuse a preflight's answer (Chromium
// caps it at 7200): ten minutes, so that a change of the allowed origins reaches browsers
// soon after a restart.
const CORSMaxAge = 600

// ParseOrigins reads a comma-separated list of origins allowed to call /v1 from a browser,
// each scheme://host[:port] exactly as a browser sends it in the Origin header (http or
// https, lower case, no path, query, user or default port). "" is no origin at all. "*"
// and wildcards are refused: they would let every page on the web call the API from its
// visitors' browsers, including a server that only their network reaches. It reports every problem of the list at once.
func ParseOrigins(list string) ([]string, error) {
	var origins []string
	var errs []error
	seen := map[string]bool{}
	for o := range strings.SplitSeq(list, ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		if err := checkOrigin(o); err != nil {
			errs = append(errs, fmt.Errorf("%q: %w", o, err))
			continue
		}
		if !seen[o] {
			seen[o] = true
			origins = append(origins, o)
		}
	}
	return origins, errors.Join(errs...)
}

// checkOrigin checks that o is one origin in the form the Origin header carries.
func checkOrigin(o string) error {
	if strings.Contains(o, "*") {
		return errors.New("wildcards are not allowed: list each origin")
	}
	if o == "null" {
		return errors.New(`"null" is the origin of sandboxed and local pages, never of a shop's admin`)
	}
	u, err := url.Parse(o)
	if err != nil {
		return err
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return errors.New("not an http or https origin")
	case u.User != nil:
		return errors.New("an origin has no user or password")
	case u.Host == "":
		return errors.New("no host")
	case u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(o, "?") || strings.HasSuffix(o, "#"):
		return errors.New("an origin is scheme://host[:port], with no path, not even /")
	case (u.Scheme == "http" && u.Port() == "80") || (u.Scheme == "https" && u.Port() == "443"):
		return errors.New("browsers send an origin without its default port: leave it out")
	case o != strings.ToLower(o):
		return errors.New("browsers send origins in lower case")
	}
	return nil
}

// cors lets the pages of s.CORSOrigins call /v1 from a browser; without origins it is next
// itself, and no response carries a CORS header. rs/cors answers the protocol: a preflight
// (OPTIONS with Access-Control-Request-Method) from an allowed origin is answered 204 with
// the allowed method and headers and a max age, and any other /v1 response to an allowed
// origin carries Access-Control-Allow-Origin (that origin) and the exposed headers. A
// preflight from another origin goes to the routes like any OPTIONS request (a 405 with no
// CORS header), so the browser refuses the call.
func (s *Server) cors(next http.Handler) http.Handler {
	if len(s.CORSOrigins) == 0 {
		return next
	}
	c := cors.New(cors.Options{
		AllowedOrigins:   s.CORSOrigins,
		AllowedMethods:   CORSMethods,
		AllowedHeaders:   CORSHeaders,
		ExposedHeaders:   CORSExposedHeaders,
		MaxAge:           CORSMaxAge,
		AllowCredentials: false,
	})
	withCORS := c.Handler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/v1/") {
			next.ServeHTTP(w, r)
			return
		}
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		if preflight && !c.OriginAllowed(r) {
			w.Header().Add("Vary", "Origin")
			next.ServeHTTP(w, r)
			return
		}
		withCORS.ServeHTTP(w, r)
	})
}
