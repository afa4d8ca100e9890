package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/vitrine-dev/vitrine/imaging"
	"github.com/vitrine-dev/vitrine/internal/imageformat"
	"github.com/vitrine-dev/vitrine/postgres"
	"github.com/vitrine-dev/vitrine/storage"
)

// finding is the outcome of one check of `vitrine doctor`.
type finding struct {
	check  string
	failed bool
	detail string // what was found
	fix    string // what to do, when failed
}

// doctor runs the checks of one deployment and collects their findings.
type doctor struct {
	cfg      config
	log      *slog.Logger
	stderr   io.Writer
	maxSkew  time.Duration
	findings []finding
}

func (d *doctor) ok(check, detail string) {
	d.findings = append(d.findings, finding{check: check, detail: detail})
}

func (d *doctor) fail(check, detail, fix string) {
	d.findings = append(d.findings, finding{check: check, failed: true, detail: detail, fix: fix})
}

// doctorProbeTTL is the age past which a probe object that a killed doctor left behind is
// removed by the next one.
const doctorProbeTTL = time.Hour

// doctorProbePrefix starts the keys of the doctor's probe objects.
const doctorProbePrefix = storage.ReservedPrefix + "-doctor-"

// doctorCommand checks the deployment that the configuration describes and prints, check by
// check, what it found and what to fix; it fails when a check fails.
func doctorCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var maxSkew time.Duration
	cfg, err := parseFlags("doctor", args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.DurationVar(&maxSkew, "max-clock-skew", 2*time.Second, "the most this machine's clock may differ from the database's")
	})
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	d := &doctor{cfg: cfg, log: log, stderr: stderr, maxSkew: maxSkew}
	d.database(ctx)
	d.store(ctx)
	d.libvips(ctx)

	failed := 0
	for _, f := range d.findings {
		mark := "ok  "
		if f.failed {
			mark = "FAIL"
			failed++
		}
		fmt.Fprintf(stdout, "%s  %-13s %s\n", mark, f.check, f.detail)
		if f.failed && f.fix != "" {
			fmt.Fprintf(stdout, "      %-13s fix: %s\n", "", strings.ReplaceAll(f.fix, "\n", "\n"+strings.Repeat(" ", 25)))
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d checks failed", failed, len(d.findings))
	}
	fmt.Fprintf(stdout, "all %d checks passed\n", len(d.findings))
	return nil
}

