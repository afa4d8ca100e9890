package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"
)

// jobsCommand is `vitrine jobs list [-state S]` and `vitrine jobs retry <job-id | -all-failed>`.
func jobsCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "retry") {
		fmt.Fprint(stderr, usage)
		return errors.New("jobs needs list or retry")
	}
	var state string
	var limit int
	var allFailed bool
	var flags *flag.FlagSet
	cfg, err := parseFlags("jobs "+args[0], args[1:], getenv, stderr, func(fs *flag.FlagSet) {
		flags = fs
		if args[0] == "list" {
			fs.StringVar(&state, "state", "", "only jobs in this state: failed, available, running, retryable, completed, cancelled, discarded, scheduled")
			fs.IntVar(&limit, "limit", 100, "at most this many jobs, newest first")
		} else {
			fs.BoolVar(&allFailed, "all-failed", false, "retry every failed (discarded or cancelled) thumbnail job")
		}
	})
	if err != nil {
		return err
	}
	a, err := newApp(ctx, cfg, newLogger(cfg, stderr), false)
	if err != nil {
		return err
	}
	defer a.Close()

	if args[0] == "list" {
		list, err := a.db.ThumbnailJobs(ctx, state, limit)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "JOB\tIMAGE\tSTATE\tATTEMPTS\tCREATED\tFINISHED\tLAST ERROR")
		for _, j := range list {
			finished := "-"
			if j.FinishedAt != nil {
				finished = j.FinishedAt.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%d/%d\t%s\t%s\t%s\n", j.JobID, j.ImageID, j.State, j.Attempts, j.MaxAttempts,
				j.CreatedAt.Format(time.RFC3339), finished, j.LastError)
		}
		return tw.Flush()
	}

	var ids []int64
	switch rest := flags.Args(); {
	case allFailed && len(rest) == 0:
		list, err := a.db.ThumbnailJobs(ctx, "failed", 1_000_000)
		if err != nil {
			return err
		}
		for _, j := range list {
			ids = append(ids, j.JobID)
		}
	case !allFailed && len(rest) == 1:
		id, err := strconv.ParseInt(rest[0], 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a job id", rest[0])
		}
		ids = append(ids, id)
	default:
		return errors.New("usage: vitrine jobs retry <job-id> | -all-failed")
	}
	for _, id := range ids {
		if _, err := a.jobs.JobRetry(ctx, id); err != nil {
			return fmt.Errorf("retrying job %d: %w", id, err)
		}
	}
	fmt.Fprintf(stdout, "%d job(s) made available again\n", len(ids))
	return nil
}
