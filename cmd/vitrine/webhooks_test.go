package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// TestServeSendsSignedWebhooks runs `vitrine serve` with its settings: a supplier registers two
// endpoints through the API, one on the allowed host:port and one on another loopback port;
// deleting a product sends the first a signed product.deleted, and the second is refused.
func TestServeSendsSignedWebhooks(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	secrets := map[string]string{} // path → secret
	var verified []string
	hook := func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		wh, err := standardwebhooks.NewWebhook(secrets[r.URL.Path])
		if err == nil {
			err = wh.Verify(body, r.Header)
		}
		if err != nil {
			t.Errorf("a webhook that does not verify: %v", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		verified = append(verified, string(body))
	}
	allowed := httptest.NewServer(http.HandlerFunc(hook))
	defer allowed.Close()
	refused := httptest.NewServer(http.HandlerFunc(hook))
	defer refused.Close()
	u, _ := url.Parse(allowed.URL)
	s := startServe(t, map[string]string{"VITRINE_JWT_SECRET": tenantSecret, "VITRINE_WEBHOOK_ALLOW_HOSTS": u.Host,
		"VITRINE_WEBHOOK_RETRY_BASE": "100ms"})
	supplier := uuid.New()
	token := supplierToken(t, supplier)

	register := func(base string) uuid.UUID {
		var created struct {
			ID     uuid.UUID `json:"id"`
			Secret string    `json:"secret"`
		}
		if res := call(t, "POST", s.base+"/v1/webhooks", token, map[string]any{"url": base + "/hook", "events": []string{"product.deleted"}},
			&created); res.StatusCode != 201 {
			t.Fatalf("registering: %d", res.StatusCode)
		}
		mu.Lock()
		secrets["/hook"] = created.Secret // both servers serve /hook; only one is reached
		mu.Unlock()
		return created.ID
	}
	refusedID := register(refused.URL)
	allowedID := register(allowed.URL)
	var p struct{ ID uuid.UUID }
	if res := call(t, "POST", s.base+"/v1/products", token, map[string]any{}, &p); res.StatusCode != 201 {
		t.Fatalf("creating a product: %d", res.StatusCode)
	}
	if res := call(t, "DELETE", s.base+"/v1/products/"+p.ID.String(), token, nil, nil); res.StatusCode != 204 {
		t.Fatalf("deleting the product: %d", res.StatusCode)
	}

	type page struct {
		Deliveries []struct {
			Status    string `json:"status"`
			LastError string `json:"last_error"`
		} `json:"deliveries"`
	}
	wait := func(id uuid.UUID, status string) page {
		deadline := time.Now().Add(time.Minute)
		for {
			var pg page
			call(t, "GET", s.base+"/v1/webhooks/"+id.String()+"/deliveries", token, nil, &pg)
			if len(pg.Deliveries) == 1 && pg.Deliveries[0].Status == status {
				return pg
			}
			if time.Now().After(deadline) {
				t.Fatalf("webhook %s: deliveries %+v, want one %s\n%s", id, pg, status, s.logText())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	wait(allowedID, "delivered")
	if pg := wait(refusedID, "failed"); !strings.Contains(pg.Deliveries[0].LastError, "not allowed") {
		t.Fatalf("the refused target's delivery: %+v", pg)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(verified) != 1 || !strings.Contains(verified[0], `"product.deleted"`) || !strings.Contains(verified[0], p.ID.String()) {
		t.Fatalf("received %q, want one product.deleted of %s", verified, p.ID)
	}
}
