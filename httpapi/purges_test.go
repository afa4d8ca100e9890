package httpapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/reconcile"
)

func TestLatestPurgesForTheServiceRoleOnly(t *testing.T) {
	t.Parallel()
	b := setup(t)
	type runs struct {
		LastRun       *map[string]any `json:"last_run"`
		LastCompleted *map[string]any `json:"last_completed"`
	}
	var got runs
	if st := b.doJSON(t, "GET", "/v1/purges/latest", nil, &got); st != 200 || got.LastRun != nil || got.LastCompleted != nil {
		t.Fatalf("before any run: %d %+v", st, got)
	}
	ctx := gallery.WithCaller(context.Background(), gallery.Service())
	run, err := reconcile.Run(ctx, b.db, b.store, reconcile.Options{Grace: time.Hour, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if st := b.doJSON(t, "GET", "/v1/purges/latest", nil, &got); st != 200 || got.LastRun == nil || got.LastCompleted != nil {
		t.Fatalf("after a dry run: %d %+v", st, got)
	}
	if r := *got.LastRun; r["id"] != float64(run.ID) || r["status"] != "completed" || r["dry_run"] != true || r["grace"] != "1h0m0s" {
		t.Fatalf("last run %v", r)
	}
	if st := b.as(tokenFor(t, gallery.Supplier(uuid.New()))).doJSON(t, "GET", "/v1/purges/latest", nil, nil); st != 403 {
		t.Errorf("a supplier: %d, want 403", st)
	}
	if st := b.as("").doJSON(t, "GET", "/v1/purges/latest", nil, nil); st != 401 {
		t.Errorf("anonymous: %d, want 401", st)
	}
}
