package main

import (
	"net/http"
	"testing"

	"github.com/google/uuid"
)

// TestServeAllowsTheConfiguredOrigins: VITRINE_CORS_ORIGINS reaches `vitrine serve`'s API,
// for /v1 only: the job UI is never offered to another origin.
func TestServeAllowsTheConfiguredOrigins(t *testing.T) {
	t.Parallel()
	const origin = "https://admin.shop.example"
	s := startServe(t, map[string]string{"VITRINE_WORKERS": "0", "VITRINE_CORS_ORIGINS": origin})
	send := func(method, path string, header ...string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, s.base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}

	res := send("OPTIONS", "/v1/products", "Origin", origin, "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "authorization,content-type")
	if res.StatusCode != http.StatusNoContent || res.Header.Get("Access-Control-Allow-Origin") != origin ||
		res.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("preflight: %d %v", res.StatusCode, res.Header)
	}
	res = send("GET", "/v1/products/"+uuid.NewString(), "Origin", origin, "Authorization", "Bearer "+s.token)
	if res.StatusCode != http.StatusNotFound || res.Header.Get("Access-Control-Allow-Origin") != origin ||
		res.Header.Get("Access-Control-Expose-Headers") == "" {
		t.Errorf("GET: %d %v", res.StatusCode, res.Header)
	}
	for _, p := range []string{"/admin/jobs/", "/openapi.json"} {
		res = send("OPTIONS", p, "Origin", origin, "Access-Control-Request-Method", "GET")
		if res.Header.Get("Access-Control-Allow-Origin") != "" || res.StatusCode == http.StatusNoContent {
			t.Errorf("preflight of %s: %d %v", p, res.StatusCode, res.Header)
		}
	}
}
