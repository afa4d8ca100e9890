package jobs_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/jobs"
)

// receiver is the remote side of webhooks: a real HTTP server that verifies each request's
// signature with the Standard Webhooks library and keeps what it received.
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	secret string
	// answer gives the status of the nth request (from 1); nil: 204.
	answer func(n int) int

	mu  sync.Mutex
	got []received
}

type received struct {
	id, timestamp string
	verifyErr     error
	msg           struct {
		Type      string         `json:"type"`
		Timestamp time.Time      `json:"timestamp"`
		Data      map[string]any `json:"data"`
	}
}

// newReceiver starts a receiver; wrap, when given, wraps its handler (a slow receiver).
func newReceiver(t *testing.T, answer func(n int) int, wrap ...func(http.Handler) http.Handler) *receiver {
	r := &receiver{t: t, answer: answer}
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		wh, err := standardwebhooks.NewWebhook(r.secret)
		if err == nil {
			err = wh.Verify(body, req.Header)
		}
		got := received{id: req.Header.Get("webhook-id"), timestamp: req.Header.Get("webhook-timestamp"), verifyErr: err}
		if err := json.Unmarshal(body, &got.msg); err != nil {
			got.verifyErr = err
		}
		r.got = append(r.got, got)
		n := len(r.got)
		r.mu.Unlock()
		status := http.StatusNoContent
		if r.answer != nil {
			status = r.answer(n)
		}
		w.WriteHeader(status)
	})
	for _, wr := range wrap {
		h = wr(h)
	}
	r.srv = httptest.NewServer(h)
	t.Cleanup(r.srv.Close)
	return r
}

// hostPort is the receiver's host:port, for the client's allow-list.
func (r *receiver) hostPort() string {
	u, _ := url.Parse(r.srv.URL)
	return u.Host
}

func (r *receiver) all() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// waitFor waits until the receiver has a request that match accepts, and returns it.
func (r *receiver) waitFor(what string, match func(received) bool) received {
	r.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		for _, g := range r.all() {
			if match(g) {
				if g.verifyErr != nil {
					r.t.Fatalf("%s: the signature does not verify: %v", what, g.verifyErr)
				}
				return g
			}
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("never received %s; received %+v", what, r.all())
		}
		sleepBriefly()
	}
}

// is matches a message of type about the entity named key (product_id, image_id).
func is(typ gallery.WebhookEvent, key string, id uuid.UUID) func(received) bool {
	return func(g received) bool { return g.msg.Type == string(typ) && g.msg.Data[key] == id.String() }
}

// endpoint registers an endpoint of supplier (nil: a global one, by the service) at r for
// every event, and gives r its secret.
func (b *bundle) endpoint(t *testing.T, r *receiver, supplier *uuid.UUID) gallery.Webhook {
	t.Helper()
	ctx := serviceCtx
	if supplier != nil {
		ctx = gallery.WithCaller(context.Background(), gallery.Supplier(*supplier))
	}
	secret := gallery.NewWebhookSecret()
	w, err := b.db.CreateWebhook(ctx, gallery.Webhook{SupplierID: supplier, URL: r.srv.URL + "/hook", Events: gallery.WebhookEvents},
		secret, gallery.DefaultWebhooksPerOwner)
	if err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	r.secret = secret
	r.mu.Unlock()
	return w
}

// sendTo lets the webhook client reach the receivers (loopback addresses), and no others.
func (b *bundle) sendTo(rs ...*receiver) {
	var allow []string
	for _, r := range rs {
		allow = append(allow, r.hostPort())
	}
	b.hooks.Client = jobs.NewWebhookClient(allow, 10*time.Second)
}

func (b *bundle) supplierProduct(t *testing.T, supplier uuid.UUID) uuid.UUID {
	t.Helper()
	p, err := b.db.CreateProduct(serviceCtx, gallery.Product{SupplierID: supplier})
	if err != nil {
		t.Fatal(err)
	}
	return p.ID
}

