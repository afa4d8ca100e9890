package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"

	"github.com/vitrine-dev/vitrine/pgcluster"
	"github.com/vitrine-dev/vitrine/postgres"
)

// openDatabase connects to DATABASE_URL, or starts the private cluster under the data
// directory when it is not set. The returned stop function closes the pool and stops the
// private cluster, if one was started.
func openDatabase(ctx context.Context, cfg config, log *slog.Logger) (*postgres.DB, func(), error) {
	url := cfg.DatabaseURL
	var cluster *pgcluster.Cluster
	if url == "" {
		dir := filepath.Join(cfg.DataDir, "pg")
		log.Info("no DATABASE_URL: starting a private PostgreSQL cluster", "dir", dir)
		c, err := pgcluster.Start(ctx, dir)
		if err != nil {
			return nil, nil, err
		}
		cluster = c
		url = c.URL("vitrine")
	}
	db, err := postgres.Open(ctx, url)
	if err != nil {
		if cluster != nil {
			_ = cluster.Stop(context.WithoutCancel(ctx))
		}
		return nil, nil, err
	}
	stop := func() {
		db.Close()
		if cluster != nil {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pgcluster.StopTimeout)
			defer cancel()
			if err := cluster.Stop(sctx); err != nil {
				log.Error("stopping private cluster", "error", err)
			} else {
				log.Info("private PostgreSQL cluster stopped")
			}
		}
	}
	return db, stop, nil
}

func migrate(ctx context.Context, cfg config, action string, log *slog.Logger, out io.Writer) error {
	db, stop, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer stop()
	if action == "up" {
		n, err := db.Migrate(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "applied %d migration(s)\n", n)
		return nil
	}
	st, err := db.MigrationStatuses(ctx)
	if err != nil {
		return err
	}
	for _, s := range st {
		state := "pending"
		if s.Applied {
			state = "applied"
		}
		fmt.Fprintf(out, "%05d  %-8s %s\n", s.Version, state, s.Name)
	}
	return nil
}
