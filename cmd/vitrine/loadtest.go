package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/internal/testphotos"
	"github.com/vitrine-dev/vitrine/jwtauth"
	"github.com/vitrine-dev/vitrine/loadtest"
)

// loadtestCommand is `vitrine loadtest`: concurrent clients against running servers (-url,
// -urls) or, without them, against a `vitrine serve` it runs in this process on loopback;
// then, unless -check=false, the gallery invariants checked against the database and store
// of the configuration (DATABASE_URL, VITRINE_STORAGE...).
func loadtestCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var one, many, token, photoDir string
	var lc loadtest.Config
	var check bool
	var settle time.Duration
	cfg, err := parseFlags("loadtest", args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&one, "url", "", "base URL of the server to load; none: run a `vitrine serve` on loopback for the test")
		fs.StringVar(&many, "urls", "", "comma-separated base URLs of several servers of one deployment; each client spreads its requests over them")
		fs.IntVar(&lc.Clients, "clients", 8, "clients running at once")
		fs.DurationVar(&lc.Duration, "duration", 30*time.Second, "how long the clients send requests")
		fs.StringVar(&token, "token", "", "bearer token of every client; default: a supplier token per client, minted with VITRINE_JWT_SECRET")
		fs.IntVar(&lc.ProductsPerClient, "products", 2, "products each client creates and writes to")
		fs.StringVar(&photoDir, "photos", "", "directory of the images to upload (JPEG, PNG, GIF, WebP); default: real photographs from Debian's mate-backgrounds package, fetched once")
		fs.BoolVar(&check, "check", true, "check the gallery invariants against the database and store afterwards")
		fs.DurationVar(&settle, "settle", 3*time.Minute, "how long the check waits for thumbnail jobs to end and the object outbox to drain")
	})
	if err != nil {
		return err
	}
	for _, u := range strings.Split(one+","+many, ",") {
		if u = strings.TrimRight(strings.TrimSpace(u), "/"); u != "" {
			lc.URLs = append(lc.URLs, u)
		}
	}
	if lc.Photos, err = readPhotos(photoDir); err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	if len(lc.URLs) == 0 {
		stop, err := startLocalServe(ctx, &cfg, log, &lc)
		if err != nil {
			return err
		}
		defer stop()
	}
	if lc.Token, err = clientTokens(cfg, token); err != nil {
		return err
	}

	var checker *loadChecker
	if check {
		quiet := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		if checker, err = openLoadChecker(ctx, cfg, quiet); err != nil {
			return fmt.Errorf("%w (or run with -check=false to measure only)", err)
		}
		defer checker.close()
	}
	fmt.Fprintf(stdout, "load test: %d clients for %s against %s\n", lc.Clients, lc.Duration, strings.Join(lc.URLs, ", "))
	seconds := max(int(lc.Duration.Seconds()), 1)
	bar := newProgress(stderr, seconds, "load")
	lc.Progress = func(s loadtest.Snapshot) {
		// The bar is full, and its line ended, only once done is called.
		bar.status(min(int(s.Elapsed.Seconds()), seconds-1), fmt.Sprintf("%d requests (%.0f/s), %d uploads, %d errors",
			s.Requests, float64(s.Requests)/max(s.Elapsed.Seconds(), 0.001), s.Uploads, s.Errors))
	}
	res, err := loadtest.Run(ctx, lc)
	bar.done()
	if res != nil {
		res.Print(stdout)
	}
	if err != nil {
		return err
	}
	if checker == nil {
		fmt.Fprintln(stdout, "invariants not checked (-check=false)")
		return nil
	}
	rep, err := checker.check(ctx, res, settle, stderr)
	if err != nil {
		return err
	}
	rep.Print(stdout)
	if !rep.OK() {
		return fmt.Errorf("%d invariant violations", len(rep.Violations))
	}
	return nil
}

// loadChecker holds what the check after a load test reads.
type loadChecker struct {
	app    *app
	before loadtest.Objects
}

func openLoadChecker(ctx context.Context, cfg config, log *slog.Logger) (*loadChecker, error) {
	if cfg.DatabaseURL == "" {
		return nil, errors.New("checking the invariants needs the deployment's DATABASE_URL")
	}
	a, err := newApp(ctx, cfg, log, false)
	if err != nil {
		return nil, err
	}
	before, err := loadtest.AuditObjects(ctx, a.db, a.store)
	if err != nil {
		a.Close()
		return nil, err
	}
	return &loadChecker{app: a, before: before}, nil
}

func (c *loadChecker) check(ctx context.Context, res *loadtest.Result, settle time.Duration, stderr io.Writer) (*loadtest.Report, error) {
	bar := newProgress(stderr, 0, "check")
	defer bar.done()
	return loadtest.Check(ctx, c.app.db, c.app.store, res, loadtest.CheckOptions{
		Before: c.before, Settle: settle, Thumbnails: true,
		Waiting: func(s string) { bar.status(0, s) },
	})
}

