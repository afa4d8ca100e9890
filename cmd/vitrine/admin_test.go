package main

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// adminDo sends a request to s with headers (name, value pairs; "Host" sets the Host), as
// a browser would, without the API's token.
func adminDo(t *testing.T, s *served, method, path, body string, headers ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html,application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i] == "Host" {
			req.Host = headers[i+1]
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// assertNoFraming checks that an HTML page may not be framed nor sniffed.
func assertNoFraming(t *testing.T, what string, h http.Header) {
	t.Helper()
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("%s: Content-Security-Policy %q lacks frame-ancestors 'none'", what, csp)
	}
	if h.Get("X-Frame-Options") != "DENY" || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("%s: X-Frame-Options %q, X-Content-Type-Options %q, want DENY and nosniff", what, h.Get("X-Frame-Options"), h.Get("X-Content-Type-Options"))
	}
}

// availableJob makes a job (an upload's thumbnail job, with no worker to run it) and returns
// its id as the job UI's API shows it.
func availableJob(t *testing.T, s *served, headers ...string) json.RawMessage {
	t.Helper()
	photo, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "src", "image", "testdata", "video-001.jpeg"))
	if err != nil {
		t.Fatal(err)
	}
	s.uploadPhoto(t, photo, "")
	st, _, body := adminDo(t, s, "GET", "/admin/jobs/api/jobs?state=available&limit=10", "", headers...)
	var list struct {
		Data []struct {
			ID json.RawMessage `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &list); st != 200 || err != nil || len(list.Data) == 0 {
		t.Fatalf("listing jobs: %d %.300s", st, body)
	}
	return list.Data[0].ID
}

// TestJobUIOnLoopbackWithoutPassword attacks the job UI of a server listening on 127.0.0.1
// without VITRINE_ADMIN_PASSWORD: a request naming another host (a reverse proxy, DNS
// rebinding) is refused, a cross-origin POST deleting a job is refused and the job is still
// there, while the UI's own page, assets and same-origin requests work, under a CSP that
// forbids framing. The docs page forbids framing too, and its style sheet is allowed by its
// policy.
func TestJobUIOnLoopbackWithoutPassword(t *testing.T) {
	t.Parallel()
	s := startServe(t, map[string]string{"VITRINE_WORKERS": "0"})
	job := availableJob(t, s)

	st, h, page := adminDo(t, s, "GET", "/admin/jobs/", "")
	if st != 200 || !strings.Contains(page, "<html") {
		t.Fatalf("GET /admin/jobs/: %d %.200s", st, page)
	}
	assertNoFraming(t, "/admin/jobs/", h)
	csp := h.Get("Content-Security-Policy")
	// Everything the page loads comes from its own origin, which script-src 'self' allows, and
	// it runs no inline script (its inline script element is JSON data, which CSP leaves alone).
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-eval") {
		t.Fatalf("the job UI's CSP %q", csp)
	}
	for _, m := range regexp.MustCompile(`<script([^>]*)>`).FindAllStringSubmatch(page, -1) {
		if !strings.Contains(m[1], "src=") && !strings.Contains(m[1], `type="application/json"`) {
			t.Errorf("the job UI's page has an inline script, which its CSP blocks: %s", m[0])
		}
	}
	assets := regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(assets) < 2 {
		t.Fatalf("the job UI's page names %d assets", len(assets))
	}
	for _, m := range assets {
		if !strings.HasPrefix(m[1], "/admin/jobs/") {
			t.Errorf("the job UI's page loads %s, not from its own origin", m[1])
			continue
		}
		if st, _, body := adminDo(t, s, "GET", m[1], "", "Accept", "*/*"); st != 200 || body == "" {
			t.Errorf("asset %s: %d, %d bytes", m[1], st, len(body))
		}
	}

	// Another Host: a reverse proxy on this machine, or a rebound name.
	for _, host := range []string{"vitrine.example.com", "evil.example:80", "10.0.0.5"} {
		if st, _, _ := adminDo(t, s, "GET", "/admin/jobs/", "", "Host", host); st != http.StatusForbidden {
			t.Errorf("GET /admin/jobs/ with Host %s: %d, want 403", host, st)
		}
	}
	// A page elsewhere posting to the UI, as a browser sends it; an older browser sends Origin only.
	del := `{"ids":[` + string(job) + `]}`
	for _, headers := range [][]string{
		{"Content-Type", "text/plain", "Origin", "http://evil.example", "Sec-Fetch-Site", "cross-site"},
		{"Content-Type", "text/plain", "Origin", "http://evil.example"},
		{"Content-Type", "text/plain", "Origin", "http://localhost:1", "Sec-Fetch-Site", "same-site"},
	} {
		if st, _, body := adminDo(t, s, "POST", "/admin/jobs/api/jobs/delete", del, headers...); st != http.StatusForbidden {
			t.Errorf("a cross-origin delete %v: %d %.200s, want 403", headers, st, body)
		}
	}
	if st, _, body := adminDo(t, s, "GET", "/admin/jobs/api/jobs/"+strings.Trim(string(job), `"`), ""); st != 200 {
		t.Fatalf("the job after cross-origin deletes: %d %.200s, want it still there", st, body)
	}
	// The UI's own request deletes it.
	if st, _, body := adminDo(t, s, "POST", "/admin/jobs/api/jobs/delete", del,
		"Content-Type", "application/json", "Origin", s.base, "Sec-Fetch-Site", "same-origin"); st != 200 {
		t.Fatalf("a same-origin delete: %d %.200s", st, body)
	}
	if st, _, _ := adminDo(t, s, "GET", "/admin/jobs/api/jobs/"+strings.Trim(string(job), `"`), ""); st != 404 {
		t.Fatalf("the job after a same-origin delete: %d, want 404", st)
	}

	// The docs page may not be framed; the supplier's page links the job UI in its footer,
	// may not be framed, and its policy allows no inline script or style.
	st, h, _ = adminDo(t, s, "GET", "/docs", "")
	if st != 200 {
		t.Fatalf("GET /docs: %d", st)
	}
	assertNoFraming(t, "/docs", h)
	st, h, page = adminDo(t, s, "GET", "/", "")
	if st != 200 || !strings.Contains(page, `href="/admin/jobs/"`) || !strings.Contains(page, `src="/ui/app.js"`) {
		t.Fatalf("GET /: %d %.300s", st, page)
	}
	assertNoFraming(t, "/", h)
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self';") || !strings.Contains(csp, "style-src 'self';") ||
		strings.Contains(csp, "unsafe-inline") {
		t.Fatalf("the page's policy %q allows more than this server's scripts and styles", csp)
	}
	// JSON answers may not be framed either.
	_, h, _ = adminDo(t, s, "GET", "/healthz", "")
	assertNoFraming(t, "/healthz", h)
}

