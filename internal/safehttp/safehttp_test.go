package safehttp_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/safehttp"
)

func get(t *testing.T, c *http.Client, u string) (*http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err == nil {
		t.Cleanup(func() { resp.Body.Close() })
	}
	return resp, err
}

func hostPort(t *testing.T, s *httptest.Server) string {
	t.Helper()
	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

func hello() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello")
	}))
}

func TestLoopbackRefusedUnlessAllowed(t *testing.T) {
	t.Setenv("HTTP_PROXY", "http://192.0.2.1:1")
	t.Setenv("http_proxy", "http://192.0.2.1:1")
	s := hello()
	defer s.Close()
	_, port, _ := net.SplitHostPort(hostPort(t, s))

	refused := []string{
		s.URL,
		"http://localhost:" + port + "/",
		"http://[::ffff:127.0.0.1]:" + port + "/",
		"http://0.0.0.0:" + port + "/",
		"http://10.0.0.1:" + port + "/",
		"http://169.254.169.254/latest/meta-data/",
		"http://[::1]:" + port + "/",
		"http://192.168.1.1/",
		"http://224.0.0.1/",
	}
	c := safehttp.NewClient(safehttp.Options{})
	for _, u := range refused {
		if _, err := get(t, c, u); !errors.Is(err, safehttp.ErrForbiddenAddress) {
			t.Errorf("GET %s: err %v, want ErrForbiddenAddress", u, err)
		}
	}

	for _, allow := range [][]string{{hostPort(t, s)}, {"127.0.0.1"}} {
		c := safehttp.NewClient(safehttp.Options{AllowHosts: allow})
		resp, err := get(t, c, s.URL)
		if err != nil {
			t.Fatalf("allowed %v: %v", allow, err)
		}
		if b, _ := io.ReadAll(resp.Body); string(b) != "hello" {
			t.Errorf("allowed %v: body %q", allow, b)
		}
	}
	// An allowance for one port is not one for another.
	c = safehttp.NewClient(safehttp.Options{AllowHosts: []string{"127.0.0.1:1"}})
	if _, err := get(t, c, s.URL); !errors.Is(err, safehttp.ErrForbiddenAddress) {
		t.Errorf("other port allowed: err %v", err)
	}
	// A name is allowed as a name, not by the address it resolves to.
	c = safehttp.NewClient(safehttp.Options{AllowHosts: []string{"localhost"}})
	if _, err := get(t, c, "http://localhost:"+port+"/"); err != nil {
		t.Errorf("localhost allowed by name: %v", err)
	}
	if _, err := get(t, c, s.URL); !errors.Is(err, safehttp.ErrForbiddenAddress) {
		t.Errorf("127.0.0.1 allowed through the name localhost: err %v", err)
	}
}

// chain answers /n with a redirect to /n-1 until /0, which answers "end".
func chain(t *testing.T) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
		if err != nil {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		if n == 0 {
			fmt.Fprint(w, "end")
			return
		}
		http.Redirect(w, r, "/"+strconv.Itoa(n-1), http.StatusFound)
	}))
}

func TestRedirects(t *testing.T) {
	s := chain(t)
	defer s.Close()
	c := safehttp.NewClient(safehttp.Options{AllowHosts: []string{hostPort(t, s)}})
	resp, err := get(t, c, s.URL+"/5")
	if err != nil {
		t.Fatalf("5 redirects: %v", err)
	}
	if b, _ := io.ReadAll(resp.Body); string(b) != "end" {
		t.Errorf("5 redirects: body %q", b)
	}
	if _, err := get(t, c, s.URL+"/6"); !errors.Is(err, safehttp.ErrTooManyRedirects) {
		t.Errorf("6 redirects: err %v, want ErrTooManyRedirects", err)
	}

	hidden := hello()
	defer hidden.Close()
	to := func(target string) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target, http.StatusMovedPermanently)
		}))
	}
	for target, want := range map[string]error{
		hidden.URL:                safehttp.ErrForbiddenAddress, // loopback, another port
		"http://10.1.2.3/x":       safehttp.ErrForbiddenAddress,
		"http://localhost:1/":     safehttp.ErrForbiddenAddress,
		"ftp://example.com/a.jpg": safehttp.ErrScheme,
		"file:///etc/passwd":      safehttp.ErrScheme,
	} {
		r := to(target)
		c := safehttp.NewClient(safehttp.Options{AllowHosts: []string{hostPort(t, r)}})
		if _, err := get(t, c, r.URL); !errors.Is(err, want) {
			t.Errorf("redirect to %s: err %v, want %v", target, err, want)
		}
		r.Close()
	}
}

func TestNothingForwarded(t *testing.T) {
	type seen struct{ agent, cookie, referer, auth string }
	got := make(chan seen, 4)
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- seen{r.UserAgent(), r.Header.Get("Cookie"), r.Header.Get("Referer"), r.Header.Get("Authorization")}
		if r.URL.Path == "/first" {
			http.SetCookie(w, &http.Cookie{Name: "session", Value: "secret"})
			http.Redirect(w, r, "/second", http.StatusFound)
			return
		}
		fmt.Fprint(w, "ok")
	}))
	defer s.Close()
	c := safehttp.NewClient(safehttp.Options{AllowHosts: []string{hostPort(t, s)}, UserAgent: "Vitrine/test"})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/first", nil)
	req.Header.Set("Authorization", "Bearer caller-token")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	first, second := <-got, <-got
	if first.agent != "Vitrine/test" || second.agent != "Vitrine/test" {
		t.Errorf("user agents %q, %q", first.agent, second.agent)
	}
	if second.cookie != "" || second.referer != "" || second.auth != "" {
		t.Errorf("redirect carried cookie %q, referer %q, authorization %q", second.cookie, second.referer, second.auth)
	}
	if _, err := get(t, c, s.URL+"/third"); err != nil {
		t.Fatal(err)
	}
	if third := <-got; third.cookie != "" {
		t.Errorf("cookie kept between requests: %q", third.cookie)
	}
}

func TestHeaderTimeout(t *testing.T) {
	release := make(chan struct{})
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer s.Close()
	defer close(release)
	c := safehttp.NewClient(safehttp.Options{AllowHosts: []string{hostPort(t, s)}, HeaderTimeout: 100 * time.Millisecond})
	_, err := get(t, c, s.URL)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("err %v, want a timeout", err)
	}
}

func TestCheckURL(t *testing.T) {
	for _, u := range []string{"https://example.com/a.jpg", "http://example.com:8080/b?c=d"} {
		if _, err := safehttp.CheckURL(u); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	for _, u := range []string{"ftp://example.com/a.jpg", "https:///a.jpg", "https://user:pw@example.com/", "example.com/a.jpg",
		"javascript:alert(1)", "https://example.com/" + strings.Repeat("a", 5000), "http://exa mple.com/"} {
		if _, err := safehttp.CheckURL(u); !errors.Is(err, safehttp.ErrScheme) {
			t.Errorf("%s: err %v, want ErrScheme", u, err)
		}
	}
}

func TestParseAllowHosts(t *testing.T) {
	got, err := safehttp.ParseAllowHosts(" mirror.internal, 127.0.0.1:8080 ,,[::1]:9000, IMAGES.local")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"mirror.internal", "127.0.0.1:8080", "[::1]:9000", "images.local"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for _, bad := range []string{"http://x", "x/y", "x:0", "x:99999", ":80", "a@b", "x:port"} {
		if _, err := safehttp.ParseAllowHosts(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
