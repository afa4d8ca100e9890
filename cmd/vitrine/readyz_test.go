package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/pgcluster"
	"github.com/vitrine-dev/vitrine/storage/s3store/s3test"
)

// readyz answers GET /readyz of s: its status and the parts its body names as failing.
func (s *served) readyz(t *testing.T) (int, []string) {
	t.Helper()
	res, err := http.Get(s.base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		Status  string   `json:"status"`
		Failing []string `json:"failing"`
		Error   struct {
			Code, Message string
		} `json:"error"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode == 200 && body.Status != "ready" || res.StatusCode == 503 && (body.Error.Code != "unavailable" || body.Error.Message == "") {
		t.Fatalf("%d with %+v", res.StatusCode, body)
	}
	return res.StatusCode, body.Failing
}

// waitReady waits, two minutes at most, for /readyz to answer status, naming exactly the
// parts failing when status is 503.
func (s *served) waitReady(t *testing.T, status int, failing ...string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		st, got := s.readyz(t)
		if st == status && slices.Equal(got, failing) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz answers %d %v, want %d %v\n%s", st, got, status, failing, s.logText())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestReadyzNamesTheStoreAndRecovers: `vitrine serve` (with a worker) is ready; its store
// directory moved away, /readyz answers 503 naming the store, and 200 again once it is back,
// while /healthz answers 200 throughout.
func TestReadyzNamesTheStoreAndRecovers(t *testing.T) {
	t.Parallel()
	s := startServe(t, nil)
	s.waitReady(t, 200)
	objects := filepath.Join(s.dataDir, "objects")
	if err := os.Rename(objects, objects+".aside"); err != nil {
		t.Fatal(err)
	}
	s.waitReady(t, 503, "store")
	if res, err := http.Get(s.base + "/healthz"); err != nil || res.StatusCode != 200 {
		t.Fatalf("/healthz while not ready: %v %v", res, err)
	}
	if err := os.Rename(objects+".aside", objects); err != nil {
		t.Fatal(err)
	}
	s.waitReady(t, 200)
}

// TestReadyzNamesTheDatabaseAndRecovers: `vitrine serve` (with a worker) on a private
// PostgreSQL cluster is ready; the cluster stopped, /readyz answers 503 naming the database;
// started again, 200 again, with the same server process and no restart.
func TestReadyzNamesTheDatabaseAndRecovers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// The postgres user must reach the cluster's directory when the tests run as root.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	cluster, err := pgcluster.Start(ctx, filepath.Join(dir, "pg"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cluster.Stop(context.Background()) })
	owner := cluster.URL("vitrine")
	s := startServe(t, map[string]string{"DATABASE_URL": withUser(owner, appRole), "VITRINE_MIGRATE_DATABASE_URL": owner})
	s.waitReady(t, 200)

	if err := cluster.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	s.waitReady(t, 503, "database")
	if cluster, err = pgcluster.Start(ctx, filepath.Join(dir, "pg")); err != nil {
		t.Fatal(err)
	}
	s.waitReady(t, 200)
}

// TestReadyzNamesAnUnreachableBucket: `vitrine serve` on a bucket behind a proxy is ready;
// every listing of the bucket failing, /readyz answers 503 naming the store; the bucket
// answering again, 200 again.
func TestReadyzNamesAnUnreachableBucket(t *testing.T) {
	t.Parallel()
	gw := s3test.Start(t)
	proxy := s3test.NewProxy(t, gw.Endpoint)
	s := startServe(t, map[string]string{
		"VITRINE_STORAGE": "s3", "VITRINE_S3_ENDPOINT": proxy.URL, "VITRINE_S3_REGION": gw.Region,
		"VITRINE_S3_BUCKET": gw.NewBucket(t), "VITRINE_S3_PATH_STYLE": "true",
		"VITRINE_S3_ACCESS_KEY_ID": gw.AccessKey, "VITRINE_S3_SECRET_ACCESS_KEY": gw.SecretKey,
		"VITRINE_S3_MAX_RETRIES": "1",
	})
	s.waitReady(t, 200)
	proxy.Fail(1<<30, s3test.InternalError, s3test.ListObjects)
	s.waitReady(t, 503, "store")
	proxy.Clear()
	s.waitReady(t, 200)
}
