package main

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"strings"

	"riverqueue.com/riverui"
)

// adminPrefix is where River's job UI is mounted.
const adminPrefix = "/admin/jobs"

// adminCSP is the Content-Security-Policy of the job UI: River UI's page loads its script and
// style sheet from its own origin, and its script adds style elements and calls its API there;
// nothing may frame it.
const adminCSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// adminHandler serves River's web UI. With VITRINE_ADMIN_PASSWORD set it asks for that
// password (user admin). Without one it is served only when the server listens on loopback
// alone (VITRINE_ADDR of 127.0.0.1, ::1 or localhost) and the request names a loopback host,
// so that neither a reverse proxy on the same host nor a web page rebinding its name to
// 127.0.0.1 reaches it; on any other listener it is off. Requests other than GET and HEAD
// must come from the UI's own origin (Sec-Fetch-Site, else Origin against Host): a web page
// elsewhere cannot make the browser of someone signed in change jobs.
func (a *app) adminHandler(ctx context.Context) (http.Handler, error) {
	password := a.cfg.AdminPassword
	if password == "" && !loopbackOnly(a.cfg.Addr) {
		a.log.Warn("the job UI is off: VITRINE_ADMIN_PASSWORD is not set and VITRINE_ADDR is not loopback-only", "addr", a.cfg.Addr)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "the job UI is off: this server listens beyond loopback and VITRINE_ADMIN_PASSWORD is not set", http.StatusForbidden)
		}), nil
	}
	h, err := riverui.NewHandler(&riverui.HandlerOpts{
		Endpoints: riverui.NewEndpoints(a.jobs, nil),
		Logger:    a.log.With("component", "riverui"),
		Prefix:    adminPrefix,
	})
	if err != nil {
		return nil, fmt.Errorf("creating the job UI: %w", err)
	}
	if err := h.Start(ctx); err != nil {
		return nil, fmt.Errorf("starting the job UI: %w", err)
	}
	sameOrigin := http.NewCrossOriginProtection()
	sameOrigin.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "cross-origin request refused: the job UI takes changes from its own pages only", http.StatusForbidden)
	}))
	ui := sameOrigin.Handler(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", adminCSP)
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if password != "" {
			user, pass, ok := r.BasicAuth()
			if !ok || user != "admin" || subtle.ConstantTimeCompare([]byte(pass), []byte(password)) != 1 {
				w.Header().Set("WWW-Authenticate", `Basic realm="vitrine jobs"`)
				http.Error(w, "authentication required", http.StatusUnauthorized)
				return
			}
		} else if !loopbackHost(r.Host) || !loopbackAddr(r.RemoteAddr) {
			http.Error(w, "without VITRINE_ADMIN_PASSWORD the job UI answers requests to localhost, 127.0.0.1 or [::1] only", http.StatusForbidden)
			return
		}
		ui.ServeHTTP(w, r)
	}), nil
}

// loopbackOnly reports whether the listen address addr (host:port) accepts loopback
// connections only.
func loopbackOnly(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	return err == nil && isLoopbackName(host)
}

// loopbackHost reports whether a request's Host (with or without a port) names this machine's
// loopback interface.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	return isLoopbackName(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
}

func isLoopbackName(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loopbackAddr reports whether a connection's remote address is a loopback one.
func loopbackAddr(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	return err == nil && net.ParseIP(host).IsLoopback()
}
