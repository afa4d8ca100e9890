package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// client is one simulated supplier: it owns its products, is their only writer, and so knows
// what each of their galleries must hold.
type client struct {
	id         int
	cfg        *Config
	http       *http.Client
	stats      *stats
	token      string
	supplier   uuid.UUID
	rng        *rand.Rand
	next       int // requests sent, to spread them over the servers
	photo      int // the next photograph to upload
	products   []*product
	violations []string
}

func newClient(id int, cfg *Config, httpc *http.Client, st *stats, token string, supplier uuid.UUID) *client {
	c := &client{id: id, cfg: cfg, http: httpc, stats: st, token: token, supplier: supplier,
		rng: rand.New(rand.NewPCG(uint64(id), uint64(time.Now().UnixNano()))), photo: id}
	for range cfg.ProductsPerClient {
		c.products = append(c.products, newProduct(uuid.New()))
	}
	return c
}

// run creates the client's products, then writes to and reads them until ctx ends.
func (c *client) run(ctx context.Context) {
	for _, p := range c.products {
		c.createProduct(ctx, p)
	}
	for ctx.Err() == nil {
		p := c.products[c.rng.IntN(len(c.products))]
		if !p.created {
			c.createProduct(ctx, p)
			continue
		}
		if p.stale {
			c.readGallery(ctx, p)
			continue
		}
		n := len(p.images)
		switch r := c.rng.IntN(100); {
		case n == 0 || (r < 45 && n < c.cfg.MaxImages):
			c.upload(ctx, p)
		case r < 45:
			c.delete(ctx, p)
		case r < 60:
			c.readGallery(ctx, p)
		case r < 68:
			c.readImage(ctx, p)
		case r < 78 && n > 1:
			c.move(ctx, p)
		case r < 86 && n > 1:
			c.reorder(ctx, p)
		default:
			c.delete(ctx, p)
		}
	}
}

// answer is the outcome of one request.
type answer struct {
	status int // 0: no answer
	body   []byte
	retry  time.Duration // Retry-After of a 429 or 503
	err    error
}

func (a answer) ok() bool { return a.status >= 200 && a.status < 300 }

// uncertain says whether the request may or may not have taken effect: it got no answer, or
// a 5xx other than 503 (which the API answers before it changes anything).
func (a answer) uncertain() bool {
	return a.status == 0 || (a.status >= 500 && a.status != http.StatusServiceUnavailable)
}

// refused says whether the server turned the request away for now (a rate limit, a full
// upload queue, paused writes): nothing happened, and the client waits as asked.
func (a answer) refused() bool {
	return a.status == http.StatusTooManyRequests || a.status == http.StatusServiceUnavailable
}

// do sends one request to the next server and records it under route.
func (c *client) do(ctx context.Context, route, method, path, contentType string, body []byte) answer {
	base := c.cfg.URLs[c.next%len(c.cfg.URLs)]
	c.next++
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	// A request under way when the run's time is up is let finish: its answer goes in the
	// ledger. Only the request timeout bounds it.
	req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), method, base+path, rd)
	if err != nil {
		return answer{err: err}
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	var a answer
	if err == nil {
		a.body, err = io.ReadAll(io.LimitReader(resp.Body, 4<<20))
		resp.Body.Close()
		if err == nil {
			a.status = resp.StatusCode
			if s, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil {
				a.retry = time.Duration(s) * time.Second
			}
		}
	}
	a.err = err
	detail := fmt.Sprintf("%s %s: %v", method, base+path, err)
	if err == nil {
		detail = fmt.Sprintf("%s %s: %d %.300s", method, base+path, a.status, a.body)
	}
	c.stats.record(route, time.Since(start), a.status, detail)
	if a.refused() {
		c.wait(ctx, min(max(a.retry, 100*time.Millisecond), 2*time.Second))
	}
	return a
}

// wait pauses the client for d, or until ctx ends.
func (c *client) wait(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func (c *client) createProduct(ctx context.Context, p *product) {
	body, _ := json.Marshal(map[string]any{"id": p.id, "supplier_id": c.supplier, "title": fmt.Sprintf("load test client %d", c.id)})
	a := c.do(ctx, routeCreateProduct, "POST", "/v1/products", "application/json", body)
	switch {
	case a.ok(), a.status == http.StatusConflict && p.triedCreate:
		// A conflict on a retry: the earlier attempt, unanswered, made it.
		p.created, p.stale = true, a.status == http.StatusConflict
	case a.uncertain():
		p.triedCreate = true
		c.wait(ctx, 200*time.Millisecond)
	case !a.refused():
		c.wait(ctx, time.Second) // a refusal that will not pass on retry: do not spin
	}
}

func (c *client) upload(ctx context.Context, p *product) {
	photo := c.cfg.Photos[c.photo%len(c.cfg.Photos)]
	c.photo++
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "photo.jpg")
	fw.Write(photo)
	mw.WriteField("alt", "load test")
	mw.Close()
	a := c.do(ctx, routeUpload, "POST", "/v1/products/"+p.id.String()+"/images", mw.FormDataContentType(), body.Bytes())
	if !a.ok() {
		p.failed(a)
		return
	}
	var im imageJSON
	if err := json.Unmarshal(a.body, &im); err != nil {
		c.violation(p, "an upload was answered %d with a body that is no image: %v", a.status, err)
		p.stale = true
		return
	}
	if !p.tainted && im.Position != len(p.images) {
		c.violation(p, "image %s was appended at position %d, want %d", im.ID, im.Position, len(p.images))
	}
	p.images = append(p.images, im.ID)
	p.present[im.ID] = true
}

