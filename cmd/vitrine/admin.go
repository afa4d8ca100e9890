package main

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"

	"riverqueue.com/riverui"
)

// adminPrefix is where River's job UI is mounted.
const adminPrefix = "/admin/jobs"

// adminHandler serves River's web UI. With VITRINE_ADMIN_PASSWORD set it asks for that
// password (user admin); without, it answers loopback clients only.
func (a *app) adminHandler(ctx context.Context) (http.Handler, error) {
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
	password := a.cfg.AdminPassword
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if password != "" {
			user, pass, ok := r.BasicAuth()
			if !ok || user != "admin" || subtle.ConstantTimeCompare([]byte(pass), []byte(password)) != 1 {
				w.Header().Set("WWW-Authenticate", `Basic realm="vitrine jobs"`)
				http.Error(w, "authentication required", http.StatusUnauthorized)
				return
			}
		} else if host, _, err := net.SplitHostPort(r.RemoteAddr); err != nil || !net.ParseIP(host).IsLoopback() {
			http.Error(w, "the job UI answers loopback clients only unless VITRINE_ADMIN_PASSWORD is set", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	}), nil
}
