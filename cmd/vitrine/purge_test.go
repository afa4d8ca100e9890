package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/gallery"
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
