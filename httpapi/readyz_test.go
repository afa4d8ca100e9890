package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/httpapi"
	"github.com/vitrine-dev/vitrine/jwtauth"
	"github.com/vitrine-dev/vitrine/postgres/pgtest"
	"github.com/vitrine-dev/vitrine/storage/localfs"
)

// readyz answers GET /readyz of base: its status and the parts its body names as failing.
func readyz(t *testing.T, base string) (int, []string) {
	t.Helper()
	res, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		Status  string   `json:"status"`
		Failing []string `json:"failing"`
		Error   struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	switch {
	case res.StatusCode == 200 && body.Status != "ready":
		t.Fatalf("200 with status %q", body.Status)
	case res.StatusCode == 503 && (body.Error.Code != "unavailable" || len(body.Failing) == 0):
		t.Fatalf("503 with %+v", body)
	}
	return res.StatusCode, body.Failing
}

// TestReadyzRunsItsChecksOnceASecondUnderAFlood: 200 concurrent probes, over and over for
// two seconds, run the real checks (PostgreSQL, a directory) about once a second, one round
// at a time, and each probe is answered 200.
func TestReadyzRunsItsChecksOnceASecondUnderAFlood(t *testing.T) {
	t.Parallel()
	app := pgtest.OpenApp(t)
	store, err := localfs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var rounds, running, overlapping atomic.Int64
	db := httpapi.DatabaseCheck(app)
	counted := httpapi.ReadinessCheck{Part: db.Part, Check: func(ctx context.Context) error {
		if running.Add(1) > 1 {
			overlapping.Add(1)
		}
		defer running.Add(-1)
		rounds.Add(1)
		return db.Check(ctx)
	}}
	auth, err := jwtauth.New(jwtauth.Config{Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	api := &httpapi.Server{Auth: auth, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Readiness: httpapi.NewReadiness(slog.New(slog.NewTextHandler(io.Discard, nil)), counted, httpapi.StoreCheck(store))}
	srv := httptest.NewServer(api.Handler())
	defer srv.Close()
	start := time.Now()
	var wg sync.WaitGroup
	var answered, bad atomic.Int64
	for range 200 {
		wg.Go(func() {
			for time.Since(start) < 2*time.Second {
				res, err := http.Get(srv.URL + "/readyz")
				if err != nil {
					bad.Add(1)
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					bad.Add(1)
				}
				answered.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	// One round per started second of the flood, plus the one in flight at its end.
	limit := int64(elapsed/time.Second) + 2
	t.Logf("%d probes in %v ran %d rounds", answered.Load(), elapsed.Round(time.Millisecond), rounds.Load())
	if bad.Load() > 0 || answered.Load() < 200 {
		t.Fatalf("%d probes answered, %d not with 200", answered.Load(), bad.Load())
	}
	if rounds.Load() < 1 || rounds.Load() > limit || overlapping.Load() > 0 {
		t.Fatalf("%d rounds of checks (at most %d), %d overlapping", rounds.Load(), limit, overlapping.Load())
	}
}

// TestReadyzNamesTheStoreAndRecovers: a store whose directory is moved away makes /readyz
// answer 503 naming the store (and only it); moved back, 200 again, with no restart.
func TestReadyzNamesTheStoreAndRecovers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if st, failing := readyz(t, b.url); st != 200 {
		t.Fatalf("healthy: %d %v", st, failing)
	}
	aside := b.storeDir + ".aside"
	if err := os.Rename(b.storeDir, aside); err != nil {
		t.Fatal(err)
	}
	waitReady(t, b.url, 503, "store")
	if err := os.Rename(aside, b.storeDir); err != nil {
		t.Fatal(err)
	}
	waitReady(t, b.url, 200, "")
}

// waitReady waits, for a minute at most, for /readyz to answer status, naming part alone
// when status is 503.
func waitReady(t *testing.T, base string, status int, part string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		st, failing := readyz(t, base)
		if st == status && (status != 503 || len(failing) == 1 && failing[0] == part) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz answers %d %v, want %d %s", st, failing, status, part)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