// deliveries returns the deliveries of an endpoint, newest first.
func (b *bundle) deliveries(t *testing.T, w gallery.Webhook) []gallery.WebhookDelivery {
	t.Helper()
	page, err := b.db.WebhookDeliveries(serviceCtx, w.ID, 0, gallery.MaxDeliveryPage)
	if err != nil {
		t.Fatal(err)
	}
	return page.Deliveries
}

// waitDelivery waits until the endpoint's only delivery satisfies cond, and returns it.
func (b *bundle) waitDelivery(t *testing.T, w gallery.Webhook, what string, cond func(gallery.WebhookDelivery) bool) gallery.WebhookDelivery {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		ds := b.deliveries(t, w)
		if len(ds) == 1 && cond(ds[0]) {
			return ds[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("the delivery never became %s: %+v", what, ds)
		}
		sleepBriefly()
	}
}

func TestWebhooksSendEachEventOfRealChangesSigned(t *testing.T) {
	t.Parallel()
	b := setup(t, gallery.ThumbnailsForMain)
	supplier, other := uuid.New(), uuid.New()
	mine, theirs, global := newReceiver(t, nil), newReceiver(t, nil), newReceiver(t, nil)
	b.endpoint(t, mine, &supplier)
	b.endpoint(t, theirs, &other)
	b.endpoint(t, global, nil)
	b.sendTo(mine, theirs, global)
	stop := jobs.ReportThumbnailStatus(b.client, b.db, b.log)
	t.Cleanup(stop)
	b.start(t)

	// An upload: the gallery changed, then, once its thumbnails are made, the image is ready.
	product := b.supplierProduct(t, supplier)
	first := b.upload(t, product, photo(t, "video-001.jpeg"))
	changed := mine.waitFor("gallery.changed for the upload", func(g received) bool {
		return is(gallery.EventGalleryChanged, "product_id", product)(g) && g.msg.Data["main_image_id"] == first.ID.String()
	})
	if changed.msg.Data["supplier_id"] != supplier.String() || changed.msg.Timestamp.IsZero() {
		t.Fatalf("gallery.changed data %+v", changed.msg)
	}
	ready := mine.waitFor("image.ready", is(gallery.EventImageReady, "image_id", first.ID))
	if ready.msg.Data["product_id"] != product.String() || ready.msg.Data["position"] != 0.0 ||
		!strings.Contains(ready.msg.Data["thumbnail_url"].(string), "variants/") {
		t.Fatalf("image.ready data %+v", ready.msg.Data)
	}

	// A second image made the main one: the gallery changed with the new order.
	second := b.upload(t, product, photo(t, "video-005.gray.jpeg"))
	if _, err := b.db.MoveImage(serviceCtx, second.ID, 0); err != nil {
		t.Fatal(err)
	}
	mine.waitFor("gallery.changed for the move", func(g received) bool {
		ids, _ := g.msg.Data["image_ids"].([]any)
		return is(gallery.EventGalleryChanged, "product_id", product)(g) && g.msg.Data["main_image_id"] == second.ID.String() &&
			len(ids) == 2 && ids[0] == second.ID.String() && ids[1] == first.ID.String()
	})
	mine.waitFor("image.ready of the new main image", is(gallery.EventImageReady, "image_id", second.ID))

	// The product deleted; the other supplier deletes one of its own.
	if err := b.db.DeleteProduct(serviceCtx, product); err != nil {
		t.Fatal(err)
	}
	deleted := mine.waitFor("product.deleted", is(gallery.EventProductDeleted, "product_id", product))
	theirProduct := b.supplierProduct(t, other)
	if err := b.db.DeleteProduct(gallery.WithCaller(context.Background(), gallery.Supplier(other)), theirProduct); err != nil {
		t.Fatal(err)
	}
	theirs.waitFor("the other supplier's product.deleted", is(gallery.EventProductDeleted, "product_id", theirProduct))

	// The global endpoint got every message, with the same ids; the other supplier's endpoint
	// got only its own; nobody got a gallery.changed for the deleted product's cascade.
	global.waitFor("the global product.deleted", func(g received) bool { return g.id == deleted.id })
	global.waitFor("the global copy of the other supplier's event", is(gallery.EventProductDeleted, "product_id", theirProduct))
	for _, g := range mine.all() {
		if g.msg.Data["supplier_id"] != supplier.String() {
			t.Fatalf("the supplier's endpoint received another supplier's message %+v", g.msg)
		}
		global.waitFor("the global copy of "+g.msg.Type, func(gg received) bool { return gg.id == g.id })
	}
	for _, g := range theirs.all() {
		if g.msg.Data["supplier_id"] != other.String() {
			t.Fatalf("the other supplier's endpoint received %+v", g.msg)
		}
	}
	for _, g := range append(mine.all(), global.all()...) {
		if g.msg.Type == string(gallery.EventGalleryChanged) && g.msg.Data["image_count"] == 0.0 {
			t.Fatalf("a gallery.changed of an emptied gallery: %+v", g.msg)
		}
	}
}