func (c *client) delete(ctx context.Context, p *product) {
	id := p.images[c.rng.IntN(len(p.images))]
	a := c.do(ctx, routeDelete, "DELETE", "/v1/images/"+id.String(), "", nil)
	if a.uncertain() {
		delete(p.present, id)
		p.maybeDeleted[id] = true
	}
	if !a.ok() {
		p.failed(a)
		return
	}
	delete(p.present, id)
	p.deleted[id] = true
	p.images = slices.DeleteFunc(p.images, func(x uuid.UUID) bool { return x == id })
}

func (c *client) move(ctx context.Context, p *product) {
	id := p.images[c.rng.IntN(len(p.images))]
	to := c.rng.IntN(len(p.images))
	body, _ := json.Marshal(map[string]int{"position": to})
	a := c.do(ctx, routeMove, "POST", "/v1/images/"+id.String()+"/position", "application/json", body)
	if !a.ok() {
		p.failed(a)
		return
	}
	want := slices.DeleteFunc(slices.Clone(p.images), func(x uuid.UUID) bool { return x == id })
	want = slices.Insert(want, to, id)
	c.afterGalleryWrite(p, a, want, fmt.Sprintf("moving %s to %d", id, to))
}

func (c *client) reorder(ctx context.Context, p *product) {
	want := slices.Clone(p.images)
	c.rng.Shuffle(len(want), func(i, j int) { want[i], want[j] = want[j], want[i] })
	body, _ := json.Marshal(map[string]any{"ids": want})
	a := c.do(ctx, routeReorder, "PUT", "/v1/products/"+p.id.String()+"/images/order", "application/json", body)
	if !a.ok() {
		p.failed(a)
		return
	}
	c.afterGalleryWrite(p, a, want, "reordering")
}

// afterGalleryWrite checks the gallery a move or reorder answered against want, the order it
// asked for, and takes it as the product's.
func (c *client) afterGalleryWrite(p *product, a answer, want []uuid.UUID, what string) {
	got, err := decodeGallery(a.body)
	if err != nil {
		c.violation(p, "%s was answered %d with a body that is no gallery: %v", what, a.status, err)
		p.stale = true
		return
	}
	if !p.tainted && !slices.Equal(got, want) {
		c.violation(p, "%s left the gallery %v, want %v", what, got, want)
	}
	c.adopt(p, got)
}

func (c *client) readGallery(ctx context.Context, p *product) {
	a := c.do(ctx, routeGallery, "GET", "/v1/products/"+p.id.String()+"/images", "", nil)
	if !a.ok() {
		if a.status == http.StatusNotFound && p.created && !p.stale {
			c.violation(p, "the gallery of a product created for the run is not found")
		}
		return
	}
	got, err := decodeGallery(a.body)
	if err != nil {
		c.violation(p, "the gallery answered %d with a body that is no gallery: %v", a.status, err)
		return
	}
	if !p.stale && !p.tainted && !slices.Equal(got, p.images) {
		c.violation(p, "a read showed the gallery %v, its writer was acknowledged %v", got, p.images)
	}
	c.adopt(p, got)
}

// adopt takes got, a gallery read from a server, as the product's, after checking that it
// holds every image acknowledged and none whose delete was acknowledged.
func (c *client) adopt(p *product, got []uuid.UUID) {
	for id := range p.present {
		if !slices.Contains(got, id) {
			c.violation(p, "image %s, acknowledged, is not in the gallery", id)
			delete(p.present, id)
		}
	}
	for _, id := range got {
		if p.deleted[id] {
			c.violation(p, "image %s, whose delete was acknowledged, is in the gallery", id)
		}
		if !p.maybeDeleted[id] {
			p.present[id] = true
		}
	}
	p.images, p.stale = got, false
}

func (c *client) readImage(ctx context.Context, p *product) {
	id := p.images[c.rng.IntN(len(p.images))]
	a := c.do(ctx, routeImage, "GET", "/v1/images/"+id.String(), "", nil)
	if !a.ok() {
		p.failed(a)
	}
}

func (c *client) violation(p *product, format string, args ...any) {
	c.violations = append(c.violations, fmt.Sprintf("client %d, product %s: ", c.id, p.id)+fmt.Sprintf(format, args...))
}

// imageJSON is the part of the API's image that the client reads.
type imageJSON struct {
	ID       uuid.UUID `json:"id"`
	Position int       `json:"position"`
}

func decodeGallery(body []byte) ([]uuid.UUID, error) {
	var g struct {
		Images []imageJSON `json:"images"`
	}
	if err := json.Unmarshal(body, &g); err != nil {
		return nil, err
	}
	ids := make([]uuid.UUID, len(g.Images))
	for i, im := range g.Images {
		if im.Position != i {
			return nil, fmt.Errorf("image %d of the list has position %d", i, im.Position)
		}
		ids[i] = im.ID
	}
	return ids, nil
}
