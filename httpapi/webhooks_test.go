package httpapi_test

import (
	"context"
	"encoding/base64"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/vitrine-dev/vitrine/gallery"
)

type webhookBody struct {
	ID         uuid.UUID  `json:"id"`
	SupplierID *uuid.UUID `json:"supplier_id"`
	URL        string     `json:"url"`
	Events     []string   `json:"events"`
	Enabled    bool       `json:"enabled"`
	Secret     *string    `json:"secret"`
}

func newHook(url string, events ...string) map[string]any {
	return map[string]any{"url": url, "events": events}
}

// webhookRows counts the endpoints in the database, whoever owns them.
func (b *bundle) webhookRows(t *testing.T) int {
	t.Helper()
	var n int
	if err := b.db.Pool().QueryRow(context.Background(), `SELECT count(*) FROM vitrine_webhooks`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestWebhookSecretIsShownOnceAndNeverReadable(t *testing.T) {
	t.Parallel()
	b := setup(t)
	supplier := uuid.New()
	as := b.as(tokenFor(t, gallery.Supplier(supplier)))
	var created webhookBody
	if st := as.doJSON(t, "POST", "/v1/webhooks", newHook("https://hooks.example.com/a", "image.ready", "image.ready"), &created); st != 201 {
		t.Fatalf("create: %d", st)
	}
	if created.Secret == nil || !strings.HasPrefix(*created.Secret, "whsec_") {
		t.Fatalf("created %+v: no whsec_ secret", created)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(*created.Secret, "whsec_"))
	if err != nil || len(key) < 24 {
		t.Fatalf("secret %q: %d bytes (%v), want at least 24", *created.Secret, len(key), err)
	}
	if created.SupplierID == nil || *created.SupplierID != supplier || len(created.Events) != 1 || !created.Enabled {
		t.Fatalf("created %+v", created)
	}

	// No later answer holds it.
	var one webhookBody
	var list struct{ Webhooks []webhookBody }
	if st := as.doJSON(t, "GET", "/v1/webhooks/"+created.ID.String(), nil, &one); st != 200 || one.Secret != nil {
		t.Fatalf("GET one: %d, secret %v", st, one.Secret)
	}
	if st := as.doJSON(t, "GET", "/v1/webhooks", nil, &list); st != 200 || len(list.Webhooks) != 1 || list.Webhooks[0].Secret != nil {
		t.Fatalf("GET list: %d %+v", st, list)
	}
	var patched webhookBody
	if st := as.doJSON(t, "PATCH", "/v1/webhooks/"+created.ID.String(), map[string]any{"enabled": false}, &patched); st != 200 || patched.Secret != nil || patched.Enabled {
		t.Fatalf("PATCH: %d %+v", st, patched)
	}

	// Nor may the supplier read it in SQL, as PostgREST would let it try.
	ctx := context.Background()
	err = pgx.BeginFunc(ctx, b.db.Pool(), func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT set_config('role', 'authenticated', true), set_config('request.jwt.claims', $1, true)`,
			string(gallery.Supplier(supplier).ClaimsJSON())); err != nil {
			return err
		}
		var s string
		return tx.QueryRow(ctx, `SELECT secret FROM vitrine_webhooks`).Scan(&s)
	})
	if err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("a supplier reading secrets in SQL: %v, want permission denied", err)
	}
}

func TestWebhookOwnership(t *testing.T) {
	t.Parallel()
	b := setup(t)
	supplierA, supplierB := uuid.New(), uuid.New()
	asA, asB := b.as(tokenFor(t, gallery.Supplier(supplierA))), b.as(tokenFor(t, gallery.Supplier(supplierB)))
	var mine, global, forB webhookBody
	if st := asA.doJSON(t, "POST", "/v1/webhooks", newHook("https://a.example.com/", "product.deleted"), &mine); st != 201 {
		t.Fatalf("A's endpoint: %d", st)
	}
	// Global endpoints are the service role's; it may also register one for a supplier.
	if st := b.doJSON(t, "POST", "/v1/webhooks", newHook("https://ops.example.com/", "product.deleted"), &global); st != 201 || global.SupplierID != nil {
		t.Fatalf("global endpoint: %d %+v", st, global)
	}
	body := newHook("https://b.example.com/", "image.failed")
	body["supplier_id"] = supplierB
	if st := b.doJSON(t, "POST", "/v1/webhooks", body, &forB); st != 201 || *forB.SupplierID != supplierB {
		t.Fatalf("B's endpoint by the service: %d %+v", st, forB)
	}
	if st := asA.doJSON(t, "POST", "/v1/webhooks", body, nil); st != 403 {
		t.Fatalf("A registering for B: %d, want 403", st)
	}
	if st := b.as("").doJSON(t, "POST", "/v1/webhooks", newHook("https://x.example.com/", "product.deleted"), nil); st != 401 {
		t.Fatalf("anonymous: %d, want 401", st)
	}
	if st := b.as("").doJSON(t, "GET", "/v1/webhooks", nil, nil); st != 401 {
		t.Fatalf("anonymous list: %d, want 401", st)
	}

	// Each reads its own only; the others' are not found, to read, change, delete, or list.
	for _, other := range []webhookBody{global, forB} {
		p := "/v1/webhooks/" + other.ID.String()
		for _, try := range []struct {
			method, path string
			body         any
		}{{"GET", p, nil}, {"GET", p + "/deliveries", nil}, {"PATCH", p, map[string]any{"enabled": false}}, {"DELETE", p, nil},
			{"POST", p + "/deliveries/1/resend", nil}} {
			if st := asA.doJSON(t, try.method, try.path, try.body, nil); st != 404 {
				t.Fatalf("A: %s %s: %d, want 404", try.method, try.path, st)
			}
		}
	}
	var listA, listB, listGlobal, listBByService struct{ Webhooks []webhookBody }
	asA.doJSON(t, "GET", "/v1/webhooks", nil, &listA)
	asB.doJSON(t, "GET", "/v1/webhooks", nil, &listB)
	b.doJSON(t, "GET", "/v1/webhooks", nil, &listGlobal)
	b.doJSON(t, "GET", "/v1/webhooks?supplier_id="+supplierB.String(), nil, &listBByService)
	if len(listA.Webhooks) != 1 || listA.Webhooks[0].ID != mine.ID || len(listB.Webhooks) != 1 || listB.Webhooks[0].ID != forB.ID ||
		len(listGlobal.Webhooks) != 1 || listGlobal.Webhooks[0].ID != global.ID || len(listBByService.Webhooks) != 1 {
		t.Fatalf("lists: A %+v, B %+v, global %+v, B by the service %+v", listA, listB, listGlobal, listBByService)
	}
	if n := b.webhookRows(t); n != 3 {
		t.Fatalf("%d endpoints, want 3 (nothing the refused calls changed)", n)
	}
}

func TestBadWebhooksAreRefusedAndLeaveNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	as := b.as(tokenFor(t, gallery.Supplier(uuid.New())))
	for name, body := range map[string]any{
		"ftp":              newHook("ftp://hooks.example.com/", "image.ready"),
		"no scheme":        newHook("hooks.example.com/x", "image.ready"),
		"credentials":      newHook("https://user:pw@hooks.example.com/", "image.ready"),
		"no host":          newHook("https:///path", "image.ready"),
		"too long":         newHook("https://hooks.example.com/"+strings.Repeat("a", 2100), "image.ready"),
		"NUL":              newHook("https://hooks.example.com/\x00", "image.ready"),
		"no events":        newHook("https://hooks.example.com/"),
		"unknown event":    newHook("https://hooks.example.com/", "image.ready", "image.eaten"),
		"long description": map[string]any{"url": "https://hooks.example.com/", "events": []string{"image.ready"}, "description": strings.Repeat("d", 501)},
		"unknown field":    map[string]any{"url": "https://hooks.example.com/", "events": []string{"image.ready"}, "secret": "whsec_mine"},
	} {
		if st := as.doJSON(t, "POST", "/v1/webhooks", body, nil); st != 400 {
			t.Errorf("%s: %d, want 400", name, st)
		}
	}
	if n := b.webhookRows(t); n != 0 {
		t.Fatalf("%d endpoints left by refused requests", n)
	}
}

// TestWebhooksPerSupplierHoldUnderConcurrentCreation attacks the bound with 40 creations at
// once: exactly gallery.DefaultWebhooksPerOwner succeed, the rest are conflicts.
func TestWebhooksPerSupplierHoldUnderConcurrentCreation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	as := b.as(tokenFor(t, gallery.Supplier(uuid.New())))
	const tries = 40
	statuses := make([]int, tries)
	var wg sync.WaitGroup
	for i := range tries {
		wg.Go(func() {
			statuses[i] = as.doJSON(t, "POST", "/v1/webhooks", newHook("https://hooks.example.com/", "gallery.changed"), nil)
		})
	}
	wg.Wait()
	created := 0
	for _, st := range statuses {
		switch st {
		case 201:
			created++
		case 409:
		default:
			t.Fatalf("status %d, want 201 or 409", st)
		}
	}
	if created != gallery.DefaultWebhooksPerOwner || b.webhookRows(t) != gallery.DefaultWebhooksPerOwner {
		t.Fatalf("%d created, %d rows, want %d", created, b.webhookRows(t), gallery.DefaultWebhooksPerOwner)
	}
	// Another supplier has its own bound.
	if st := b.as(tokenFor(t, gallery.Supplier(uuid.New()))).doJSON(t, "POST", "/v1/webhooks", newHook("https://hooks.example.com/", "gallery.changed"), nil); st != 201 {
		t.Fatalf("another supplier: %d", st)
	}
}

// TestWebhooksOfATeam: webhook endpoints belong to the supplier a request acts for, as
// products do: an editor of the supplier's team registers and lists the supplier's, a viewer
// lists them and registers none, and a stranger naming the supplier is refused.
func TestWebhooksOfATeam(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := gallery.WithCaller(context.Background(), gallery.Service())
	supplier, editor, viewer, stranger := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	for _, m := range []gallery.Member{{SupplierID: supplier, UserID: editor, Role: gallery.MemberEditor}, {SupplierID: supplier, UserID: viewer, Role: gallery.MemberViewer}} {
		if _, err := b.db.AddMember(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	asSupplier := b.as(tokenFor(t, gallery.Supplier(supplier)))
	asEditor := b.as(tokenFor(t, gallery.Supplier(editor))).actingFor(supplier.String())
	asViewer := b.as(tokenFor(t, gallery.Supplier(viewer))).actingFor(supplier.String())
	asStranger := b.as(tokenFor(t, gallery.Supplier(stranger))).actingFor(supplier.String())

	var made webhookBody
	if st := asEditor.doJSON(t, "POST", "/v1/webhooks", newHook("https://team.example.com/", "gallery.changed"), &made); st != 201 ||
		made.SupplierID == nil || *made.SupplierID != supplier {
		t.Fatalf("the editor registering: %d %+v, want the supplier's endpoint", st, made)
	}
	if st := asViewer.doJSON(t, "POST", "/v1/webhooks", newHook("https://viewer.example.com/", "gallery.changed"), nil); st != 403 {
		t.Errorf("the viewer registering: %d, want 403", st)
	}
	if st := asViewer.doJSON(t, "DELETE", "/v1/webhooks/"+made.ID.String(), nil, nil); st == 204 {
		t.Errorf("the viewer deleted the supplier's endpoint")
	}
	for name, as := range map[string]*bundle{"supplier": asSupplier, "editor": asEditor, "viewer": asViewer} {
		var list struct{ Webhooks []webhookBody }
		if st := as.doJSON(t, "GET", "/v1/webhooks", nil, &list); st != 200 || len(list.Webhooks) != 1 || list.Webhooks[0].ID != made.ID {
			t.Errorf("the %s's list: %d %+v, want the team's endpoint", name, st, list)
		}
	}
	if st := asStranger.doJSON(t, "GET", "/v1/webhooks", nil, nil); st != 403 {
		t.Errorf("a stranger naming the supplier: %d, want 403", st)
	}
	if st := asStranger.doJSON(t, "POST", "/v1/webhooks", newHook("https://stranger.example.com/", "gallery.changed"), nil); st != 403 {
		t.Errorf("a stranger registering for the supplier: %d, want 403", st)
	}
	if n := b.webhookRows(t); n != 1 {
		t.Errorf("%d endpoints, want the editor's only", n)
	}
}
