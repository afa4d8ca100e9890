package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/postgres"
	"github.com/vitrine-dev/vitrine/postgres/pgtest"
)

type productPage struct {
	Products []struct {
		ID         uuid.UUID `json:"id"`
		SupplierID uuid.UUID `json:"supplier_id"`
		Title      string    `json:"title"`
	} `json:"products"`
}

// TestDevModeLogsADemoLink starts `vitrine serve` in dev mode, reads the demo link from its
// log, and with the link's token lists the demo supplier's products: "Demo product" is there.
// With a JWT secret there is no demo.
func TestDevModeLogsADemoLink(t *testing.T) {
	t.Parallel()
	s := startServe(t, nil)
	_, after, ok := strings.Cut(s.logText(), "demo_link=")
	if !ok {
		t.Fatalf("dev mode logged no demo_link\n%s", s.logText())
	}
	link := strings.Fields(after)[0]
	if unquoted, err := strconv.Unquote(link); err == nil { // slog's text quotes it ('#')
		link = unquoted
	}
	base, token, ok := strings.Cut(link, "/#access_token=")
	if !ok || base != s.base || token == "" {
		t.Fatalf("demo_link %q: want %s/#access_token=<token>", link, s.base)
	}
	var page productPage
	if resp := send(t, "GET", s.base+"/v1/products", token, nil, "", &page); resp.StatusCode != http.StatusOK {
		t.Fatalf("listing with the demo token: %d", resp.StatusCode)
	}
	if len(page.Products) != 1 || page.Products[0].Title != demoProductTitle || page.Products[0].SupplierID != demoSupplierID {
		t.Fatalf("the demo supplier lists %+v, want one %q of supplier %s", page.Products, demoProductTitle, demoSupplierID)
	}
	// The token is the demo supplier's, not the service's: it may not read others' products.
	if resp := send(t, "GET", s.base+"/v1/purges/latest", token, nil, "", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("the demo token reads the purge runs: %d", resp.StatusCode)
	}

	secured := startServe(t, map[string]string{"VITRINE_JWT_SECRET": tenantSecret})
	if strings.Contains(secured.logText(), "demo_link") {
		t.Errorf("with a JWT secret, serve logged a demo link\n%s", secured.logText())
	}
}

// TestDemoProductOnlyWhenTheDemoSupplierHasNone runs the demo's set-up on one database
// several times: one product is created, and none once the supplier owns any.
func TestDemoProductOnlyWhenTheDemoSupplierHasNone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.AppURL(pgtest.NewDB(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := config{Addr: "127.0.0.1:8080"}
	secret := []byte("demo-test-secret-demo-test-secret")
	list := func() []gallery.ProductSummary {
		t.Helper()
		page, err := db.ListProducts(gallery.WithCaller(ctx, gallery.Service()), gallery.ProductQuery{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		return page.Products
	}
	for range 2 {
		if err := startDemo(ctx, db, secret, cfg, log); err != nil {
			t.Fatal(err)
		}
	}
	if ps := list(); len(ps) != 1 || ps[0].ID != demoProductID || ps[0].Title != demoProductTitle {
		t.Fatalf("after two starts: %+v", ps)
	}
	// The supplier deletes the demo product and makes its own: the next start adds nothing.
	demo := gallery.WithCaller(ctx, gallery.Supplier(demoSupplierID))
	if err := db.DeleteProduct(demo, demoProductID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateProduct(demo, gallery.Product{SupplierID: demoSupplierID, Title: "Mine"}); err != nil {
		t.Fatal(err)
	}
	if err := startDemo(ctx, db, secret, cfg, log); err != nil {
		t.Fatal(err)
	}
	if ps := list(); len(ps) != 1 || ps[0].Title != "Mine" {
		t.Fatalf("after a start with a product of the supplier's own: %+v", ps)
	}
}
