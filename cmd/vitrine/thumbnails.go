package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/google/uuid"
)

// regenerateBatch is how many jobs one transaction of a regeneration enqueues.
const regenerateBatch = 200

// thumbnailsCommand is `vitrine thumbnails regenerate [-product ID | -all]`: it enqueues jobs
// that remake and replace thumbnails, for example after the presets changed. The current
// thumbnails stay until their replacements are recorded.
func thumbnailsCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "regenerate" {
		fmt.Fprint(stderr, usage)
		return errors.New("thumbnails needs regenerate")
	}
	var product string
	var all bool
	cfg, err := parseFlags("thumbnails regenerate", args[1:], getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&product, "product", "", "the product whose thumbnails to remake")
		fs.BoolVar(&all, "all", false, "remake the thumbnails of every product")
	})
	if err != nil {
		return err
	}
	if (product == "") == !all {
		return errors.New("give exactly one of -product ID and -all")
	}
	var productID *uuid.UUID
	if product != "" {
		id, err := uuid.Parse(product)
		if err != nil {
			return fmt.Errorf("-product: %q is not a product id", product)
		}
		productID = &id
	}
	a, err := newApp(ctx, cfg, newLogger(cfg, stderr), false)
	if err != nil {
		return err
	}
	defer a.Close()
	targets, err := a.db.RegenerationTargets(ctx, productID)
	if err != nil {
		return err
	}
	bar := newProgress(stderr, len(targets), "enqueueing")
	for start := 0; start < len(targets); start += regenerateBatch {
		end := min(start+regenerateBatch, len(targets))
		if err := a.db.EnqueueRegeneration(ctx, targets[start:end]); err != nil {
			return err
		}
		bar.set(end)
	}
	bar.done()
	fmt.Fprintf(stdout, "%d thumbnail job(s) enqueued\n", len(targets))
	return nil
}
