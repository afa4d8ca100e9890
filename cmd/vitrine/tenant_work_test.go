package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/internal/testimages"
	"github.com/vitrine-dev/vitrine/jwtauth"
	"github.com/vitrine-dev/vitrine/postgres/pgtest"
)

const tenantSecret = "tenant-test-secret-tenant-test-secret"

// supplierToken mints a supplier's bearer token with tenantSecret.
func supplierToken(t *testing.T, id uuid.UUID) string {
	t.Helper()
	tok, err := jwtauth.Mint([]byte(tenantSecret), gallery.Supplier(id), "", "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// call sends a JSON request (body nil: none) and decodes a JSON answer into out (nil: none).
func call(t *testing.T, method, url, token string, body, out any) *http.Response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	return send(t, method, url, token, rd, "application/json", out)
}

// uploadTo sends file as a multipart upload to product id.
func uploadTo(t testing.TB, base, token string, productID uuid.UUID, file []byte, out any) *http.Response {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", "f")
	fw.Write(file)
	mw.Close()
	return send(t, "POST", base+"/v1/products/"+productID.String()+"/images", token, &buf, mw.FormDataContentType(), out)
}

// send sends a request with token and decodes a successful JSON answer into out (nil: none);
// the returned response's body can still be read.
func send(t testing.TB, method, url, token string, body io.Reader, contentType string, out any) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, url, err, data)
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(data))
	return resp
}

