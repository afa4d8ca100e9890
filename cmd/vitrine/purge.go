package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/reconcile"
)

// purgeCommand is `vitrine purge [-dry-run] [-grace D] [-prefix P]`: one run of the orphan
// purge, now, with its report on stdout and, on a terminal, a progress line on stderr.
func purgeCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var dryRun bool
	var grace time.Duration
	var prefix string
	cfg, err := parseFlags("purge", args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.BoolVar(&dryRun, "dry-run", false, "report what would be deleted, delete nothing")
		fs.DurationVar(&grace, "grace", -1, "keep objects younger than this (default: VITRINE_PURGE_GRACE)")
		fs.StringVar(&prefix, "prefix", "", "only keys starting with this, e.g. variants/")
	})
	if err != nil {
		return err
	}
	if grace < 0 {
		grace = cfg.PurgeGrace
	}
	a, err := newApp(ctx, cfg, newLogger(cfg, stderr), false)
	if err != nil {
		return err
	}
	defer a.Close()
	bar := newProgress(stderr, 0, "purging")
	start := time.Now()
	update := func(r gallery.PurgeRun) {
		bar.status(int(r.ObjectsScanned), fmt.Sprintf("%d objects scanned (%.0f/s), %d unreferenced, %d deleted (%s)",
			r.ObjectsScanned, float64(r.ObjectsScanned)/time.Since(start).Seconds(), r.Orphans, r.Deleted, bytesText(r.BytesReclaimed)))
	}
	run, err := reconcile.Run(ctx, a.db, a.store, reconcile.Options{
		DryRun: dryRun, Grace: grace, Prefix: prefix, Trigger: gallery.PurgeByCommand,
		Progress: update, ProgressEvery: 1000,
	})
	bar.done()
	if run.ID != 0 {
		printPurgeReport(stdout, run)
	}
	return err
}

// printPurgeReport writes a run's report for people.
func printPurgeReport(w io.Writer, r gallery.PurgeRun) {
	verb := "deleted"
	if r.DryRun {
		verb = "would delete"
	}
	fmt.Fprintf(w, "purge run %d: %s", r.ID, r.Status)
	if r.DryRun {
		fmt.Fprint(w, " (dry run: nothing was deleted)")
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  objects scanned   %d (%s)\n", r.ObjectsScanned, bytesText(r.BytesScanned))
	fmt.Fprintf(w, "  referenced        %d\n", r.Referenced)
	fmt.Fprintf(w, "  unreferenced      %d, of which %d younger than the grace period %s (kept)\n", r.Orphans, r.TooYoung, r.Grace)
	fmt.Fprintf(w, "  %-17s %d (%s)\n", verb, r.Deleted, bytesText(r.BytesReclaimed))
	if r.KeptInUse > 0 {
		fmt.Fprintf(w, "  kept, in use again %d\n", r.KeptInUse)
	}
	for _, k := range r.SampleKeys {
		fmt.Fprintf(w, "    %s\n", k)
	}
	if r.Error != "" {
		fmt.Fprintf(w, "  error: %s\n", r.Error)
	}
}

func bytesText(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
