package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"golang.org/x/net/netutil"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/httpapi"
)

// readHeaderTimeout is the longest a client may take to send a request's headers.
const readHeaderTimeout = 10 * time.Second

// maxHeaderBytes bounds a request's headers (with its request line): room for long bearer
// tokens and the job UI's cookies, far below net/http's default of 1 MiB.
const maxHeaderBytes = 64 << 10

// serve migrates the database and serves the API, with workers in-process, until ctx ends
// (SIGINT or SIGTERM); then it stops taking requests and fetching jobs, lets running ones
// finish within the shutdown timeout, and closes the database and the private cluster.
func serve(ctx context.Context, cfg config, log *slog.Logger) error {
	auth, log, devSecret, err := verifier(cfg, log)
	if err != nil {
		return err
	}
	a, err := newApp(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer a.Close()
	// SQL (row-level security, through PostgREST too) reads the claim path from the database.
	if err := a.db.SetSupplierClaim(ctx, cfg.SupplierClaim); err != nil {
		return err
	}
	if err := a.serveMetrics(); err != nil {
		return err
	}
	if devSecret != nil {
		if err := startDemo(ctx, a.db, devSecret, cfg, log); err != nil {
			return err
		}
	}
	if cfg.Workers > 0 {
		stopWorkers, err := a.startWorkers(ctx)
		if err != nil {
			return err
		}
		defer stopWorkers()
	}
	admin, err := a.adminHandler(ctx)
	if err != nil {
		return err
	}
	limits := &httpapi.Limits{
		Buckets: a.db,
		Uploads: httpapi.Rate{PerMinute: cfg.UploadsPerMinute, Burst: cfg.UploadBurst},
		Writes:  httpapi.Rate{PerMinute: cfg.WritesPerMinute, Burst: cfg.WriteBurst},
	}
	events := httpapi.NewHub(a.db, httpapi.HubConfig{MaxStreams: cfg.MaxEventStreams, Logger: log.With("component", "events")})
	api := &httpapi.Server{
		Events:               events,
		Auth:                 auth,
		Limits:               limits,
		UploadTimeouts:       httpapi.Timeouts{Stall: cfg.UploadStall, Total: cfg.UploadTimeout},
		UploadSlots:          httpapi.NewUploadSlots(cfg.MaxUploads, cfg.UploadQueueWait),
		BodyTimeout:          cfg.BodyTimeout,
		WriteTimeout:         cfg.WriteTimeout,
		BulkImports:          httpapi.BulkImports{MaxLines: cfg.ImportMaxLines, MaxRunning: cfg.ImportMaxRunning},
		Gallery:              a.db,
		Webhooks:             a.db,
		WebhooksPerOwner:     cfg.WebhooksPerOwner,
		Uploads:              a.uploads,
		Store:                a.store,
		ObjectURL:            a.objectURL,
		Presets:              gallery.PresetNames(cfg.Presets),
		ObjectLocation:       a.objectLocation,
		ObjectLocationMaxAge: a.objectMaxAge,
		Logger:               log,
		Admin:                admin,
		CORSOrigins:          cfg.CORSOrigins,
		Readiness:            a.readiness(cfg.Workers > 0),
		Tracer:               a.obs.tracer,
	}
	if a.obs.metrics != nil {
		api.Observer = a.obs.metrics
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Addr, err)
	}
	// Past MaxConnections, new connections wait in the kernel's queue until one ends; the
	// timeouts make sure one does. Bodies and responses are timed per request by the API
	// (uploads may take far longer than other requests), not by ReadTimeout or WriteTimeout.
	ln = netutil.LimitListener(ln, cfg.MaxConnections)
	srv := &http.Server{
		Handler:           api.Handler(),
		ReadHeaderTimeout: readHeaderTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		IdleTimeout:       cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	srv.RegisterOnShutdown(events.Shutdown)
	base := cfg.publicURL()
	log.Info("serving", "addr", ln.Addr().String(), "public_url", base, "docs", base+"/docs", "jobs_ui", base+"/admin/jobs/")
	hubCtx, stopHub := context.WithCancel(ctx)
	defer stopHub()
	go events.Run(hubCtx)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutting down: %w", err)
	}
	return nil
}

// work runs only the job workers, so they can be scaled out apart from the API.
func work(ctx context.Context, cfg config, log *slog.Logger) error {
	if cfg.Workers < 1 {
		return errors.New("vitrine work needs VITRINE_WORKERS of at least 1")
	}
	a, err := newApp(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.serveMetrics(); err != nil {
		return err
	}
	stop, err := a.startWorkers(ctx)
	if err != nil {
		return err
	}
	<-ctx.Done()
	log.Info("shutting down")
	stop()
	return nil
}