func TestWebhookFailingTwiceIsDeliveredOnTheThirdAttemptAndCanBeResent(t *testing.T) {
	t.Parallel()
	b := setup(t, gallery.ThumbnailsForMain)
	supplier := uuid.New()
	r := newReceiver(t, func(n int) int {
		if n <= 2 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	w := b.endpoint(t, r, &supplier)
	b.sendTo(r)
	b.start(t)
	product := b.supplierProduct(t, supplier)
	if err := b.db.DeleteProduct(serviceCtx, product); err != nil {
		t.Fatal(err)
	}
	d := b.waitDelivery(t, w, "delivered", func(d gallery.WebhookDelivery) bool { return d.Status == gallery.DeliveryDelivered })
	if d.Attempts != 3 || d.LastStatusCode != http.StatusOK || d.DeliveredAt == nil || d.Type != gallery.EventProductDeleted {
		t.Fatalf("delivery %+v, want delivered on the third attempt", d)
	}
	got := r.all()
	if len(got) != 3 {
		t.Fatalf("%d requests, want 3", len(got))
	}
	for _, g := range got {
		if g.verifyErr != nil || g.id != d.MessageID.String() {
			t.Fatalf("request %+v: want webhook-id %s on every attempt, signed", g, d.MessageID)
		}
	}

	// Resent by its supplier: the same message once more.
	ctx := gallery.WithCaller(context.Background(), gallery.Supplier(supplier))
	if _, err := b.db.ResendWebhookDelivery(gallery.WithCaller(context.Background(), gallery.Supplier(uuid.New())), w.ID, d.ID); gallery.ErrorCode(err) != gallery.ENOTFOUND {
		t.Fatalf("another supplier resending: %v, want not found", err)
	}
	if _, err := b.db.ResendWebhookDelivery(ctx, w.ID, d.ID); err != nil {
		t.Fatal(err)
	}
	r.waitFor("the resent message", func(g received) bool { return len(r.all()) == 4 && g.id == d.MessageID.String() })
	b.waitDelivery(t, w, "delivered again", func(d gallery.WebhookDelivery) bool {
		return d.Status == gallery.DeliveryDelivered && d.Attempts == 4
	})
}

func TestWebhookGivesUpAfterItsAttempts(t *testing.T) {
	t.Parallel()
	b := setup(t, gallery.ThumbnailsForMain)
	supplier := uuid.New()
	r := newReceiver(t, func(int) int { return http.StatusInternalServerError })
	w := b.endpoint(t, r, &supplier)
	b.sendTo(r)
	b.start(t)
	if err := b.db.DeleteProduct(serviceCtx, b.supplierProduct(t, supplier)); err != nil {
		t.Fatal(err)
	}
	d := b.waitDelivery(t, w, "failed", func(d gallery.WebhookDelivery) bool { return d.Status == gallery.DeliveryFailed })
	// setup's enqueuer gives webhook jobs 4 attempts.
	if d.Attempts != 4 || d.LastStatusCode != http.StatusInternalServerError || !strings.HasPrefix(d.LastError, "500") || d.NextAttemptAt != nil {
		t.Fatalf("delivery %+v, want failed after 4 attempts", d)
	}
	if n := len(r.all()); n != 4 {
		t.Fatalf("%d requests, want 4", n)
	}
}

func TestWebhookTargetGoneDisablesTheEndpoint(t *testing.T) {
	t.Parallel()
	b := setup(t, gallery.ThumbnailsForMain)
	supplier := uuid.New()
	r := newReceiver(t, func(int) int { return http.StatusGone })
	w := b.endpoint(t, r, &supplier)
	b.sendTo(r)
	b.start(t)
	if err := b.db.DeleteProduct(serviceCtx, b.supplierProduct(t, supplier)); err != nil {
		t.Fatal(err)
	}
	b.waitDelivery(t, w, "failed", func(d gallery.WebhookDelivery) bool { return d.Status == gallery.DeliveryFailed && d.Attempts == 1 })
	w, err := b.db.Webhook(serviceCtx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if w.Enabled || w.DisabledReason == "" {
		t.Fatalf("endpoint %+v, want disabled with its reason", w)
	}
}

func TestRolledBackChangeSendsNothing(t *testing.T) {
	t.Parallel()
	b := setup(t, gallery.ThumbnailsForMain)
	supplier := uuid.New()
	r := newReceiver(t, nil)
	b.endpoint(t, r, &supplier)
	b.sendTo(r)
	b.start(t)
	ctx := context.Background()
	rolledBack, committed := b.supplierProduct(t, supplier), b.supplierProduct(t, supplier)

	tx, err := b.db.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM products WHERE id = $1`, rolledBack); err != nil {
		t.Fatal(err)
	}
	var pending int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM vitrine_webhook_deliveries`).Scan(&pending); err != nil || pending != 1 {
		t.Fatalf("inside the transaction: %d deliveries (%v), want the one the delete made", pending, err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	// A committed change after it is sent, by which time the rolled-back one would have been.
	if err := b.db.DeleteProduct(serviceCtx, committed); err != nil {
		t.Fatal(err)
	}
	r.waitFor("the committed change", is(gallery.EventProductDeleted, "product_id", committed))
	if n, err := b.db.ScheduleWebhookDeliveries(serviceCtx); err != nil || n != 0 {
		t.Fatalf("the sweep found %d deliveries (%v), want none", n, err)
	}
	for _, g := range r.all() {
		if g.msg.Data["product_id"] == rolledBack.String() {
			t.Fatalf("the rolled-back change was sent: %+v", g.msg)
		}
	}
}

func TestPlainSQLWritesAreSentByTheSweep(t *testing.T) {
	t.Parallel()
	b := setup(t, gallery.ThumbnailsForMain)
	supplier := uuid.New()
	r := newReceiver(t, nil)
	b.endpoint(t, r, &supplier)
	b.sendTo(r)
	b.start(t)
	product := b.supplierProduct(t, supplier)
	// The legacy design's RPC, as PostgREST would call it: no job is enqueued with it.
	if _, err := b.db.Pool().Exec(context.Background(), `SELECT insert_image_with_order($1, 'http://legacy/a.jpg', $2)`,
		product, supplier); err != nil {
		t.Fatal(err)
	}
	var imageID uuid.UUID
	if err := b.db.Pool().QueryRow(context.Background(), `SELECT id FROM product_images WHERE product_id = $1`, product).Scan(&imageID); err != nil {
		t.Fatal(err)
	}
	if n, err := b.db.ScheduleWebhookDeliveries(serviceCtx); err != nil || n != 1 {
		t.Fatalf("the sweep scheduled %d deliveries (%v), want 1", n, err)
	}
	r.waitFor("gallery.changed of the RPC's insert", func(g received) bool {
		return is(gallery.EventGalleryChanged, "product_id", product)(g) && g.msg.Data["main_image_id"] == imageID.String()
	})
}

func TestImageFailedWhenItsThumbnailJobGivesUp(t *testing.T) {
	t.Parallel()
	b := setup(t, gallery.ThumbnailsForMain)
	supplier := uuid.New()
	r := newReceiver(t, nil)
	b.endpoint(t, r, &supplier)
	b.sendTo(r)
	product := b.supplierProduct(t, supplier)
	im := b.appendUndecodable(t, product)
	stop := jobs.ReportThumbnailStatus(b.client, b.db, b.log)
	t.Cleanup(stop)
	b.start(t)
	failed := r.waitFor("image.failed", is(gallery.EventImageFailed, "image_id", im.ID))
	if failed.msg.Data["product_id"] != product.String() || failed.msg.Data["attempts"] != 1.0 {
		t.Fatalf("image.failed data %+v", failed.msg.Data)
	}
	for _, g := range r.all() {
		if g.msg.Type == string(gallery.EventImageReady) {
			t.Fatalf("an image that failed was said ready: %+v", g.msg)
		}
	}
}

func TestWebhookToAPrivateAddressIsRefused(t *testing.T) {
	t.Parallel()
	b := setup(t, gallery.ThumbnailsForMain)
	supplier := uuid.New()
	r := newReceiver(t, nil)
	w := b.endpoint(t, r, &supplier)
	b.sendTo() // the receiver listens on loopback, which is not allowed
	b.start(t)
	if err := b.db.DeleteProduct(serviceCtx, b.supplierProduct(t, supplier)); err != nil {
		t.Fatal(err)
	}
	d := b.waitDelivery(t, w, "failed", func(d gallery.WebhookDelivery) bool { return d.Status == gallery.DeliveryFailed })
	if d.Attempts != 1 || d.LastStatusCode != 0 || !strings.Contains(d.LastError, "not allowed") {
		t.Fatalf("delivery %+v, want refused at once", d)
	}
	if n := len(r.all()); n != 0 {
		t.Fatalf("the private address received %d requests", n)
	}
}

// TestWebhooksToOneHostStayWithinItsSlots sends 12 deliveries to one slow receiver with 2
// slots per host: it never has more than 2 requests in flight, and gets all 12.
func TestWebhooksToOneHostStayWithinItsSlots(t *testing.T) {
	t.Parallel()
	b := setup(t, gallery.ThumbnailsForMain)
	b.hooks.Hosts = jobs.NewHostSlots(2)
	supplier := uuid.New()
	var mu sync.Mutex
	inFlight, most := 0, 0
	r := newReceiver(t, nil, func(inner http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			mu.Lock()
			inFlight++
			most = max(most, inFlight)
			mu.Unlock()
			time.Sleep(100 * time.Millisecond) // a slow receiver
			inner.ServeHTTP(w, req)
			mu.Lock()
			inFlight--
			mu.Unlock()
		})
	})
	w := b.endpoint(t, r, &supplier)
	b.sendTo(r)
	const n = 12
	for range n {
		if err := b.db.DeleteProduct(serviceCtx, b.supplierProduct(t, supplier)); err != nil {
			t.Fatal(err)
		}
	}
	b.start(t)
	deadline := time.Now().Add(time.Minute)
	for {
		delivered := 0
		for _, d := range b.deliveries(t, w) {
			if d.Status == gallery.DeliveryDelivered {
				delivered++
			}
		}
		if delivered == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d delivered", delivered, n)
		}
		sleepBriefly()
	}
	mu.Lock()
	defer mu.Unlock()
	if most != 2 {
		t.Fatalf("at most %d requests in flight to the host, want 2 (its slots, used)", most)
	}
}

// TestWebhookAttemptIsCutOffAtItsTimeout: a receiver that never answers fails the attempt
// once the attempt's time is up, and the delivery says so.
func TestWebhookAttemptIsCutOffAtItsTimeout(t *testing.T) {
	t.Parallel()
	b := setup(t, gallery.ThumbnailsForMain)
	b.hooks.AttemptTimeout = 300 * time.Millisecond
	supplier := uuid.New()
	r := newReceiver(t, nil, func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			io.Copy(io.Discard, req.Body) // then the server notices the client hanging up
			<-req.Context().Done()
		})
	})
	w := b.endpoint(t, r, &supplier)
	b.sendTo(r)
	b.start(t)
	if err := b.db.DeleteProduct(serviceCtx, b.supplierProduct(t, supplier)); err != nil {
		t.Fatal(err)
	}
	d := b.waitDelivery(t, w, "timed out", func(d gallery.WebhookDelivery) bool { return d.Attempts >= 1 })
	if d.LastError != "timed out" || d.LastStatusCode != 0 {
		t.Fatalf("delivery %+v, want a timed-out attempt", d)
	}
}
