package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/jwtauth"
	"github.com/vitrine-dev/vitrine/postgres"
)

// The demo supplier and its product, which dev mode makes sure exist. Their ids are fixed,
// so that every dev-mode start on one database finds the same ones.
var (
	demoSupplierID = uuid.MustParse("de300000-0000-4000-8000-000000000001")
	demoProductID  = uuid.MustParse("de300000-0000-4000-8000-000000000002")
)

// demoProductTitle is the title of the product dev mode creates for the demo supplier.
const demoProductTitle = "Demo product"

// demoTokenTTL is how long the demo link's token is valid.
const demoTokenTTL = 24 * time.Hour

// startDemo runs in dev mode only: it makes sure the demo supplier owns a product (it creates
// one titled demoProductTitle when the supplier owns none, and leaves the supplier's products
// alone otherwise), then logs demo_link, the home page's URL with a token of the demo supplier
// in its fragment (#access_token=...), which browsers do not send to servers.
func startDemo(ctx context.Context, db *postgres.DB, secret []byte, cfg config, log *slog.Logger) error {
	demo := gallery.Supplier(demoSupplierID)
	ctx = gallery.WithCaller(ctx, demo)
	page, err := db.ListProducts(ctx, gallery.ProductQuery{Limit: 1})
	if err != nil {
		return fmt.Errorf("looking for the demo supplier's products: %w", err)
	}
	if len(page.Products) == 0 {
		_, err := db.CreateProduct(ctx, gallery.Product{ID: demoProductID, SupplierID: demoSupplierID, Title: demoProductTitle})
		// Another process on the same database may have created it meanwhile.
		if err != nil && gallery.ErrorCode(err) != gallery.ECONFLICT {
			return fmt.Errorf("creating the demo product: %w", err)
		}
	}
	token, err := jwtauth.Mint(secret, demo, cfg.JWTIssuer, cfg.JWTAudience, demoTokenTTL)
	if err != nil {
		return fmt.Errorf("minting the demo supplier's token: %w", err)
	}
	log.Warn("dev mode: the demo supplier's page; its token is valid for 24h",
		"demo_supplier", demoSupplierID, "demo_link", cfg.publicURL()+"/#access_token="+token)
	return nil
}