// database checks that the login role reaches the database and cannot get around row-level
// security, that RLS binds the gallery tables, that no migration is pending, and the clocks.
func (d *doctor) database(ctx context.Context) {
	dbs, err := locateDatabases(ctx, d.cfg, d.log)
	if err != nil {
		d.fail("database", err.Error(), "set DATABASE_URL to the login role's URL")
		return
	}
	defer dbs.stop()
	db, err := postgres.Open(ctx, dbs.appURL)
	if err != nil {
		d.fail("database", "not reachable (the login role, row security, migrations and clock are not checked): "+err.Error(),
			"check DATABASE_URL (host, port, database, user, password, sslmode) and that PostgreSQL runs and accepts this machine")
		return
	}
	defer db.Close()
	d.ok("database", "reachable")

	if r, err := db.LoginRole(ctx); err != nil {
		d.fail("login role", noSchemaError(err).Error(), "")
	} else if !r.Safe() {
		var why []string
		for _, p := range []struct {
			bad  bool
			what string
		}{
			{r.Superuser, "is a superuser"},
			{r.BypassRLS, "has BYPASSRLS"},
			{r.OwnsTables, "owns the gallery tables"},
			{!r.CanActAsAll, "is not a member of anon, authenticated and service_role"},
		} {
			if p.bad {
				why = append(why, p.what)
			}
		}
		d.fail("login role", fmt.Sprintf("%q %s: row-level security does not bind it", r.Name, strings.Join(why, ", ")), loginRoleFix)
	} else {
		d.ok("login role", fmt.Sprintf("%q: not a superuser, no BYPASSRLS, not the owner", r.Name))
	}

	if tables, err := db.RowSecurity(ctx); err != nil {
		d.fail("row security", err.Error(), "")
	} else {
		var loose []string
		for _, ts := range tables {
			if !ts.Enabled || !ts.Forced {
				loose = append(loose, fmt.Sprintf("%s (enabled %t, forced %t)", ts.Table, ts.Enabled, ts.Forced))
			}
		}
		if len(loose) > 0 {
			d.fail("row security", "not enabled and forced on "+strings.Join(loose, ", "),
				"run `vitrine migrate up` with the owner's URL, or ALTER TABLE ... ENABLE ROW LEVEL SECURITY and FORCE ROW LEVEL SECURITY")
		} else {
			d.ok("row security", "enabled and forced on "+strings.Join(postgres.GalleryTables, ", "))
		}
	}

	// The owner reads the migrations when it is known: a database from before the login role
	// could read them still answers.
	schema := db
	if dbs.ownerURL != "" {
		if owner, err := postgres.Open(ctx, dbs.ownerURL); err != nil {
			d.fail("migrations", "the owner's database (VITRINE_MIGRATE_DATABASE_URL) is not reachable: "+err.Error(),
				"check VITRINE_MIGRATE_DATABASE_URL")
			schema = nil
		} else {
			defer owner.Close()
			schema = owner
		}
	}
	if schema != nil {
		if pending, err := schema.PendingMigrations(ctx); err != nil {
			d.fail("migrations", err.Error(), "run `vitrine migrate up` with the owner's URL (VITRINE_MIGRATE_DATABASE_URL)")
		} else if len(pending) > 0 {
			d.fail("migrations", "pending: "+strings.Join(pending, ", "),
				"run `vitrine migrate up` with the owner's URL (VITRINE_MIGRATE_DATABASE_URL), or start `vitrine serve` with it")
		} else {
			d.ok("migrations", "current")
		}
	}

	server, local, rtt, err := db.ServerTime(ctx)
	if err != nil {
		d.fail("clock", err.Error(), "")
		return
	}
	skew := server.Sub(local)
	detail := fmt.Sprintf("this machine's clock differs from the database's by %v (±%v)", skew.Round(time.Millisecond), (rtt / 2).Round(time.Millisecond))
	if skew.Abs() > d.maxSkew+rtt/2 {
		d.fail("clock", detail+", more than "+d.maxSkew.String(),
			"synchronise the clocks of this machine and of the database server (NTP): token expiry, the purge's grace and direct uploads' expiry compare them")
	} else {
		d.ok("clock", detail)
	}
}

// loginRoleFix is what to do about a login role that row-level security does not bind.
const loginRoleFix = "set DATABASE_URL to the " + appRole + " role that `vitrine migrate up` creates, and VITRINE_MIGRATE_DATABASE_URL to the owner ('vitrine setup' with the owner's URL does it and prints both)"

// store checks that the object store can be reached and written: it writes a probe object
// under storage.ReservedPrefix, reads it back and deletes it, and removes the probes that an
// interrupted doctor left behind.
func (d *doctor) store(ctx context.Context) {
	fix := "check VITRINE_DATA_DIR: its objects/ directory must exist or be creatable, and be writable by this user"
	if d.cfg.Storage == "s3" {
		fix = "check VITRINE_S3_ENDPOINT, VITRINE_S3_BUCKET and the credentials; the key needs to list, put, get and delete objects in the bucket"
	}
	objects, err := openStore(ctx, d.cfg, d.log)
	if err != nil {
		d.fail("store", "not reachable: "+err.Error(), fix)
		return
	}
	defer objects.close()
	s := objects.store
	for obj, err := range s.List(ctx, doctorProbePrefix, "") {
		if err != nil {
			d.fail("store", "cannot list: "+err.Error(), fix)
			return
		}
		if time.Since(obj.ModTime) > doctorProbeTTL {
			if err := s.Delete(ctx, obj.Key); err != nil {
				d.fail("store", "cannot delete the stale probe "+obj.Key+": "+err.Error(), fix)
				return
			}
		}
	}
	if err := probeStore(ctx, s); err != nil {
		d.fail("store", err.Error(), fix)
		return
	}
	d.ok("store", "reachable and writable (a probe object written, read back and deleted)")
}

