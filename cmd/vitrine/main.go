// Command vitrine is the product-image gallery service: `vitrine serve` runs the HTTP API,
// `vitrine migrate up|status` manages the database schema.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/vitrine-dev/vitrine/gallery"
)

const usage = `Usage: vitrine <command> [flags]

Commands:
  setup            prepare an empty database reached with its owner's DATABASE_URL; prints the URLs to serve with
  serve            run the HTTP API and the job workers (migrates the database first)
  work             run only the job workers
  jobs list        list thumbnail jobs [-state failed]
  jobs retry       retry a job by id, or every failed one (-all-failed)
  thumbnails regenerate  remake thumbnails [-product ID | -all], e.g. after the presets changed
  purge            delete objects no row refers to [-dry-run] [-grace 48h] [-prefix P]
  members add      let a user act for a supplier: -supplier ID -user ID [-role editor|viewer]
  members remove   end a user's membership of a supplier's team: -supplier ID -user ID
  members list     list suppliers' teams [-supplier ID]
  token            mint a bearer token with the configured secret [-supplier ID] [-role R] [-ttl D]
  migrate up       apply pending database migrations
  migrate status   list migrations and whether each is applied
  migrate adopt    bring a legacy products/product_images database to Vitrine's schema, online [-plan]
  config           print the effective configuration and where each value comes from, secrets redacted [-json]
  import FILE      send a feed of image URLs (CSV with a header row, or NDJSON) to a server and follow it [-url U] [-token T] [-detach]
  loadtest         load servers with concurrent clients, then check the gallery invariants [-url U] [-clients N] [-duration D]
  doctor           check a deployment (database, login role, RLS, migrations, store, libvips, clock) and say what to fix

Run 'vitrine <command> -h' for the flags; every flag also has a VITRINE_* variable.
`

func main() {
	bindMallocArenas(os.Args[1:])
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "vitrine:", err)
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	// Commands and workers act as the service role; API requests act as their own callers.
	ctx = gallery.WithCaller(ctx, gallery.Service())
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	switch args[0] {
	case "serve":
		cfg, err := parseFlags("serve", args[1:], getenv, stderr)
		if err != nil {
			return err
		}
		log := newLogger(cfg, stderr)
		setMemoryLimit(cfg, getenv, log)
		return serve(ctx, cfg, log)
	case "work":
		cfg, err := parseFlags("work", args[1:], getenv, stderr)
		if err != nil {
			return err
		}
		log := newLogger(cfg, stderr)
		setMemoryLimit(cfg, getenv, log)
		return work(ctx, cfg, log)
	case "purge":
		return purgeCommand(ctx, args[1:], getenv, stdout, stderr)
	case "members":
		return membersCommand(ctx, args[1:], getenv, stdout, stderr)
	case "token":
		return tokenCommand(args[1:], getenv, stdout, stderr)
	case "jobs":
		return jobsCommand(ctx, args[1:], getenv, stdout, stderr)
	case "thumbnails":
		return thumbnailsCommand(ctx, args[1:], getenv, stdout, stderr)
	case "config":
		return configCommand(args[1:], getenv, stdout, stderr)
	case "loadtest":
		return loadtestCommand(ctx, args[1:], getenv, stdout, stderr)
	case "import":
		return importCommand(ctx, args[1:], getenv, stdout, stderr)
	case "doctor":
		return doctorCommand(ctx, args[1:], getenv, stdout, stderr)
	case "setup":
		return setupCommand(ctx, args[1:], getenv, stdout, stderr)
	case "migrate":
		if len(args) >= 2 && args[1] == "adopt" {
			return adoptCommand(ctx, args[2:], getenv, stdout, stderr)
		}
		if len(args) < 2 || (args[1] != "up" && args[1] != "status") {
			fmt.Fprint(stderr, usage)
			return errors.New("migrate needs up, status or adopt")
		}
		cfg, err := parseFlags("migrate "+args[1], args[2:], getenv, stderr)
		if err != nil {
			return err
		}
		return migrate(ctx, cfg, args[1], newLogger(cfg, stderr), stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}

// parseFlags reads the configuration of command name from the environment and args. extra,
// when given, defines the command's own flags on the same flag set first.
func parseFlags(name string, args []string, getenv func(string) string, stderr io.Writer, extra ...func(*flag.FlagSet)) (config, error) {
	fs := flag.NewFlagSet("vitrine "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	for _, f := range extra {
		f(fs)
	}
	return loadConfig(fs, args, getenv)
}