// freeWildcardAddr returns a free port on every interface, as ":port".
func freeWildcardAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return ":" + port
}

// TestJobUIBeyondLoopback: on a server listening on every interface, the job UI is off
// without VITRINE_ADMIN_PASSWORD (also to loopback clients, who may be a reverse proxy), and
// start-up says so; with the password it asks for it, and still refuses cross-origin writes.
func TestJobUIBeyondLoopback(t *testing.T) {
	t.Parallel()
	s := startServe(t, map[string]string{"VITRINE_WORKERS": "0", "VITRINE_ADDR": freeWildcardAddr(t)})
	st, _, body := adminDo(t, s, "GET", "/admin/jobs/", "")
	if st != http.StatusForbidden || !strings.Contains(body, "VITRINE_ADMIN_PASSWORD") {
		t.Fatalf("the job UI without a password beyond loopback: %d %.200s, want 403 naming VITRINE_ADMIN_PASSWORD", st, body)
	}
	if st, _, _ := adminDo(t, s, "POST", "/admin/jobs/api/jobs/delete", `{"ids":["1"]}`, "Content-Type", "application/json"); st != http.StatusForbidden {
		t.Fatalf("a job UI write without a password beyond loopback: %d, want 403", st)
	}
	if !strings.Contains(s.logText(), "the job UI is off") {
		t.Fatalf("start-up did not say the job UI is off:\n%s", s.logText())
	}

	s = startServe(t, map[string]string{"VITRINE_WORKERS": "0", "VITRINE_ADDR": freeWildcardAddr(t), "VITRINE_ADMIN_PASSWORD": "correct horse"})
	if st, _, _ := adminDo(t, s, "GET", "/admin/jobs/", ""); st != http.StatusUnauthorized {
		t.Fatalf("the job UI without credentials: %d, want 401", st)
	}
	if st, _, _ := adminDo(t, s, "GET", "/admin/jobs/", "", "Authorization", basic("admin", "wrong")); st != http.StatusUnauthorized {
		t.Fatalf("the job UI with a wrong password: %d, want 401", st)
	}
	auth := basic("admin", "correct horse")
	st, h, _ := adminDo(t, s, "GET", "/admin/jobs/", "", "Authorization", auth, "Host", "jobs.example.com")
	if st != 200 {
		t.Fatalf("the job UI with the password: %d, want 200", st)
	}
	assertNoFraming(t, "/admin/jobs/ (with a password)", h)
	job := availableJob(t, s, "Authorization", auth)
	if st, _, _ := adminDo(t, s, "POST", "/admin/jobs/api/jobs/delete", `{"ids":[`+string(job)+`]}`,
		"Authorization", auth, "Content-Type", "text/plain", "Origin", "http://evil.example", "Sec-Fetch-Site", "cross-site"); st != http.StatusForbidden {
		t.Fatalf("a cross-origin delete with the browser's saved password: %d, want 403", st)
	}
	if st, _, _ := adminDo(t, s, "GET", "/admin/jobs/api/jobs/"+strings.Trim(string(job), `"`), "", "Authorization", auth); st != 200 {
		t.Fatalf("the job after a cross-origin delete: %d, want it still there", st)
	}
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}
