package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/vitrine-dev/vitrine/storage"
	"github.com/vitrine-dev/vitrine/storage/localfs"
	"github.com/vitrine-dev/vitrine/storage/s3store"
)

// objectStore is the configured object store and how clients reach its objects.
type objectStore struct {
	store storage.Store
	// url is the URL stored for an object and handed to clients.
	url func(key string) string
	// location, when not nil, is where GET /objects/{key} redirects, for maxAge.
	location func(ctx context.Context, key string) (string, error)
	maxAge   time.Duration
	close    func()
}

// openStore opens the object store of cfg: a directory under the data directory (whose
// stale temporary files it removes), or an S3 bucket (which it checks it can list).
func openStore(ctx context.Context, cfg config, log *slog.Logger) (*objectStore, error) {
	base := cfg.publicURL()
	own := func(key string) string { return base + "/objects/" + key }
	if cfg.Storage != "s3" {
		local, err := localfs.New(filepath.Join(cfg.DataDir, "objects"))
		if err != nil {
			return nil, fmt.Errorf("opening object store: %w", err)
		}
		if removed, err := local.CleanTemp(time.Hour); err != nil {
			log.Warn("cleaning stale temporary objects", "error", err)
		} else if removed > 0 {
			log.Info("removed stale temporary objects", "count", removed)
		}
		return &objectStore{store: local, url: own, close: func() { local.Close() }}, nil
	}

	retries := cfg.S3MaxRetries
	if retries == 0 {
		retries = -1 // s3store reads 0 as its default
	}
	s3, err := s3store.New(s3store.Config{
		Endpoint: cfg.S3Endpoint, Region: cfg.S3Region, Bucket: cfg.S3Bucket, PathStyle: cfg.S3PathStyle,
		AccessKeyID: cfg.S3AccessKeyID, SecretAccessKey: cfg.S3SecretAccessKey, SessionToken: cfg.S3SessionToken,
		MaxRetries: retries,
		TempDir:    filepath.Join(cfg.DataDir, "spool"),
	})
	if err != nil {
		return nil, fmt.Errorf("opening the S3 object store: %w", err)
	}
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := s3.Check(cctx); err != nil {
		return nil, fmt.Errorf("reaching the S3 bucket (VITRINE_S3_*): %w", err)
	}
	log.Info("objects are kept in S3", "endpoint", cfg.S3Endpoint, "bucket", cfg.S3Bucket, "public_url", cfg.S3PublicURL)
	o := &objectStore{store: s3, url: own, close: func() {}}
	if cfg.S3PublicURL != "" {
		public := func(key string) string { return cfg.S3PublicURL + "/" + key }
		o.url = public
		o.location = func(_ context.Context, key string) (string, error) { return public(key), nil }
		o.maxAge = 24 * time.Hour
	} else {
		expiry := cfg.S3PresignExpiry
		o.location = func(ctx context.Context, key string) (string, error) { return s3.PresignGet(ctx, key, expiry) }
		// A redirect cached for half the validity still leads to a valid URL.
		o.maxAge = expiry / 2
	}
	return o, nil
}
