package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/internal/testphotos"
)

// The supplier's page and the <vitrine-gallery> element, driven in Debian's headless Chromium
// (scripts/install-deps.sh --test installs it) against a real `vitrine serve`, with real
// photographs. Every wait is for a condition, with a wide limit.

// uiWait is the longest a test waits for the page to reach a state.
const uiWait = 2 * time.Minute

// uiPhotos returns two real photographs of different sizes, in the order they are uploaded:
// Dune (1680×1050) and Garden (2560×1600), and a third, Wood.
func uiPhotos(t *testing.T) (dune, garden, wood string) {
	const dir = "usr/share/backgrounds/mate/nature/"
	return testphotos.Medium(t), testphotos.Path(t, testphotos.MATEBackgrounds, dir+"Garden.jpg"),
		testphotos.Path(t, testphotos.MATEBackgrounds, dir+"Wood.jpg")
}

// startBrowser starts headless Chromium for t and returns the context of its first tab; it
// is closed when t ends.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	browser, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is not installed (scripts/install-deps.sh --test installs it): %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.WindowSize(1280, 800))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	return ctx
}

// tab is one browser tab with a page of Vitrine in it, and what the tab saw.
type tab struct {
	t   *testing.T
	ctx context.Context

	mu       sync.Mutex
	requests []string // "METHOD URL" of every request the page sent, in order
}

// openTab opens a tab of browser (in a browser context of its own when isolated), records
// every request it sends and, from before any script of a page runs, the page's policy
// violations, uncaught errors and unhandled rejections (window.__problems).
func openTab(t *testing.T, browser context.Context, isolated bool) *tab {
	t.Helper()
	var opts []chromedp.ContextOption
	if isolated {
		opts = append(opts, chromedp.WithNewBrowserContext())
	}
	ctx, cancel := chromedp.NewContext(browser, opts...)
	t.Cleanup(cancel)
	tb := &tab{t: t, ctx: ctx}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			tb.mu.Lock()
			tb.requests = append(tb.requests, e.Request.Method+" "+e.Request.URL)
			tb.mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `
		window.__problems = [];
		document.addEventListener("securitypolicyviolation", e => window.__problems.push("refused by the policy: " + e.violatedDirective + " " + e.blockedURI));
		window.addEventListener("error", e => window.__problems.push("error: " + e.message));
		window.addEventListener("unhandledrejection", e => window.__problems.push("rejection: " + e.reason));
	`}); err != nil {
		t.Fatal(err)
	}
	return tb
}

func (tb *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, uiWait)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.t.Fatalf("%v\n%s", err, tb.state())
	}
}

// eval returns the value of a JavaScript expression in the page (awaited when a promise).
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, uiWait)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("evaluating %s: %v\n%s", expr, err, tb.state())
	}
	return v
}

// waitFor waits until the JavaScript expression is true in the page, and says how long that
// took.
func (tb *tab) waitFor(what, expr string) time.Duration {
	tb.t.Helper()
	start := time.Now()
	ctx, cancel := context.WithTimeout(tb.ctx, uiWait)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(uiWait))); err != nil {
		tb.t.Fatalf("waiting for %s: %v\n%s", what, err, tb.state())
	}
	return time.Since(start)
}

