package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/postgres"
	"github.com/vitrine-dev/vitrine/postgres/pgtest"
)

// TestPurgeCommand runs `vitrine purge` as an operator would: a dry run reports the old
// orphan and keeps it, a run with a longer grace keeps it, a real run deletes it.
func TestPurgeCommand(t *testing.T) {
	t.Parallel()
	owner := pgtest.NewDB(t)
	dataDir := t.TempDir()
	envs := env(map[string]string{
		"DATABASE_URL": pgtest.AppURL(owner), "VITRINE_MIGRATE_DATABASE_URL": owner, "VITRINE_DATA_DIR": dataDir,
		"VITRINE_LOG_LEVEL": "warn",
	})
	ctx := gallery.WithCaller(context.Background(), gallery.Service())
	// The first command migrates and creates the store.
	if err := run(ctx, []string{"purge"}, envs, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	key := "originals/ab/orphan.jpg"
	path := filepath.Join(dataDir, "objects", filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("no row names me"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-72 * time.Hour)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	purge := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		if err := run(ctx, append([]string{"purge"}, args...), envs, &out, io.Discard); err != nil {
			t.Fatalf("purge %v: %v", args, err)
		}
		return out.String()
	}
	exists := func() bool { _, err := os.Stat(path); return err == nil }

	out := purge("-dry-run")
	if !strings.Contains(out, "would delete      1 (15 B)") || !strings.Contains(out, key) || !exists() {
		t.Fatalf("dry run (object kept: %v):\n%s", exists(), out)
	}
	out = purge("-grace", "100h")
	if !strings.Contains(out, "deleted           0") || !exists() {
		t.Fatalf("a 100h grace (object kept: %v):\n%s", exists(), out)
	}
	out = purge("-prefix", "variants/")
	if !strings.Contains(out, "objects scanned   0") || !exists() {
		t.Fatalf("another prefix (object kept: %v):\n%s", exists(), out)
	}
	out = purge()
	if !strings.Contains(out, "deleted           1 (15 B)") || exists() {
		t.Fatalf("real run (object kept: %v):\n%s", exists(), out)
	}
}

// TestPurgeKilledThenRunAgain kills a real `vitrine purge` process (SIGKILL) while it deletes,
// then runs it again: the store ends exactly as one clean run would leave it, with every
// referenced object there, and the killed run is recorded as interrupted.
func TestPurgeKilledThenRunAgain(t *testing.T) {
	t.Parallel()
	owner := pgtest.NewDB(t)
	dataDir := t.TempDir()
	envs := map[string]string{
		"DATABASE_URL": pgtest.AppURL(owner), "VITRINE_MIGRATE_DATABASE_URL": owner, "VITRINE_DATA_DIR": dataDir,
		"VITRINE_LOG_LEVEL": "warn",
	}
	ctx := gallery.WithCaller(context.Background(), gallery.Service())
	if err := run(ctx, []string{"purge"}, env(envs), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	db, err := postgres.Open(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	objects := filepath.Join(dataDir, "objects")
	old := time.Now().Add(-72 * time.Hour)
	write := func(key string) {
		path := filepath.Join(objects, filepath.FromSlash(key))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(key), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, old, old); err != nil {
			t.Fatal(err)
		}
	}
	// 50 referenced objects, spread among 20,000 orphans.
	const orphans, referenced = 20_000, 50
	var keep []string
	for i := range orphans + referenced {
		key := fmt.Sprintf("originals/%02x/%06d.jpg", i%256, i)
		write(key)
		if i%(orphans/referenced+1) == 0 && len(keep) < referenced {
			keep = append(keep, key)
		}
	}
	if _, err := db.Pool().Exec(ctx, `WITH p AS (INSERT INTO products (supplier_id) VALUES (gen_random_uuid()) RETURNING id)
		INSERT INTO product_images (product_id, image_url, storage_path, image_order)
		SELECT p.id, 'u', k, o - 1 FROM p, unnest($1::text[]) WITH ORDINALITY AS t(k, o)`, keep); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		n := 0
		filepath.WalkDir(objects, func(_ string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				n++
			}
			return nil
		})
		return n
	}
	total := count()
	if total != orphans+referenced {
		t.Fatalf("%d objects written, want %d", total, orphans+referenced)
	}

	cmd := exec.Command(os.Args[0], "purge")
	cmd.Env = append(os.Environ(), "VITRINE_TEST_AS_MAIN=1")
	for k, v := range envs {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(time.Minute)
	for count() > total-300 {
		select {
		case err := <-exited:
			t.Fatalf("the purge ended (%v) before it could be killed: make the store larger", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the purge deleted nothing in a minute")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	<-exited
	left := count()
	if left <= referenced || left >= total {
		t.Fatalf("%d objects left by the killed purge: it was not killed midway", left)
	}

	var out bytes.Buffer
	if err := run(ctx, []string{"purge"}, env(envs), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != referenced {
		t.Fatalf("%d objects after the second run, want the %d referenced ones\n%s", n, referenced, out.String())
	}
	for _, k := range keep {
		if _, err := os.Stat(filepath.Join(objects, filepath.FromSlash(k))); err != nil {
			t.Errorf("referenced object %s: %v", k, err)
		}
	}
	var statuses []string
	if err := db.Pool().QueryRow(ctx, `SELECT array_agg(status ORDER BY id) FROM vitrine_purge_runs`).Scan(&statuses); err != nil {
		t.Fatal(err)
	}
	if strings.Join(statuses, ",") != "completed,interrupted,completed" {
		t.Fatalf("run statuses %v, want the first run, the killed one interrupted, the last", statuses)
	}
	t.Logf("killed with %d of %d orphans left; the second run: %s", left-referenced, orphans, strings.TrimSpace(out.String()))
}
