package jobs_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
)

// BenchmarkGalleryWriteWithWebhooks measures what webhooks add to a gallery write (moving a
// product's main image to the end of its gallery of 4, which also enqueues the new main
// image's thumbnail job): with no endpoint at all (the baseline: the triggers return at
// once), with an endpoint of another supplier (the triggers look and find no match), and
// with an endpoint of the product's supplier (a gallery.changed message, its delivery and its
// River job in the same transaction). No worker runs, so only the write is measured, and the
// database commits without waiting for its WAL flush, so that the disk's fsync (the same in
// the three cases, and most of a write's time on a shared machine) does not drown the
// difference.
func BenchmarkGalleryWriteWithWebhooks(b *testing.B) {
	for _, c := range []struct {
		name     string
		endpoint func(supplier uuid.UUID) *uuid.UUID // nil: no endpoint
	}{
		{"none", nil},
		{"other-supplier", func(uuid.UUID) *uuid.UUID { other := uuid.New(); return &other }},
		{"subscribed", func(s uuid.UUID) *uuid.UUID { return &s }},
	} {
		b.Run(c.name, func(b *testing.B) {
			bu := setup(b, gallery.ThumbnailsForMain)
			if _, err := bu.db.Pool().Exec(serviceCtx, `DO $$ BEGIN
				EXECUTE format('ALTER DATABASE %I SET synchronous_commit = off', current_database()); END $$`); err != nil {
				b.Fatal(err)
			}
			bu.db.Pool().Reset() // new connections take the setting
			supplier := uuid.New()
			p, err := bu.db.CreateProduct(serviceCtx, gallery.Product{SupplierID: supplier})
			if err != nil {
				b.Fatal(err)
			}
			data := photo(b, "video-001.jpeg")
			var order []uuid.UUID // the gallery's order, kept as the moves change it
			for range 4 {
				order = append(order, bu.upload(b, p.ID, data).ID)
			}
			if c.endpoint != nil {
				owner := c.endpoint(supplier)
				if _, err := bu.db.CreateWebhook(serviceCtx, gallery.Webhook{SupplierID: owner, URL: "https://hooks.example.com/",
					Events: []gallery.WebhookEvent{gallery.EventGalleryChanged}}, gallery.NewWebhookSecret(), 1); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				main := order[0]
				if _, err := bu.db.MoveImage(serviceCtx, main, len(order)-1); err != nil {
					b.Fatal(err)
				}
				order = append(order[1:], main)
			}
		})
	}
}
