package postgres_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/vitrine-dev/vitrine/gallery"
)

func createWebhook(t *testing.T, ts tenants, supplier *uuid.UUID, events ...gallery.WebhookEvent) gallery.Webhook {
	t.Helper()
	ctx := serviceCtx
	if supplier != nil {
		ctx = gallery.WithCaller(context.Background(), gallery.Supplier(*supplier))
	}
	w, err := ts.db.CreateWebhook(ctx, gallery.Webhook{SupplierID: supplier, URL: "https://hooks.example.com/", Events: events},
		gallery.NewWebhookSecret(), gallery.DefaultWebhooksPerOwner)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestWebhookTablesHoldRowLevelSecurityInSQL reaches the webhook tables as PostgREST would: a
// supplier sees its own endpoints, messages and deliveries only, never a secret, and changes
// no delivery; the anonymous role reads nothing.
func TestWebhookTablesHoldRowLevelSecurityInSQL(t *testing.T) {
	t.Parallel()
	ts := setupTenants(t)
	createWebhook(t, ts, &ts.a, gallery.EventProductDeleted)
	createWebhook(t, ts, &ts.b, gallery.EventProductDeleted)
	createWebhook(t, ts, nil, gallery.EventProductDeleted)
	for _, p := range []uuid.UUID{ts.aProduct.ID, ts.bPrivate.ID} {
		if err := ts.db.DeleteProduct(serviceCtx, p); err != nil {
			t.Fatal(err)
		}
	}
	claimsA := string(gallery.Supplier(ts.a).ClaimsJSON())
	asRole(t, ts.db, "authenticated", claimsA, func(tx pgx.Tx) {
		if n := count(t, tx, `SELECT count(*) FROM vitrine_webhooks`); n != 1 {
			t.Errorf("A sees %d endpoints, want its 1", n)
		}
		if n := count(t, tx, `SELECT count(*) FROM vitrine_webhook_messages`); n != 1 {
			t.Errorf("A sees %d messages, want its 1", n)
		}
		if n := count(t, tx, `SELECT count(*) FROM vitrine_webhook_deliveries`); n != 1 {
			t.Errorf("A sees %d deliveries, want its endpoint's 1", n)
		}
		if _, err := exec(tx, `SELECT secret FROM vitrine_webhooks`); err == nil {
			t.Error("A read a secret")
		}
		if _, err := exec(tx, `INSERT INTO vitrine_webhooks (supplier_id, url, events, secret) VALUES ($1, 'https://x.example.com/', '{image.ready}', 'whsec_AAAA')`, ts.b); err == nil {
			t.Error("A registered an endpoint for B")
		}
		if _, err := exec(tx, `INSERT INTO vitrine_webhooks (supplier_id, url, events, secret) VALUES (NULL, 'https://x.example.com/', '{image.ready}', 'whsec_AAAA')`); err == nil {
			t.Error("A registered a global endpoint")
		}
		if _, err := exec(tx, `UPDATE vitrine_webhook_deliveries SET status = 'delivered'`); err == nil {
			t.Error("A changed a delivery")
		}
	})
	asRole(t, ts.db, "anon", `{"role": "anon"}`, func(tx pgx.Tx) {
		for _, table := range []string{"vitrine_webhooks", "vitrine_webhook_messages", "vitrine_webhook_deliveries"} {
			if _, err := exec(tx, `SELECT count(*) FROM `+table); err == nil {
				t.Errorf("anon read %s", table)
			}
		}
	})
	asRole(t, ts.db, "service_role", `{"role": "service_role"}`, func(tx pgx.Tx) {
		if n := count(t, tx, `SELECT count(*) FROM vitrine_webhook_deliveries`); n != 4 {
			t.Errorf("%d deliveries, want 4 (each supplier's endpoint and the global one, for each deletion)", n)
		}
	})
}

// TestOneGalleryChangedPerProductAndTransaction: several statements of one transaction make one
// gallery.changed holding the gallery as the transaction leaves it; the next transaction makes
// its own.
func TestOneGalleryChangedPerProductAndTransaction(t *testing.T) {
	t.Parallel()
	ts := setupTenants(t)
	createWebhook(t, ts, &ts.a, gallery.EventGalleryChanged)
	ctx := context.Background()
	appendLegacy := func(tx pgx.Tx) {
		if _, err := tx.Exec(ctx, `SELECT insert_image_with_order($1, 'http://legacy/' || gen_random_uuid(), $2)`, ts.aProduct.ID, ts.a); err != nil {
			t.Fatal(err)
		}
	}
	err := pgx.BeginFunc(ctx, ts.db.Pool(), func(tx pgx.Tx) error {
		appendLegacy(tx)
		appendLegacy(tx)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := pgx.BeginFunc(ctx, ts.db.Pool(), func(tx pgx.Tx) error { appendLegacy(tx); return nil }); err != nil {
		t.Fatal(err)
	}
	rows, err := ts.db.Pool().Query(ctx, `SELECT (payload -> 'data' ->> 'image_count')::int FROM vitrine_webhook_messages
		WHERE type = 'gallery.changed' AND product_id = $1 ORDER BY created_at`, ts.aProduct.ID)
	if err != nil {
		t.Fatal(err)
	}
	counts, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		t.Fatal(err)
	}
	if len(counts) != 2 || counts[0] != 4 || counts[1] != 5 {
		t.Fatalf("image counts of gallery.changed messages %v, want [4 5]", counts)
	}
}
