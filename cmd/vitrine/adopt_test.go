package main

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/postgres"
	"github.com/vitrine-dev/vitrine/postgres/pgtest"
	"github.com/vitrine-dev/vitrine/storage"
	"github.com/vitrine-dev/vitrine/storage/localfs"
	"github.com/vitrine-dev/vitrine/storage/s3store"
	"github.com/vitrine-dev/vitrine/storage/s3store/s3test"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// legacyDB returns the URL of a fresh legacy database of n images and a pool on it, closed
// when the test ends.
func legacyDB(t *testing.T, n int) (string, *postgres.DB) {
	t.Helper()
	url := pgtest.NewLegacyDB(t, n)
	db, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return url, db
}

// TestAdoptCommand runs `vitrine migrate adopt -plan`, then the adoption with an overrides
// file and the store's times, then `vitrine migrate status`.
func TestAdoptCommand(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url, db := legacyDB(t, 2000)
	dataDir := t.TempDir()
	store, err := localfs.New(filepath.Join(dataDir, "objects"))
	if err != nil {
		t.Fatal(err)
	}
	var key, productID, imageID string
	if err := db.Pool().QueryRow(ctx, `SELECT storage_path, product_id, id FROM product_images
		WHERE storage_path LIKE 'originals/%' AND storage_path NOT LIKE 'originals/2%' ORDER BY id LIMIT 1`).Scan(&key, &productID, &imageID); err != nil {
		t.Fatal(err)
	}
	if err := storage.Put(ctx, store, key, []byte("an original")); err != nil {
		t.Fatal(err)
	}
	store.Close()
	csvPath := filepath.Join(t.TempDir(), "overrides.csv")
	os.WriteFile(csvPath, []byte("product_id,image_id,order\n"+productID+","+imageID+",0\n"), 0o644)
	env := envOf(map[string]string{"DATABASE_URL": url, "VITRINE_DATA_DIR": dataDir, "VITRINE_LOG_LEVEL": "warn"})

	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"migrate", "adopt", "-plan"}, env, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	for _, want := range []string{"the schema lacks", "duplicate (product_id, image_order) pairs", "unique_index"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the plan lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	err = run(ctx, []string{"migrate", "adopt", "-overrides", csvPath,
		"-created-at-path-pattern", `^originals/([0-9]{14})-`, "-created-at-path-format", "YYYYMMDDHH24MISS"}, env, &out, &errOut)
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "finish") || !strings.Contains(out.String(), "image writes refused for at most") {
		t.Errorf("adopt's report:\n%s", out.String())
	}
	var order int
	var source string
	if err := db.Pool().QueryRow(ctx, `SELECT i.image_order, s.source FROM product_images i
		JOIN vitrine_adopt_created_at s ON s.image_id = i.id WHERE i.id = $1`, imageID).Scan(&order, &source); err != nil {
		t.Fatal(err)
	}
	if order != 0 || source != "store" {
		t.Errorf("the overridden image has order %d and its created_at from %s", order, source)
	}
	out.Reset()
	if err := run(ctx, []string{"migrate", "status"}, env, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "pending") || !strings.Contains(out.String(), "applied") {
		t.Errorf("migrate status after adopt:\n%s", out.String())
	}
}