// state describes the page for a failure's message: its text, the gallery's and the problems.
func (tb *tab) state() string {
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const g = document.querySelector("vitrine-gallery");
		return "page: " + document.body.innerText.slice(0, 1500) + "\ngallery: " + (g ? g.shadowRoot.textContent.slice(0, 1500) : "none") +
			"\nproblems: " + JSON.stringify(window.__problems || []);
	})()`))
	return s
}

// noProblems fails t if the page broke its policy or threw.
func (tb *tab) noProblems() {
	tb.t.Helper()
	for _, p := range eval[[]string](tb, `window.__problems`) {
		tb.t.Errorf("in the browser: %s", p)
	}
}

// sent returns the requests the tab sent so far.
func (tb *tab) sent() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return append([]string(nil), tb.requests...)
}

// shadow is the JavaScript expression of the gallery element's shadow root.
const shadow = `document.querySelector("vitrine-gallery").shadowRoot`

// item is the JavaScript expression of the gallery's i-th image element.
func item(i int) string { return fmt.Sprintf(`%s.querySelectorAll(".images > li")[%d]`, shadow, i) }

// domOrder returns the image ids in the order the gallery shows them.
func (tb *tab) domOrder() []string {
	tb.t.Helper()
	return eval[[]string](tb, `[...`+shadow+`.querySelectorAll(".images > li")].map(li => li.dataset.id)`)
}

// apiImage is what the tests read of an image through the API.
type apiImage struct {
	ID        string `json:"id"`
	Width     int    `json:"width"`
	Alt       string `json:"alt"`
	Status    string `json:"status"`
	URL       string `json:"url"`
	LastError string `json:"last_error"`
}

// images returns the gallery of product as the API answers it.
func (s *served) images(t *testing.T, token, product string) []apiImage {
	t.Helper()
	var g struct{ Images []apiImage }
	res := send(t, "GET", s.base+"/v1/products/"+product+"/images", token, nil, "", &g)
	if res.StatusCode != 200 {
		t.Fatalf("GET images of %s: %d", product, res.StatusCode)
	}
	return g.Images
}

func ids(images []apiImage) []string {
	out := make([]string, len(images))
	for i, im := range images {
		out[i] = im.ID
	}
	return out
}

// waitOrder waits until the API answers the gallery in the order want.
func (s *served) waitOrder(t *testing.T, token, product string, want []string) {
	t.Helper()
	deadline := time.Now().Add(uiWait)
	for {
		got := ids(s.images(t, token, product))
		if strings.Join(got, ",") == strings.Join(want, ",") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gallery's order is %v, want %v", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// uploadFiles uploads the files through the API, in order, and returns their ids.
func uploadFiles(t *testing.T, s *served, sp supplier, files ...string) []string {
	t.Helper()
	var out []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var im apiImage
		if res := uploadTo(t, s.base, sp.token, mustUUID(t, sp.product), data, &im); res.StatusCode != 201 {
			t.Fatalf("uploading %s: %d", f, res.StatusCode)
		}
		out = append(out, im.ID)
	}
	return out
}

// signIn opens the page with the token in the URL fragment and waits for the products.
func (tb *tab) signIn(base, token string) {
	tb.t.Helper()
	tb.do(chromedp.Navigate(base + "/#access_token=" + token))
	tb.waitFor("the signed-in page", `!document.getElementById("workspace").hidden`)
}

// openProduct signs in and opens product's gallery from the list, and waits for n images.
func (tb *tab) openProduct(base, token, product string, n int) {
	tb.t.Helper()
	tb.signIn(base, token)
	tb.waitFor("the product in the list", `document.querySelector("#product-list .open") !== null`)
	tb.do(chromedp.Click(chromedp.JSPath(fmt.Sprintf(`[...document.querySelectorAll("#product-list .open")].find(b => b.dataset.id === %q)`, product))))
	tb.waitFor(fmt.Sprintf("%d images in the gallery", n), fmt.Sprintf(`document.querySelector("vitrine-gallery") && %s.querySelectorAll(".images > li").length === %d`, shadow, n))
}

// TestUIUploadsThroughThePage: a supplier signs in through the URL fragment (as Supabase Auth
// redirects), creates a product, and uploads two photographs and an SVG at once from the
// file picker: both progress bars reach 100%, the SVG shows the server's own refusal, and
// the gallery holds the photographs in the order they were chosen.
func TestUIUploadsThroughThePage(t *testing.T) {
	s := startServe(t, map[string]string{"VITRINE_JWT_SECRET": "ui-test-secret-ui-test-secret-0123456789"})
	sp := s.newSupplier(t)
	dune, garden, _ := uiPhotos(t)
	svg := t.TempDir() + "/logo.svg"
	if err := os.WriteFile(svg, []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>`), 0o644); err != nil {
		t.Fatal(err)
	}
	tb := openTab(t, startBrowser(t), false)

	tb.signIn(s.base, sp.token)
	if got := eval[string](tb, `location.href`); got != s.base+"/" {
		t.Errorf("the token stayed in the address bar: %s", got)
	}
	if eval[string](tb, `sessionStorage.getItem("vitrine.token")`) != sp.token {
		t.Error("the token is not kept in sessionStorage")
	}

	tb.do(chromedp.SendKeys(chromedp.ID("new-title"), "Red sneaker"), chromedp.Click(chromedp.CSS("#create-form button")))
	tb.waitFor("the new product's gallery", `!!document.querySelector("vitrine-gallery")?.getAttribute("product-id")`)
	product := eval[string](tb, `document.querySelector("vitrine-gallery").getAttribute("product-id")`)
	var p struct{ Title string }
	if res := send(t, "GET", s.base+"/v1/products/"+product, sp.token, nil, "", &p); res.StatusCode != 200 || p.Title != "Red sneaker" {
		t.Errorf("the created product: %d %+v", res.StatusCode, p)
	}

	tb.do(chromedp.SetUploadFiles(chromedp.JSPath(shadow+`.querySelector("input[type=file]")`), []string{dune, garden, svg}))
	tb.waitFor("the three uploads to end", `(() => { const rows = [...`+shadow+`.querySelectorAll(".upload")];
		return rows.length === 3 && rows.every(r => r.classList.contains("done") || r.classList.contains("refused")); })()`)
	type row struct {
		Name, Message string
		Value         float64
		Done, Refused bool
	}
	rows := eval[[]row](tb, `[...`+shadow+`.querySelectorAll(".upload")].map(r => ({Name: r.querySelector(".name").textContent,
		Message: r.querySelector(".message").textContent, Value: r.querySelector("progress").value,
		Done: r.classList.contains("done"), Refused: r.classList.contains("refused")}))`)
	for i, name := range []string{"Dune.jpg", "Garden.jpg"} {
		if r := rows[i]; r.Name != name || !r.Done || r.Value != 100 {
			t.Errorf("upload %d: %+v, want %s done at 100%%", i, r, name)
		}
	}
	// The server's own words for the SVG, asked directly (a refusal leaves nothing behind).
	data, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	res := uploadTo(t, s.base, sp.token, mustUUID(t, product), data, nil)
	var refusal struct {
		Error struct{ Code, Message string }
	}
	if err := json.NewDecoder(res.Body).Decode(&refusal); err != nil || res.StatusCode < 400 || refusal.Error.Message == "" {
		t.Fatalf("the SVG through the API: %d %v %+v", res.StatusCode, err, refusal)
	}
	if r := rows[2]; r.Name != "logo.svg" || !r.Refused || r.Message != refusal.Error.Message {
		t.Errorf("the SVG's upload: %+v, want refused with %q", r, refusal.Error.Message)
	}

	tb.waitFor("two images in the gallery", shadow+`.querySelectorAll(".images > li").length === 2`)
	got := s.images(t, sp.token, product)
	if len(got) != 2 || got[0].Width != 1680 || got[1].Width != 2560 {
		t.Fatalf("the gallery through the API: %+v, want Dune (1680 wide) then Garden (2560)", got)
	}
	if order := tb.domOrder(); strings.Join(order, ",") != strings.Join(ids(got), ",") {
		t.Errorf("the page shows %v, the API %v", order, ids(got))
	}
	tb.noProblems()
}

func mustUUID(t *testing.T, s string) uuid.UUID {
	t.Helper()
	id, err := uuid.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
