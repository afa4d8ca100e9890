package httpapi

import "net/http"

// DefaultCSP is the Content-Security-Policy of every response that does not set its own: JSON
// and objects load nothing, run nothing, and may not be framed.
const DefaultCSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// securityHeaders gives every response nosniff, X-Frame-Options DENY and DefaultCSP; a handler
// that serves HTML replaces the policy with its page's own, which keeps frame-ancestors 'none'.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", DefaultCSP)
		next.ServeHTTP(w, r)
	})
}
