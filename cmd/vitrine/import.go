package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/bulkimport"
	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/internal/apiclient"
	"github.com/vitrine-dev/vitrine/jwtauth"
)

// importFailuresShown bounds the failed lines `vitrine import` prints.
const importFailuresShown = 50

// importCommand is `vitrine import FILE`: the feed sent to a server's POST /v1/imports
// (package bulkimport), then, unless -detach, the import followed until it finishes, with a
// progress bar on a terminal and a summary with the failed lines.
func importCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var base, token, format, supplierFlag string
	var detach bool
	var poll time.Duration
	var flags *flag.FlagSet
	cfg, err := parseFlags("import", args, getenv, stderr, func(fs *flag.FlagSet) {
		flags = fs
		fs.StringVar(&base, "url", "http://localhost:8080", "base URL of the server")
		fs.StringVar(&token, "token", "", "bearer token; default: one minted with VITRINE_JWT_SECRET, of the -supplier (or the service role without it)")
		fs.StringVar(&supplierFlag, "supplier", "", "the supplier whose products the feed names (for a service-role token, or to mint its token)")
		fs.StringVar(&format, "format", "", "csv or ndjson; default: from the file's first character")
		fs.BoolVar(&detach, "detach", false, "print the import's id once the server has the feed, without waiting for it to finish")
		fs.DurationVar(&poll, "poll", time.Second, "how often the import's progress is read")
	})
	if err != nil {
		return err
	}
	rest := flags.Args()
	if len(rest) != 1 {
		return errors.New("usage: vitrine import [flags] FILE (CSV with a header row, or NDJSON; - reads standard input)")
	}
	var supplier *uuid.UUID
	if supplierFlag != "" {
		id, err := uuid.Parse(supplierFlag)
		if err != nil {
			return fmt.Errorf("-supplier %q is not a valid id", supplierFlag)
		}
		supplier = &id
	}
	if token == "" {
		if cfg.JWTSecret == "" {
			return errors.New("vitrine import needs -token, or VITRINE_JWT_SECRET to mint one")
		}
		caller := gallery.Service()
		if supplier != nil {
			caller = gallery.Supplier(*supplier)
		}
		if token, err = jwtauth.Mint([]byte(cfg.JWTSecret), caller, cfg.JWTIssuer, cfg.JWTAudience, time.Hour); err != nil {
			return err
		}
	}
	if tokenSupplier(token) != uuid.Nil {
		supplier = nil // a supplier imports into its own products: the server takes it from the token
	}
	in := io.Reader(os.Stdin)
	if rest[0] != "-" {
		f, err := os.Open(rest[0])
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	br := bufio.NewReaderSize(in, 64<<10)
	f := bulkimport.Format(strings.ToLower(format))
	switch f {
	case "":
		f = bulkimport.Detect(br)
	case bulkimport.CSV, bulkimport.NDJSON:
	default:
		return fmt.Errorf("-format %q is not csv or ndjson", format)
	}
	client, err := bulkimport.New(base, token, nil)
	if err != nil {
		return err
	}
	sent, err := client.Start(ctx, br, f, supplier)
	if err != nil {
		return err
	}
	b := sent.Import
	if detach {
		fmt.Fprintln(stdout, b.Id)
		return nil
	}
	fmt.Fprintf(stdout, "import %s: %d lines\n", b.Id, b.Lines)
	bar := newProgress(stderr, b.Lines, "import")
	b, err = client.Wait(ctx, b.Id, poll, func(b *apiclient.BulkImport) {
		bar.set(b.Done + b.Failed)
	})
	bar.done()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "import %s finished: %d lines, %d done, %d failed\n", b.Id, b.Lines, b.Done, b.Failed)
	if b.Failed == 0 {
		return nil
	}
	failures, err := client.Failures(ctx, b.Id, importFailuresShown)
	if err != nil {
		return err
	}
	for _, fl := range failures {
		fmt.Fprintf(stdout, "  line %d: %s: %s\n", sent.FileLine(fl.Line), fl.Code, fl.Message)
	}
	if b.Failed > len(failures) {
		fmt.Fprintf(stdout, "  ... and %d more (GET /v1/imports/%s)\n", b.Failed-len(failures), b.Id)
	}
	return fmt.Errorf("%d of %d lines failed", b.Failed, b.Lines)
}
