package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/postgres"
	"github.com/vitrine-dev/vitrine/postgres/adopt"
	"github.com/vitrine-dev/vitrine/postgres/pgtest"
)

// client is a goroutine-safe API client for the writers of the adopt test: it reports
// failures as errors instead of stopping the test.
type client struct {
	url, token string
}

func (c client) send(method, path string, body io.Reader, contentType string, out any) (int, http.Header, error) {
	req, err := http.NewRequest(method, c.url+path, body)
	if err != nil {
		return 0, nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	if out != nil && resp.StatusCode < 300 && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, resp.Header, err
		}
	}
	return resp.StatusCode, resp.Header, nil
}

// uploadPNG uploads a small PNG, distinct for each seed, to a product's gallery.
func (c client) uploadPNG(productID uuid.UUID, seed int) (int, http.Header, imageBody, error) {
	m := image.NewNRGBA(image.Rect(0, 0, 8, 8))
	m.Set(seed%8, (seed/8)%8, color.NRGBA{R: byte(seed), G: byte(seed >> 8), B: byte(seed >> 16), A: 255})
	var img bytes.Buffer
	png.Encode(&img, m)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "p.png")
	fw.Write(img.Bytes())
	mw.Close()
	var out imageBody
	st, h, err := c.send("POST", "/v1/products/"+productID.String()+"/images", &body, mw.FormDataContentType(), &out)
	return st, h, out, err
}

// TestWritesDuringAdopt adopts a legacy database while clients upload, move and delete images
// through the API: during the normalization their writes succeed and the invariants hold
// afterwards, with every write kept; during the unique index's window image writes get 503
// with Retry-After while reads go on, and the refused write succeeds when retried afterwards.
func TestWritesDuringAdopt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewLegacyDB(t, 20_000)
	owner, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	var products []uuid.UUID
	if err := owner.Pool().QueryRow(ctx, `SELECT array_agg(id ORDER BY id) FROM products`).Scan(&products); err != nil {
		t.Fatal(err)
	}

	var (
		b          *bundle
		c          client
		stop       = make(chan struct{})
		wg         sync.WaitGroup
		mu         sync.Mutex
		uploaded   = map[uuid.UUID]bool{} // images the API accepted, false once deleted
		writes     atomic.Int64
		refused    atomic.Int64 // 503s seen by the writers
		failures   []string
		pauseCheck = map[string]int{}
		retryID    uuid.UUID // the product of the upload refused during the pause
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		failures = append(failures, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	writer := func(w int) {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(uint64(w), 7))
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			p := products[rng.IntN(len(products))]
			st, _, im, err := c.uploadPNG(p, w*100000+i)
			switch {
			case err != nil:
				fail("upload: %v", err)
			case st == http.StatusServiceUnavailable:
				refused.Add(1)
				continue
			case st != http.StatusCreated:
				fail("upload to %s: %d", p, st)
				continue
			}
			writes.Add(1)
			mu.Lock()
			uploaded[im.ID] = true
			mu.Unlock()
			// Make it the main image, then, one time in three, delete it.
			st, _, err = c.send("POST", "/v1/images/"+im.ID.String()+"/position", bytes.NewReader([]byte(`{"position":0}`)), "application/json", nil)
			switch {
			case err != nil:
				fail("move: %v", err)
			case st == http.StatusServiceUnavailable:
				refused.Add(1)
			case st != http.StatusOK:
				fail("move %s: %d", im.ID, st)
			default:
				writes.Add(1)
			}
			if i%3 == 0 {
				st, _, err = c.send("DELETE", "/v1/images/"+im.ID.String(), nil, "", nil)
				switch {
				case err != nil:
					fail("delete: %v", err)
				case st == http.StatusServiceUnavailable:
					refused.Add(1)
				case st != http.StatusNoContent:
					fail("delete %s: %d", im.ID, st)
				default:
					writes.Add(1)
					mu.Lock()
					uploaded[im.ID] = false
					mu.Unlock()
				}
			}
		}
	}

	opts := adopt.Options{
		BatchSize: 20,
		Logger:    testLoggerFor(t),
		BeforeStep: func(ctx context.Context, step string) error {
			if step == "normalize" {
				// The schema is Vitrine's enough to serve: start the API and the writers.
				b = setup(t, func(o *options) { o.ownerURL = url })
				c = client{url: b.url, token: b.token}
				for w := range 4 {
					wg.Add(1)
					go writer(w)
				}
			}
			return nil
		},
		AfterBatch: func(int) error {
			time.Sleep(3 * time.Millisecond) // leave the writers time to interleave
			return nil
		},
		DuringPause: func(ctx context.Context) error {
			p := products[0]
			st, h, _, err := c.uploadPNG(p, -1)
			if err != nil {
				return err
			}
			pauseCheck["upload"] = st
			if h.Get("Retry-After") == "" {
				pauseCheck["retry-after missing"] = 1
			}
			retryID = p
			st, _, err = c.send("GET", "/v1/products/"+p.String()+"/images", nil, "", nil)
			if err != nil {
				return err
			}
			pauseCheck["read"] = st
			return nil
		},
	}
	res, err := adopt.Run(ctx, owner, opts)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range failures {
		t.Error(f)
	}
	t.Logf("%d writes through the API during the adoption, %d refused while paused (%v)", writes.Load(), refused.Load(), res.WritesPaused)
	if writes.Load() < 20 {
		t.Errorf("only %d writes happened during the adoption", writes.Load())
	}
	if pauseCheck["upload"] != http.StatusServiceUnavailable || pauseCheck["retry-after missing"] != 0 || pauseCheck["read"] != http.StatusOK {
		t.Errorf("during the pause: %v (want upload 503 with Retry-After, read 200)", pauseCheck)
	}
	// The refused upload succeeds once the pause is over.
	if st, _, _, err := c.uploadPNG(retryID, -1); err != nil || st != http.StatusCreated {
		t.Errorf("retrying the refused upload: %d, %v", st, err)
	}
	// Invariant 1 holds and every accepted write is there.
	var broken int
	if err := owner.Pool().QueryRow(ctx, `SELECT count(*) FROM (SELECT product_id FROM product_images GROUP BY product_id
		HAVING min(image_order) <> 0 OR max(image_order) <> count(*) - 1 OR count(DISTINCT image_order) <> count(*)) AS b`).Scan(&broken); err != nil {
		t.Fatal(err)
	}
	if broken != 0 {
		t.Errorf("%d galleries are not numbered 0..n-1", broken)
	}
	for id, kept := range uploaded {
		var n int
		owner.Pool().QueryRow(ctx, `SELECT count(*) FROM product_images WHERE id = $1`, id).Scan(&n)
		if (n == 1) != kept {
			t.Errorf("image %s: %d rows, want kept=%t", id, n, kept)
		}
	}
}

// testLoggerFor discards logs; adopt's own tests show them.
func testLoggerFor(testing.TB) *slog.Logger { return slog.New(slog.DiscardHandler) }