func (c *loadChecker) close() { c.app.Close() }

// startLocalServe runs `vitrine serve` in this process on a free loopback port, on the
// configured database (or the private cluster under the data directory) and store, without
// rate limits and with a JWT secret of its own unless one is configured; cfg is changed to
// reach what it serves, and lc.URLs to its address. Its log goes to loadtest-serve.log in the
// data directory.
func startLocalServe(ctx context.Context, cfg *config, log *slog.Logger, lc *loadtest.Config) (stop func(), err error) {
	dbs, err := locateDatabases(ctx, *cfg, log)
	if err != nil {
		return nil, err
	}
	cfg.DatabaseURL, cfg.MigrateURL = dbs.appURL, dbs.ownerURL
	if cfg.JWTSecret == "" && cfg.JWKSFile == "" {
		secret := make([]byte, 32)
		rand.Read(secret)
		cfg.JWTSecret = hex.EncodeToString(secret)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		dbs.stop()
		return nil, err
	}
	cfg.Addr = ln.Addr().String()
	ln.Close()
	scfg := *cfg
	scfg.PublicURL, scfg.UploadsPerMinute, scfg.WritesPerMinute = "", 0, 0
	if err := os.MkdirAll(scfg.DataDir, 0o755); err != nil {
		dbs.stop()
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(scfg.DataDir, "loadtest-serve.log"))
	if err != nil {
		dbs.stop()
		return nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- serve(sctx, scfg, newLogger(scfg, logFile)) }()
	stop = func() {
		cancel()
		if err := <-done; err != nil {
			log.Error("the load test's server", "error", err)
		}
		logFile.Close()
		dbs.stop()
	}
	base := "http://" + cfg.Addr
	for deadline := time.Now().Add(2 * time.Minute); ; {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		select {
		case err := <-done:
			done <- err
			stop()
			return nil, fmt.Errorf("the load test's server ended at start (see %s): %v", logFile.Name(), err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("the load test's server did not come up (see %s)", logFile.Name())
		}
	}
	log.Info("load test server up", "url", base, "log", logFile.Name())
	lc.URLs = []string{base}
	return stop, nil
}

// clientTokens returns the token source of the clients: token for all of them (its subject is
// their supplier when it is a supplier's), or a supplier token per client minted with the
// configured secret.
func clientTokens(cfg config, token string) (func(int) (string, uuid.UUID, error), error) {
	if token != "" {
		supplier := tokenSupplier(token)
		return func(int) (string, uuid.UUID, error) {
			if supplier != uuid.Nil {
				return token, supplier, nil
			}
			return token, uuid.New(), nil // a service-role token: each client its own supplier
		}, nil
	}
	if cfg.JWTSecret == "" {
		return nil, errors.New("the clients need -token, or VITRINE_JWT_SECRET to mint theirs")
	}
	return func(int) (string, uuid.UUID, error) {
		supplier := uuid.New()
		t, err := jwtauth.Mint([]byte(cfg.JWTSecret), gallery.Caller{Role: gallery.RoleAuthenticated, UserID: supplier},
			cfg.JWTIssuer, cfg.JWTAudience, 24*time.Hour)
		return t, supplier, err
	}, nil
}

// tokenSupplier returns the supplier a token speaks for (its sub, when its role is
// authenticated), read without verifying it: the server does that.
func tokenSupplier(token string) uuid.UUID {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return uuid.Nil
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return uuid.Nil
	}
	var claims struct{ Role, Sub string }
	if json.Unmarshal(payload, &claims) != nil || claims.Role != string(gallery.RoleAuthenticated) {
		return uuid.Nil
	}
	id, _ := uuid.Parse(claims.Sub)
	return id
}

// readPhotos reads the images of dir, or the real photographs of testphotos when dir is "".
func readPhotos(dir string) ([][]byte, error) {
	var paths []string
	var err error
	if dir == "" {
		if paths, err = testphotos.Photographs(); err != nil {
			return nil, fmt.Errorf("fetching photographs (or pass -photos DIR): %w", err)
		}
	} else {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			switch strings.ToLower(filepath.Ext(e.Name())) {
			case ".jpg", ".jpeg", ".png", ".gif", ".webp":
				paths = append(paths, filepath.Join(dir, e.Name()))
			}
		}
		if len(paths) == 0 {
			return nil, fmt.Errorf("-photos %s holds no JPEG, PNG, GIF or WebP file", dir)
		}
	}
	photos := make([][]byte, len(paths))
	for i, p := range paths {
		if photos[i], err = os.ReadFile(p); err != nil {
			return nil, err
		}
	}
	return photos, nil
}