// TestAdoptCommandKilled kills `vitrine migrate adopt` (SIGKILL) at several moments, each
// time rerunning it, and checks that the last rerun finishes the job with nothing lost.
func TestAdoptCommandKilled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url, db := legacyDB(t, 30_000)
	var before string
	if err := db.Pool().QueryRow(ctx, `SELECT md5(string_agg(id::text, ',' ORDER BY id)) FROM product_images`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	args := []string{"migrate", "adopt", "-batch-size", "50", "-store-times=false"}
	// Each run is killed when its log shows it reached a point (and after a delay), and the
	// next run resumes where it stopped: in the schema step, in the index builds, in the middle
	// of the normalization, while image writes are paused, between the unique index's build and
	// its constraint.
	for _, kill := range []struct {
		at    string
		delay time.Duration
	}{
		{`step=schema`, 20 * time.Millisecond},
		{`step=indexes`, 10 * time.Millisecond},
		{`step=normalize`, 500 * time.Millisecond},
		{`pausing image writes`, 0},
		{`unique index built`, 0},
	} {
		cmd := exec.Command(os.Args[0], args...)
		cmd.Env = append(os.Environ(), "VITRINE_TEST_AS_MAIN=1", "DATABASE_URL="+url, "VITRINE_DATA_DIR="+t.TempDir())
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stderr)
		killed := false
		for sc.Scan() {
			if !killed && strings.Contains(sc.Text(), kill.at) {
				time.Sleep(kill.delay)
				cmd.Process.Signal(syscall.SIGKILL)
				killed = true
				t.Logf("killed at %q + %v", kill.at, kill.delay)
			}
		}
		cmd.Wait()
		if !killed {
			t.Logf("the run finished before %q", kill.at)
		}
	}
	var out, errOut bytes.Buffer
	env := envOf(map[string]string{"DATABASE_URL": url, "VITRINE_DATA_DIR": t.TempDir(), "VITRINE_LOG_LEVEL": "warn"})
	if err := run(ctx, args, env, &out, &errOut); err != nil {
		t.Fatalf("the rerun: %v\n%s", err, errOut.String())
	}
	var after string
	var broken int
	if err := db.Pool().QueryRow(ctx, `SELECT md5(string_agg(id::text, ',' ORDER BY id)) FROM product_images`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM (SELECT product_id FROM product_images GROUP BY product_id
		HAVING min(image_order) <> 0 OR max(image_order) <> count(*) - 1) AS b`).Scan(&broken); err != nil {
		t.Fatal(err)
	}
	if after != before || broken != 0 {
		t.Errorf("after the kills and the rerun: ids kept %t, %d broken galleries", after == before, broken)
	}
	st, err := db.MigrationStatuses(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if !s.Applied {
			t.Errorf("migration %d pending", s.Version)
		}
	}
}

// TestAdoptDatesImagesFromABucket adopts a legacy database whose originals are in an S3
// bucket (versitygw): an image whose object is there gets the object's Last-Modified.
func TestAdoptDatesImagesFromABucket(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url, db := legacyDB(t, 300)
	gw := s3test.Start(t)
	bucket := gw.NewBucket(t)
	store, err := s3store.New(gw.Config(t, bucket))
	if err != nil {
		t.Fatal(err)
	}
	var key, imageID string
	if err := db.Pool().QueryRow(ctx, `SELECT storage_path, id FROM product_images
		WHERE storage_path LIKE 'originals/%' ORDER BY id LIMIT 1`).Scan(&key, &imageID); err != nil {
		t.Fatal(err)
	}
	if err := storage.Put(ctx, store, key, []byte("an original")); err != nil {
		t.Fatal(err)
	}
	info, err := store.Stat(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	env := envOf(map[string]string{"DATABASE_URL": url, "VITRINE_DATA_DIR": t.TempDir(), "VITRINE_LOG_LEVEL": "warn",
		"VITRINE_STORAGE": "s3", "VITRINE_S3_ENDPOINT": gw.Endpoint, "VITRINE_S3_REGION": gw.Region,
		"VITRINE_S3_BUCKET": bucket, "VITRINE_S3_PATH_STYLE": "true",
		"VITRINE_S3_ACCESS_KEY_ID": gw.AccessKey, "VITRINE_S3_SECRET_ACCESS_KEY": gw.SecretKey})
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"migrate", "adopt"}, env, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	var source string
	var created time.Time
	if err := db.Pool().QueryRow(ctx, `SELECT s.source, i.created_at FROM product_images i
		JOIN vitrine_adopt_created_at s ON s.image_id = i.id WHERE i.id = $1`, imageID).Scan(&source, &created); err != nil {
		t.Fatal(err)
	}
	if source != "store" || !created.Equal(info.ModTime) {
		t.Fatalf("the image's created_at %v from %s, want the object's %v from the store", created, source, info.ModTime)
	}
}
