package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/vitrine-dev/vitrine/httpapi"
	"github.com/vitrine-dev/vitrine/storage"
	"github.com/vitrine-dev/vitrine/upload"
)

// serve migrates the database and serves the API until ctx ends (SIGINT or SIGTERM), then
// lets running requests finish, closes the database and stops the private cluster.
func serve(ctx context.Context, cfg config, log *slog.Logger) error {
	db, stopDB, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer stopDB()
	n, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	log.Info("database migrated", "applied", n)

	store, err := storage.NewLocal(filepath.Join(cfg.DataDir, "objects"))
	if err != nil {
		return fmt.Errorf("opening object store: %w", err)
	}
	defer store.Close()
	if removed, err := store.CleanTemp(time.Hour); err != nil {
		log.Warn("cleaning stale temporary objects", "error", err)
	} else if removed > 0 {
		log.Info("removed stale temporary objects", "count", removed)
	}

	base := cfg.publicURL()
	objectURL := func(key string) string { return base + "/objects/" + key }
	api := &httpapi.Server{
		Gallery: db,
		Uploads: &upload.Service{
			Store: store, Gallery: db, MaxBytes: cfg.MaxUploadBytes, MaxPixels: cfg.MaxPixels, ObjectURL: objectURL,
		},
		Store:     store,
		ObjectURL: objectURL,
		Logger:    log,
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Addr, err)
	}
	srv := &http.Server{
		Handler:           api.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("serving", "addr", ln.Addr().String(), "public_url", base, "docs", base+"/docs")
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