// goImage returns an image of Go's image test data.
func goImage(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "src", "image", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

type imageBody struct {
	ID        uuid.UUID `json:"id"`
	ProductID uuid.UUID `json:"product_id"`
	Status    string    `json:"status"`
}

// TestMainImageChurnIsBounded attacks a real server with cheap requests that cost worker
// time: a tiny lossless WebP declaring 7000×7000 pixels is refused before any job exists,
// and 60 changes of main image across 10 products leave at most one thumbnail job queued or
// running per product (the older ones are superseded), while the final main image of every
// product gets its thumbnails.
func TestMainImageChurnIsBounded(t *testing.T) {
	owner := pgtest.NewDB(t)
	srv := startServeProcess(t, map[string]string{
		"DATABASE_URL": pgtest.AppURL(owner), "VITRINE_MIGRATE_DATABASE_URL": owner,
		"VITRINE_JWT_SECRET": tenantSecret, "VITRINE_UPLOAD_BURST": "100", "VITRINE_LOG_LEVEL": "warn",
	})
	pool, err := pgxpool.New(context.Background(), owner)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	token := supplierToken(t, uuid.New())

	var products []uuid.UUID
	var images [][]uuid.UUID
	bomb := testimages.SolidLosslessWebP(7000, 7000, 200, 30, 30)
	photos := [][]byte{goImage(t, "video-001.jpeg"), goImage(t, "video-005.gray.jpeg"), goImage(t, "video-001.png")}
	for i := range 10 {
		var p struct{ ID uuid.UUID }
		if resp := call(t, "POST", srv.base+"/v1/products", token, map[string]any{}, &p); resp.StatusCode != 201 {
			t.Fatalf("create product: %d", resp.StatusCode)
		}
		if i == 0 {
			resp := uploadTo(t, srv.base, token, p.ID, bomb, nil)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 422 || !strings.Contains(string(body), "too_many_pixels") {
				t.Fatalf("a %d-byte 7000x7000 WebP: %d %s, want 422 too_many_pixels", len(bomb), resp.StatusCode, body)
			}
		}
		var ids []uuid.UUID
		for _, photo := range photos {
			var im imageBody
			if resp := uploadTo(t, srv.base, token, p.ID, photo, &im); resp.StatusCode != 201 {
				t.Fatalf("upload: %d", resp.StatusCode)
			}
			ids = append(ids, im.ID)
		}
		products, images = append(products, p.ID), append(images, ids)
	}
	activePerProduct := func() int {
		var most int
		err := pool.QueryRow(context.Background(), `SELECT coalesce(max(n), 0) FROM (
			SELECT count(*) AS n FROM river_job AS j
			JOIN product_images AS i ON j.args @> jsonb_build_object('image_id', i.id)
			WHERE j.kind = 'thumbnail' AND j.state IN ('available', 'pending', 'scheduled', 'retryable', 'running')
			  AND NOT (j.metadata ? 'cancel_attempted_at')
			GROUP BY i.product_id) AS s`).Scan(&most)
		if err != nil {
			t.Fatal(err)
		}
		return most
	}
	final := make([]uuid.UUID, len(products))
	for k := range 60 {
		p := k % 10
		id := images[p][(k/10)%3]
		if k/10%3 == 0 {
			id = images[p][1+(k/30)%2]
		}
		if resp := call(t, "POST", srv.base+"/v1/images/"+id.String()+"/position", token, map[string]int{"position": 0}, nil); resp.StatusCode != 200 {
			t.Fatalf("move %d: %d", k, resp.StatusCode)
		}
		final[p] = id
		if n := activePerProduct(); n > 1 {
			t.Fatalf("after move %d: a product has %d thumbnail jobs queued or running, want at most 1", k, n)
		}
	}
	var total int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM river_job WHERE kind = 'thumbnail'
		AND state IN ('available', 'pending', 'scheduled', 'retryable', 'running') AND NOT (metadata ? 'cancel_attempted_at')`).Scan(&total); err != nil {
		t.Fatal(err)
	}
	if total > len(products) {
		t.Fatalf("%d thumbnail jobs in flight for %d products", total, len(products))
	}
	deadline := time.Now().Add(3 * time.Minute)
	for p, id := range final {
		for {
			var im imageBody
			call(t, "GET", srv.base+"/v1/images/"+id.String(), token, nil, &im)
			if im.Status == "ready" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the final main image of product %d is %q, never ready", p, im.Status)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// TestWriteBudgetIsSharedByServeProcesses runs two `vitrine serve` processes over one
// database with a write burst of 6: a supplier alternating between them is refused with 429
// and Retry-After after six changes in all (moves, deletes and product creations count),
// while another supplier creates a product and uploads an image normally meanwhile.
func TestWriteBudgetIsSharedByServeProcesses(t *testing.T) {
	owner := pgtest.NewDB(t)
	envs := map[string]string{
		"DATABASE_URL": pgtest.AppURL(owner), "VITRINE_MIGRATE_DATABASE_URL": owner,
		"VITRINE_JWT_SECRET": tenantSecret, "VITRINE_WRITE_BURST": "6", "VITRINE_WRITES_PER_MINUTE": "1",
		"VITRINE_WORKERS": "0", "VITRINE_LOG_LEVEL": "warn",
	}
	servers := []*served{startServeProcess(t, envs), startServeProcess(t, envs)}
	attacker, other := supplierToken(t, uuid.New()), supplierToken(t, uuid.New())

	var p struct{ ID uuid.UUID }
	if resp := call(t, "POST", servers[0].base+"/v1/products", attacker, map[string]any{}, &p); resp.StatusCode != 201 {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	var a, b imageBody
	uploadTo(t, servers[1].base, attacker, p.ID, goImage(t, "video-001.jpeg"), &a)
	uploadTo(t, servers[1].base, attacker, p.ID, goImage(t, "video-005.gray.jpeg"), &b)
	writes := []func(base string) *http.Response{
		func(base string) *http.Response {
			return call(t, "POST", base+"/v1/images/"+b.ID.String()+"/position", attacker, map[string]int{"position": 0}, nil)
		},
		func(base string) *http.Response {
			return call(t, "PUT", base+"/v1/products/"+p.ID.String()+"/images/order", attacker, map[string]any{"ids": []uuid.UUID{a.ID, b.ID}}, nil)
		},
		func(base string) *http.Response {
			return call(t, "POST", base+"/v1/products", attacker, map[string]any{}, nil)
		},
		func(base string) *http.Response {
			return call(t, "DELETE", base+"/v1/images/"+uuid.NewString(), attacker, nil, nil) // 404, but it counts
		},
	}
	// One change was spent creating the product; five more are allowed, on either server.
	for i := range 5 {
		if resp := writes[i%len(writes)](servers[i%2].base); resp.StatusCode == http.StatusTooManyRequests {
			t.Fatalf("change %d of the burst refused", i+2)
		}
	}
	for i, srv := range servers {
		for j, w := range writes {
			resp := w(srv.base)
			if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
				t.Fatalf("server %d, change kind %d past the shared burst: %d, Retry-After %q; want 429 with Retry-After",
					i, j, resp.StatusCode, resp.Header.Get("Retry-After"))
			}
		}
	}
	// Another supplier is not held back.
	var q struct{ ID uuid.UUID }
	if resp := call(t, "POST", servers[1].base+"/v1/products", other, map[string]any{}, &q); resp.StatusCode != 201 {
		t.Fatalf("another supplier's product: %d", resp.StatusCode)
	}
	if resp := uploadTo(t, servers[0].base, other, q.ID, goImage(t, "video-001.jpeg"), nil); resp.StatusCode != 201 {
		t.Fatalf("another supplier's upload: %d", resp.StatusCode)
	}
}
