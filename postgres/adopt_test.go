package postgres_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/postgres"
	"github.com/vitrine-dev/vitrine/postgres/pgtest"
)

// legacyPathPattern and legacyPathFormat read the time that legacy.sql puts in a quarter of
// the storage paths.
const (
	legacyPathPattern = `^originals/([0-9]{14})-`
	legacyPathFormat  = "YYYYMMDDHH24MISS"
)

// adoptFixedNow is the fallback time of the tests, so that two runs date rows alike.
var adoptFixedNow = time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)

func openURL(t testing.TB, url string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("ADOPT_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.DiscardHandler)
}

func adoptOptions(t testing.TB) postgres.AdoptOptions {
	return postgres.AdoptOptions{
		PathPattern: legacyPathPattern, PathFormat: legacyPathFormat,
		Now:    func() time.Time { return adoptFixedNow },
		Logger: testLogger(t),
	}
}

func TestAdoptSmoke(t *testing.T) {
	t.Parallel()
	db := openURL(t, pgtest.NewLegacyDB(t, 10000))
	ctx := context.Background()
	plan, err := db.PlanAdopt(ctx, adoptOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	plan.WriteTo(os.Stderr)
	res, err := db.Adopt(ctx, adoptOptions(t))
	var dup *postgres.DuplicateOrdersError
	if errors.As(err, &dup) {
		t.Fatal(dup)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res)
}
