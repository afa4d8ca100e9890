package main

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/postgres"
	"github.com/vitrine-dev/vitrine/postgres/adopt"
)

// adoptFlags are the flags of `vitrine migrate adopt`, besides the common settings.
type adoptFlags struct {
	plan            bool
	overrides       string
	orderBy         string
	batchSize       int
	pathPattern     string
	pathFormat      string
	orphanSupplier  string
	defaultSupplier string
	storeTimes      bool
	lockTimeout     time.Duration
	retries         int
}

func (f *adoptFlags) define(fs *flag.FlagSet) {
	fs.BoolVar(&f.plan, "plan", false, "inspect and report what adopt would do; change nothing")
	fs.StringVar(&f.overrides, "overrides", "", "CSV of manual orders (product_id,image_id,order) that win for the products they name")
	fs.StringVar(&f.orderBy, "order-by", "created_at, image_url", "the stable order of each gallery: columns among created_at, image_url, storage_path, image_order, id, each optionally asc or desc")
	fs.IntVar(&f.batchSize, "batch-size", 200, "products per normalization transaction")
	fs.StringVar(&f.pathPattern, "created-at-path-pattern", "", "PostgreSQL regular expression whose first group finds a time in storage_path, for images the store does not date")
	fs.StringVar(&f.pathFormat, "created-at-path-format", "", "how to read that time: unix, unix_ms, or a to_timestamp format such as YYYYMMDDHH24MISS (read in the server's TimeZone)")
	fs.StringVar(&f.orphanSupplier, "orphan-supplier", uuid.Nil.String(), "supplier of the products adopt creates for images whose product is missing")
	fs.StringVar(&f.defaultSupplier, "default-supplier", "", "supplier for products that have none (without it, such products stop adopt)")
	fs.BoolVar(&f.storeTimes, "store-times", true, "date images by their object's Last-Modified in the configured store (local or S3) when it has them")
	fs.DurationVar(&f.lockTimeout, "lock-timeout", 2*time.Second, "longest wait for a table lock before a schema change is retried")
	fs.IntVar(&f.retries, "retries", 5, "how many times a schema change that timed out waiting for a lock is retried")
}

// adoptCommand is `vitrine migrate adopt`: it brings a legacy products/product_images database
// to Vitrine's schema while the shop keeps running, or with -plan reports what it would do.
func adoptCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var f adoptFlags
	cfg, err := parseFlags("migrate adopt", args, getenv, stderr, f.define)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	opts, err := f.options(cfg, log)
	if err != nil {
		return err
	}
	dbs, err := locateDatabases(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer dbs.stop()
	db, err := postgres.Open(ctx, dbs.schemaURL())
	if err != nil {
		return err
	}
	defer db.Close()
	if f.plan {
		plan, err := adopt.MakePlan(ctx, db, opts)
		if err != nil {
			return err
		}
		_, err = plan.WriteTo(stdout)
		return err
	}
	res, err := adopt.Run(ctx, db, opts)
	for _, s := range res.Steps {
		state := "done"
		if !s.Finished {
			state = "FAILED"
		}
		fmt.Fprintf(stdout, "%-13s %-6s %8.3fs\n", s.Name, state, s.Seconds)
	}
	fmt.Fprintf(stdout, "total %.3fs; image writes refused for at most %.3fs\n", res.Total.Seconds(), res.WritesPaused.Seconds())
	return err
}

// options turns the flags into adopt's options, reading the overrides file.
func (f *adoptFlags) options(cfg config, log *slog.Logger) (adopt.Options, error) {
	var errs []error
	opts := adopt.Options{
		OrderBy: f.orderBy, BatchSize: f.batchSize, PathPattern: f.pathPattern, PathFormat: f.pathFormat,
		LockTimeout: f.lockTimeout, Retries: f.retries, Logger: log,
	}
	var err error
	if opts.OrphanSupplier, err = uuid.Parse(f.orphanSupplier); err != nil {
		errs = append(errs, fmt.Errorf("-orphan-supplier: %w", err))
	}
	if f.defaultSupplier != "" {
		id, err := uuid.Parse(f.defaultSupplier)
		if err != nil {
			errs = append(errs, fmt.Errorf("-default-supplier: %w", err))
		}
		opts.DefaultSupplier = &id
	}
	if f.overrides != "" {
		if opts.Overrides, err = readOverrides(f.overrides); err != nil {
			errs = append(errs, err)
		}
	}
	if f.storeTimes {
		// The configured store: a bucket, or the local directory when it exists.
		_, statErr := os.Stat(filepath.Join(cfg.DataDir, "objects"))
		if cfg.Storage == "s3" || statErr == nil {
			opts.ObjectTimes = func(ctx context.Context, fn func(string, time.Time) error) error {
				o, err := openStore(ctx, cfg, log)
				if err != nil {
					return err
				}
				defer o.close()
				for obj, err := range o.store.List(ctx, "", "") {
					if err != nil {
						return err
					}
					if err := fn(obj.Key, obj.ModTime); err != nil {
						return err
					}
				}
				return nil
			}
		}
	}
	return opts, errors.Join(errs...)
}

// readOverrides reads a CSV of product_id,image_id,order rows; a first row whose order is not a
// number is taken as a header.
func readOverrides(path string) ([]adopt.Override, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("-overrides: %w", err)
	}
	defer file.Close()
	r := csv.NewReader(file)
	r.FieldsPerRecord = 3
	r.TrimLeadingSpace = true
	var out []adopt.Override
	for line := 1; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("-overrides %s: %w", path, err)
		}
		order, oerr := strconv.Atoi(strings.TrimSpace(rec[2]))
		if oerr != nil && line == 1 {
			continue // a header
		}
		product, perr := uuid.Parse(strings.TrimSpace(rec[0]))
		image, ierr := uuid.Parse(strings.TrimSpace(rec[1]))
		if err := errors.Join(perr, ierr, oerr); err != nil {
			return nil, fmt.Errorf("-overrides %s line %d: %w", path, line, err)
		}
		out = append(out, adopt.Override{ProductID: product, ImageID: image, Order: order})
	}
}
