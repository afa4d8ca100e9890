package postgres_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vitrine-dev/vitrine/pgcluster"
	"github.com/vitrine-dev/vitrine/postgres"
	"github.com/vitrine-dev/vitrine/postgres/pgtest"
)

// TestDatabasesOfOneClusterMigrateAtOnce migrates several databases of a brand-new cluster
// at the same time, as test binaries or tenants sharing a server do: the roles are
// cluster-wide, so the migrations race to create and grant them, and every one must still
// succeed. A fresh private cluster is needed, since a used one has the roles already.
func TestDatabasesOfOneClusterMigrateAtOnce(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// Not t.TempDir, whose parent only this user can enter: the server may run as the
	// postgres user.
	dir, err := os.MkdirTemp("", "vitrine-migrate-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	c, err := pgcluster.Start(ctx, filepath.Join(dir, "pg"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	admin, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		name := fmt.Sprintf("tenant%d", i)
		if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			db, err := postgres.Open(ctx, pgtest.WithDatabase(c.URL("postgres"), name))
			if err != nil {
				errs[i] = err
				return
			}
			defer db.Close()
			_, errs[i] = db.Migrate(ctx)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("tenant%d: %v", i, err)
		}
	}
	var login, member bool
	if err := admin.QueryRow(ctx, `SELECT rolcanlogin, pg_has_role('vitrine_app', 'service_role', 'MEMBER')
		FROM pg_roles WHERE rolname = 'vitrine_app'`).Scan(&login, &member); err != nil {
		t.Fatal(err)
	}
	if !login || !member {
		t.Errorf("vitrine_app: login %v, member of service_role %v", login, member)
	}
}