// probeStore writes a probe object under storage.ReservedPrefix, reads it back and deletes
// it, and checks it is gone.
func probeStore(ctx context.Context, s storage.Store) (err error) {
	var random [16]byte
	_, _ = rand.Read(random[:])
	key := doctorProbePrefix + hex.EncodeToString(random[:])
	data := []byte("vitrine doctor probe " + key + "\n")
	if err := storage.Put(ctx, s, key, data); err != nil {
		return fmt.Errorf("cannot write: %w", err)
	}
	defer func() {
		if derr := s.Delete(context.WithoutCancel(ctx), key); derr != nil {
			err = errors.Join(err, fmt.Errorf("cannot delete the probe %s: %w", key, derr))
		} else if _, serr := s.Stat(context.WithoutCancel(ctx), key); !errors.Is(serr, storage.ErrNotFound) {
			err = errors.Join(err, fmt.Errorf("the deleted probe %s is still there (%v)", key, serr))
		}
	}()
	r, _, err := s.Open(ctx, key, 0, -1)
	if err != nil {
		return fmt.Errorf("cannot read back: %w", err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("cannot read back: %w", err)
	}
	if !bytes.Equal(got, data) {
		return fmt.Errorf("read back %d bytes that differ from the %d written", len(got), len(data))
	}
	return nil
}

// libvips checks that libvips decodes every type an upload may have (JPEG, PNG, GIF, WebP)
// and encodes every configured thumbnail format, by making a thumbnail of a small image of
// each type, as the thumbnail jobs do.
func (d *doctor) libvips(ctx context.Context) {
	const fix = "install libvips with its loaders and savers (Debian: libvips42, which brings libjpeg, libpng, libwebp, libheif and cgif)"
	// libvips' warnings only: its start-up line is no finding.
	logger := slog.New(slog.NewTextHandler(d.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	proc, err := imaging.Start(imaging.Config{Concurrency: 1, MaxJobs: 1, Logger: logger})
	if err != nil {
		d.fail("libvips", err.Error(), fix)
		return
	}
	defer proc.Close()
	formats := make([]imaging.Format, len(d.cfg.ThumbnailFormats))
	for i, f := range d.cfg.ThumbnailFormats {
		formats[i] = imaging.Format(f)
	}
	presets := []imaging.Preset{{Name: "probe", LongSide: 8}}
	samples, err := uploadSamples()
	if err != nil {
		d.fail("libvips", err.Error(), fix)
		return
	}
	// There is no WebP encoder in Go's standard library: libvips makes the WebP sample.
	if res, err := proc.Process(ctx, samples[imageformat.PNG], presets, []imaging.Format{imaging.WebP}); err == nil {
		samples[imageformat.WebP] = res.Variants[0].Data
	}
	var broken []string
	for _, mt := range []string{imageformat.JPEG, imageformat.PNG, imageformat.GIF, imageformat.WebP} {
		sample, ok := samples[mt]
		if !ok {
			broken = append(broken, mt+": libvips cannot encode a WebP sample")
			continue
		}
		if _, err := proc.Process(ctx, sample, presets, formats); err != nil {
			broken = append(broken, fmt.Sprintf("%s to %s: %v", mt, strings.Join(d.cfg.ThumbnailFormats, ","), err))
		}
	}
	if len(broken) > 0 {
		d.fail("libvips", strings.Join(broken, "; "), fix)
		return
	}
	d.ok("libvips", "decodes JPEG, PNG, GIF and WebP uploads; encodes "+strings.Join(d.cfg.ThumbnailFormats, ", ")+" thumbnails")
}

// uploadSamples returns a small image of each type Go's standard library encodes.
func uploadSamples() (map[string][]byte, error) {
	img := image.NewPaletted(image.Rect(0, 0, 16, 12), color.Palette{color.White, color.RGBA{200, 30, 30, 255}})
	for x := range 8 {
		for y := range 12 {
			img.SetColorIndex(x, y, 1)
		}
	}
	out := map[string][]byte{}
	for mt, encode := range map[string]func(io.Writer) error{
		imageformat.JPEG: func(w io.Writer) error { return jpeg.Encode(w, img, nil) },
		imageformat.PNG:  func(w io.Writer) error { return png.Encode(w, img) },
		imageformat.GIF:  func(w io.Writer) error { return gif.Encode(w, img, nil) },
	} {
		var b bytes.Buffer
		if err := encode(&b); err != nil {
			return nil, fmt.Errorf("making a %s sample: %w", mt, err)
		}
		out[mt] = b.Bytes()
	}
	return out, nil
}
