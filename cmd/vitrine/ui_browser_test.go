package main

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/internal/browsertest"
	"github.com/vitrine-dev/vitrine/internal/testphotos"
)

// The supplier's page and the <vitrine-gallery> element, driven in Debian's headless Chromium
// (scripts/install-deps.sh --test installs it) against a real `vitrine serve`, with real
// photographs. Every wait is for a condition, with a wide limit.

// uiWait is the longest a test waits for the page to reach a state.
const uiWait = 2 * time.Minute

// uiPhotos returns two real photographs of different sizes, in the order they are uploaded:
// Dune (1680×1050) and Garden (2560×1600), and a third, Wood.
func uiPhotos(t testing.TB) (dune, garden, wood string) {
	const dir = "usr/share/backgrounds/mate/nature/"
	return testphotos.Medium(t), testphotos.Path(t, testphotos.MATEBackgrounds, dir+"Garden.jpg"),
		testphotos.Path(t, testphotos.MATEBackgrounds, dir+"Wood.jpg")
}

// startBrowser starts headless Chromium for t and returns the context of its first tab, from
// which openTab opens others; it is closed when t ends.
func startBrowser(t testing.TB) context.Context {
	t.Helper()
	return browsertest.Start(t, chromedp.WindowSize(1280, 800))
}

// tab is one browser tab with a page of Vitrine in it, and what the tab saw.
type tab struct {
	t   testing.TB
	ctx context.Context

	mu       sync.Mutex
	requests []string // "METHOD URL" of every request the page sent, in order
}

// openTab opens a tab of browser (in a browser context of its own when isolated), records
// every request it sends and, from before any script of a page runs, the page's policy
// violations, uncaught errors and unhandled rejections (window.__problems).
func openTab(t testing.TB, browser context.Context, isolated bool) *tab {
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
	if err := browsertest.RecordProblems(ctx); err != nil {
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
func (s *served) images(t testing.TB, token, product string) []apiImage {
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
func (s *served) waitOrder(t testing.TB, token, product string, want []string) {
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
func uploadFiles(t testing.TB, s *served, sp supplier, files ...string) []string {
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

	// newSupplier's product, untitled, is one the search must leave out.
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
	var p struct {
		Title     string
		Published bool
	}
	if res := send(t, "GET", s.base+"/v1/products/"+product, sp.token, nil, "", &p); res.StatusCode != 200 || p.Title != "Red sneaker" {
		t.Errorf("the created product: %d %+v", res.StatusCode, p)
	}

	// The search keeps the products whose title matches; the toggle publishes.
	tb.do(chromedp.SendKeys(chromedp.ID("search"), "sneak"))
	tb.waitFor("only the sneaker listed", `[...document.querySelectorAll("#product-list .open")].map(b => b.dataset.id).join() === `+strconv.Quote(product))
	tb.do(chromedp.Click(chromedp.JSPath(`document.querySelector("#product-list .publish input")`)))
	deadline := time.Now().Add(uiWait)
	for send(t, "GET", s.base+"/v1/products/"+product, sp.token, nil, "", &p); !p.Published; send(t, "GET", s.base+"/v1/products/"+product, sp.token, nil, "", &p) {
		if time.Now().After(deadline) {
			t.Fatal("the product was not published")
		}
		time.Sleep(20 * time.Millisecond)
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

func mustUUID(t testing.TB, s string) uuid.UUID {
	t.Helper()
	id, err := uuid.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// uiServe starts `vitrine serve` with a JWT secret (tokens of suppliers are minted) and
// envs, and a supplier with a product of its own.
func uiServe(t testing.TB, envs map[string]string) (*served, supplier) {
	t.Helper()
	all := map[string]string{"VITRINE_JWT_SECRET": "ui-test-secret-ui-test-secret-0123456789"}
	for k, v := range envs {
		all[k] = v
	}
	s := startServe(t, all)
	return s, s.newSupplier(t)
}

// center returns the middle of the element that the JavaScript expression el gives, in the
// page's coordinates.
func (tb *tab) center(el string) (x, y float64) {
	tb.t.Helper()
	r := eval[[]float64](tb, `(() => { const r = `+el+`.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2, r.width]; })()`)
	return r[0], r[1]
}

// TestUIReorders: the second image dragged before the first with real pointer events, then
// moved back with the keyboard, then made main with its button; each order reaches the API.
// The image made main gets its thumbnails, which arrive through the event stream: the page
// repeats no GET of /v1 (no reload, no polling).
func TestUIReorders(t *testing.T) {
	s, sp := uiServe(t, nil)
	dune, garden, _ := uiPhotos(t)
	up := uploadFiles(t, s, sp, dune, garden)
	a, b := up[0], up[1]
	tb := openTab(t, startBrowser(t), false)
	tb.openProduct(s.base, sp.token, sp.product, 2)

	// Drag: press on the second image's picture, move over the first one in steps, each
	// step waited for until SortableJS has moved the item, then release.
	x1, y1 := tb.center(item(1) + `.querySelector(".thumb")`)
	x0, y0 := tb.center(item(0) + `.querySelector(".thumb")`)
	held := func(p *input.DispatchMouseEventParams) { p.Buttons = 1 }
	tb.do(chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x1, y1),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMousePressed, x1, y1, chromedp.ButtonLeft, chromedp.ClickCount(1)))
	const steps = 12
	for i := 1; i <= steps; i++ {
		f := float64(i) / steps
		tb.do(chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x1+(x0-x1)*f, y1+(y0-y1)*f, chromedp.ButtonLeft, held))
	}
	tb.waitFor("SortableJS to move the dragged image first", fmt.Sprintf(`(() => {
		const first = %s.querySelector(".images > li:not(.sortable-fallback)");
		return first && first.dataset.id === %q; })()`, shadow, b))
	tb.do(chromedp.MouseEvent(input.DispatchMouseEventTypeMouseReleased, x0, y0, chromedp.ButtonLeft, chromedp.ClickCount(1)))
	s.waitOrder(t, sp.token, sp.product, []string{b, a})

	// b is now the main image: its thumbnails are made and arrive through the stream.
	tb.waitFor("the new main image's thumbnails", fmt.Sprintf(`(() => {
		const li = %s.querySelector('.images > li[data-id=%q]'), img = li.querySelector("img.picture");
		return li.querySelector(".status").textContent === "Ready" && img.complete && img.naturalWidth > 0 &&
			img.currentSrc.includes("/objects/variants/") && img.srcset.includes(" 96w"); })()`, shadow, b))

	// Keyboard: the focused main image moves one place later with Alt+Right, announced.
	tb.do(chromedp.Focus(chromedp.JSPath(item(0))), chromedp.KeyEvent(kb.ArrowRight, chromedp.KeyModifiers(chromedp.ModifierAlt)))
	s.waitOrder(t, sp.token, sp.product, []string{a, b})
	tb.waitFor("the move announced", shadow+`.querySelector("[aria-live]").textContent.includes("Moved to position 2 of 2")`)
	tb.waitFor("the page in the new order", fmt.Sprintf(`[...%s.querySelectorAll(".images > li")].map(li => li.dataset.id).join(",") === %q`, shadow, a+","+b))

	// Make main: the second image's button.
	tb.do(chromedp.Click(chromedp.JSPath(item(1) + `.querySelector("button.make-main")`)))
	s.waitOrder(t, sp.token, sp.product, []string{b, a})
	tb.waitFor("the main badge on the second image", fmt.Sprintf(`(() => {
		const li = %s.querySelector(".images > li"); return li.dataset.id === %q && !li.querySelector(".main-badge").hidden; })()`, shadow, b))

	// No GET of /v1 was sent twice: the gallery came from the stream's snapshot, and every
	// change since from its events.
	seen := map[string]int{}
	stream := false
	for _, r := range tb.sent() {
		if strings.HasPrefix(r, "GET "+s.base+"/v1/") {
			seen[r]++
			stream = stream || strings.HasSuffix(r, "/v1/products/"+sp.product+"/events")
		}
	}
	for r, n := range seen {
		if n > 1 {
			t.Errorf("%s was sent %d times", r, n)
		}
	}
	if !stream {
		t.Errorf("the page did not read the event stream: %v", tb.sent())
	}
	tb.noProblems()
}

// TestUIDeleteAltAndRetry: deleting asks first (a dialog: Cancel keeps the image, Delete
// removes it); alt text typed inline is saved; an image whose thumbnails fail shows the
// failure with its error, and Retry, once the cause is gone, ends with it ready.
func TestUIDeleteAltAndRetry(t *testing.T) {
	s, sp := uiServe(t, map[string]string{"VITRINE_JOB_MAX_ATTEMPTS": "1"})
	dune, garden, wood := uiPhotos(t)
	up := uploadFiles(t, s, sp, dune, garden, wood)
	a, b, c := up[0], up[1], up[2]
	tb := openTab(t, startBrowser(t), false)
	tb.openProduct(s.base, sp.token, sp.product, 3)

	// Delete b: cancelled once, then confirmed.
	deleteButton := chromedp.JSPath(fmt.Sprintf(`%s.querySelector('.images > li[data-id=%q] button.delete')`, shadow, b))
	dialogButton := func(v string) chromedp.JSPath {
		return chromedp.JSPath(fmt.Sprintf(`%s.querySelector('dialog button[value=%q]')`, shadow, v))
	}
	tb.do(chromedp.Click(deleteButton))
	tb.waitFor("the confirmation", shadow+`.querySelector("dialog").open`)
	tb.do(chromedp.Click(dialogButton("cancel")))
	tb.waitFor("the dialog closed", `!`+shadow+`.querySelector("dialog").open`)
	if n := len(s.images(t, sp.token, sp.product)); n != 3 {
		t.Fatalf("after Cancel the gallery has %d images", n)
	}
	tb.do(chromedp.Click(deleteButton))
	tb.waitFor("the confirmation", shadow+`.querySelector("dialog").open`)
	tb.do(chromedp.Click(dialogButton("delete")))
	tb.waitFor("two images in the page", shadow+`.querySelectorAll(".images > li").length === 2`)
	s.waitOrder(t, sp.token, sp.product, []string{a, c})

	// Alt text, typed into the first image's field and saved with Enter.
	const alt = "Dune grass before a blue sea"
	tb.do(chromedp.SendKeys(chromedp.JSPath(item(0)+`.querySelector("input.alt")`), alt+kb.Enter))
	deadline := time.Now().Add(uiWait)
	for s.images(t, sp.token, sp.product)[0].Alt != alt {
		if time.Now().After(deadline) {
			t.Fatalf("the alt text did not reach the API: %+v", s.images(t, sp.token, sp.product))
		}
		time.Sleep(20 * time.Millisecond)
	}

	// c's original made unreadable (moved away) before it becomes main, so that its
	// thumbnail job fails for real; it is put back before Retry.
	var im apiImage
	send(t, "GET", s.base+"/v1/images/"+c, sp.token, nil, "", &im)
	key := strings.TrimPrefix(im.URL, s.base+"/objects/")
	original := s.dataDir + "/objects/" + key
	if err := os.Rename(original, original+".away"); err != nil {
		t.Fatal(err)
	}
	tb.do(chromedp.Click(chromedp.JSPath(fmt.Sprintf(`%s.querySelector('.images > li[data-id=%q] button.make-main')`, shadow, c))))
	tb.waitFor("the failure shown", fmt.Sprintf(`(() => { const li = %s.querySelector('.images > li[data-id=%q]');
		return li.querySelector(".status").textContent === "Failed" && li.querySelector(".error").textContent !== "" &&
			!li.querySelector("button.retry").hidden; })()`, shadow, c))
	shown := eval[string](tb, fmt.Sprintf(`%s.querySelector('.images > li[data-id=%q] .error').textContent`, shadow, c))
	send(t, "GET", s.base+"/v1/images/"+c, sp.token, nil, "", &im)
	if im.Status != "failed" || shown != im.LastError {
		t.Errorf("the page shows %q; the API: %s %q", shown, im.Status, im.LastError)
	}
	if err := os.Rename(original+".away", original); err != nil {
		t.Fatal(err)
	}
	tb.do(chromedp.Click(chromedp.JSPath(fmt.Sprintf(`%s.querySelector('.images > li[data-id=%q] button.retry')`, shadow, c))))
	tb.waitFor("the retried image ready", fmt.Sprintf(`(() => { const li = %s.querySelector('.images > li[data-id=%q]'), img = li.querySelector("img.picture");
		return li.querySelector(".status").textContent === "Ready" && li.querySelector("button.retry").hidden &&
			img.complete && img.naturalWidth > 0 && img.currentSrc.includes("/objects/variants/"); })()`, shadow, c))
	tb.noProblems()
}

// shopPage serves, on an origin of its own, a shop's admin page that embeds the gallery
// element the way the README says: one module script from Vitrine and one element (api left
// out: it defaults to the module's origin).
func shopPage(t *testing.T, vitrine func() string, product, token func() string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop admin</title>
<script type="module" src="%s/ui/vitrine-gallery.js"></script></head>
<body><h1>Our shop's admin</h1><vitrine-gallery product-id="%s" token="%s"></vitrine-gallery></body></html>`,
			html.EscapeString(vitrine()), html.EscapeString(product()), html.EscapeString(token()))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestUIEmbeddedOnAnotherOrigin: the element in a plain page of another origin that
// VITRINE_CORS_ORIGINS lists uploads and reorders; on an origin it does not list, the browser
// blocks the element's calls, the element says so, and nothing is written.
func TestUIEmbeddedOnAnotherOrigin(t *testing.T) {
	var s *served
	var sp supplier
	base := func() string { return s.base }
	allowed := shopPage(t, base, func() string { return sp.product }, func() string { return sp.token })
	var other supplier
	refused := shopPage(t, base, func() string { return other.product }, func() string { return other.token })
	s, sp = uiServe(t, map[string]string{"VITRINE_CORS_ORIGINS": allowed.URL})
	other = s.newSupplier(t)
	dune, garden, wood := uiPhotos(t)
	uploadFiles(t, s, other, wood)
	before := s.images(t, other.token, other.product)
	browser := startBrowser(t)

	tb := openTab(t, browser, false)
	tb.do(chromedp.Navigate(allowed.URL))
	tb.waitFor("the element", `!!document.querySelector("vitrine-gallery")?.shadowRoot?.querySelector("input[type=file]")`)
	tb.do(chromedp.SetUploadFiles(chromedp.JSPath(shadow+`.querySelector("input[type=file]")`), []string{dune, garden}))
	tb.waitFor("two images uploaded", `(() => { const rows = [...`+shadow+`.querySelectorAll(".upload")];
		return rows.length === 2 && rows.every(r => r.classList.contains("done")) && `+shadow+`.querySelectorAll(".images > li").length === 2; })()`)
	got := ids(s.images(t, sp.token, sp.product))
	if len(got) != 2 {
		t.Fatalf("the gallery after the uploads from %s: %v", allowed.URL, got)
	}
	tb.do(chromedp.Focus(chromedp.JSPath(item(0))), chromedp.KeyEvent(kb.ArrowRight, chromedp.KeyModifiers(chromedp.ModifierAlt)))
	s.waitOrder(t, sp.token, sp.product, []string{got[1], got[0]})
	tb.noProblems()

	tb = openTab(t, browser, false)
	tb.do(chromedp.Navigate(refused.URL))
	tb.waitFor("the element's error", `!!document.querySelector("vitrine-gallery")?.shadowRoot?.querySelector(".alert")?.textContent`)
	tb.do(chromedp.SetUploadFiles(chromedp.JSPath(shadow+`.querySelector("input[type=file]")`), []string{dune}))
	tb.waitFor("the upload refused", `[...`+shadow+`.querySelectorAll(".upload")].some(r => r.classList.contains("refused") && r.querySelector(".message").textContent !== "")`)
	if after := s.images(t, other.token, other.product); len(after) != len(before) || after[0].ID != before[0].ID {
		t.Errorf("a page of an origin not allowed changed the gallery: %+v, was %+v", after, before)
	}
}

// TestUITwoBrowsers: two browsers (separate browser contexts) on one product; a change made
// in one appears in the other through the event stream.
func TestUITwoBrowsers(t *testing.T) {
	s, sp := uiServe(t, nil)
	dune, garden, _ := uiPhotos(t)
	up := uploadFiles(t, s, sp, dune, garden)
	browser := startBrowser(t)
	one, two := openTab(t, browser, true), openTab(t, browser, true)
	one.openProduct(s.base, sp.token, sp.product, 2)
	two.openProduct(s.base, sp.token, sp.product, 2)

	const alt = "Seen from the other browser"
	one.do(chromedp.SendKeys(chromedp.JSPath(item(0)+`.querySelector("input.alt")`), alt+kb.Enter))
	took := two.waitFor("the alt text in the other browser", fmt.Sprintf(`%s.querySelector("input.alt").value === %q`, shadow, alt))
	t.Logf("an alt text saved in one browser showed in the other after %v", took)

	one.do(chromedp.Click(chromedp.JSPath(item(1) + `.querySelector("button.make-main")`)))
	took = two.waitFor("the new order in the other browser", fmt.Sprintf(`%s.querySelector(".images > li").dataset.id === %q`, shadow, up[1]))
	t.Logf("a new main image chosen in one browser showed in the other after %v", took)
	one.noProblems()
	two.noProblems()
}

// TestUIAccessibleAtTwoSizes: axe-core (vendored for the tests, never served) finds no
// serious or critical violation on the page, signed out and with a gallery, at 1280×800 and
// at 360×740; screenshots of both sizes are saved with the test's artifacts (go test
// -artifacts keeps them under -outputdir).
func TestUIAccessibleAtTwoSizes(t *testing.T) {
	axe, err := os.ReadFile("../../ui/testdata/axe/axe.min.js")
	if err != nil {
		t.Fatal(err)
	}
	s, sp := uiServe(t, nil)
	dune, garden, _ := uiPhotos(t)
	uploadFiles(t, s, sp, dune, garden)
	tb := openTab(t, startBrowser(t), false)
	check := func(what string) {
		t.Helper()
		// The page itself broke no rule of its policy; axe-core then adds a style element
		// of its own, which the policy refuses: that refusal is the tool's, and forgotten.
		tb.noProblems()
		defer eval[bool](tb, `window.__problems = [], true`)
		// DevTools evaluation is not subject to the page's policy, so axe runs without
		// being served.
		eval[bool](tb, string(axe)+"\n;true")
		type violation struct {
			ID, Impact, Help string
			Nodes            []struct{ Target []any }
		}
		vs := eval[[]violation](tb, `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations)`)
		for _, v := range vs {
			if v.Impact == "serious" || v.Impact == "critical" {
				t.Errorf("%s: %s violation %s (%s) at %v", what, v.Impact, v.ID, v.Help, v.Nodes)
			} else {
				t.Logf("%s: %s violation %s (%s)", what, v.Impact, v.ID, v.Help)
			}
		}
	}
	for _, size := range []struct{ w, h int64 }{{1280, 800}, {360, 740}} {
		name := fmt.Sprintf("%dx%d", size.w, size.h)
		tb.do(chromedp.EmulateViewport(size.w, size.h), chromedp.Navigate(s.base+"/"))
		tb.waitFor("the sign-in form", `!document.getElementById("sign-in").hidden`)
		check("signed out at " + name)
		tb.openProduct(s.base, sp.token, sp.product, 2)
		tb.waitFor("the main image's thumbnails", item(0)+`.querySelector(".status").textContent === "Ready" && `+item(0)+`.querySelector("img.picture").naturalWidth > 0`)
		if w := eval[float64](tb, `document.documentElement.scrollWidth`); w > float64(size.w) {
			t.Errorf("at %s the page is %v px wide: it scrolls sideways", name, w)
		}
		check("the gallery at " + name)
		shot, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(t.ArtifactDir(), "gallery-"+name+".png")
		if err := os.WriteFile(file, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", file)
		eval[bool](tb, `sessionStorage.clear(), true`)
	}
	tb.noProblems()
}

// TestUIReconnectsWithLastEventID: the page reaches Vitrine through a proxy that cuts its
// event stream; an alt text changed meanwhile (by another client) still reaches the page,
// whose new stream resumes from the last event it had (Last-Event-ID) instead of starting
// over.
func TestUIReconnectsWithLastEventID(t *testing.T) {
	s, sp := uiServe(t, nil)
	dune, _, _ := uiPhotos(t)
	id := uploadFiles(t, s, sp, dune)[0]
	target, err := url.Parse(s.base)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.FlushInterval = -1
	var mu sync.Mutex
	var cuts []context.CancelFunc
	var resumedFrom []string // Last-Event-ID of each stream the page opened
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/events") {
			proxy.ServeHTTP(w, r)
			return
		}
		ctx, cancel := context.WithCancel(r.Context())
		mu.Lock()
		cuts = append(cuts, cancel)
		resumedFrom = append(resumedFrom, r.Header.Get("Last-Event-ID"))
		mu.Unlock()
		proxy.ServeHTTP(w, r.WithContext(ctx))
	}))
	t.Cleanup(front.Close)
	streams := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(resumedFrom)
	}

	tb := openTab(t, startBrowser(t), false)
	tb.openProduct(front.URL, sp.token, sp.product, 1)
	// An event after the snapshot, so that the page holds an event id.
	var im apiImage
	call(t, "PATCH", s.base+"/v1/images/"+id, sp.token, map[string]string{"alt": "before the cut"}, &im)
	tb.waitFor("the first alt text", item(0)+`.querySelector("input.alt").value === "before the cut"`)

	mu.Lock()
	for _, cut := range cuts {
		cut()
	}
	mu.Unlock()
	call(t, "PATCH", s.base+"/v1/images/"+id, sp.token, map[string]string{"alt": "while cut off"}, &im)
	tb.waitFor("the alt text changed while cut off", item(0)+`.querySelector("input.alt").value === "while cut off"`)
	got := streams()
	if len(got) < 2 || got[0] != "" || got[len(got)-1] == "" {
		t.Fatalf("the streams the page opened resumed from %q: want the first from nothing, the next from an event id", got)
	}
	tb.noProblems()
}

// TestUIShowsImports: images imported by URL while the page is open appear at once as
// Importing, with no picture; one whose source is missing shows Failed with the API's message
// and a Retry button; the other, once its source answers, becomes Ready with its picture.
func TestUIShowsImports(t *testing.T) {
	src := newImportSource(t)
	s, sp := uiServe(t, map[string]string{"VITRINE_IMPORT_ALLOW_HOSTS": src.hostPort()})
	dune, _, _ := uiPhotos(t)
	photo, err := os.ReadFile(dune)
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	src.handle("/held.jpg", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write(photo)
	})
	uploadFiles(t, s, sp, dune)
	tb := openTab(t, startBrowser(t), false)
	tb.openProduct(s.base, sp.token, sp.product, 1)

	var held, missing importedImage
	if resp := importTo(t, s.base, sp.token, mustUUID(t, sp.product), map[string]any{"source_url": src.URL + "/held.jpg", "alt": "held", "position": 0}, &held); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("import: %d", resp.StatusCode)
	}
	if resp := importTo(t, s.base, sp.token, mustUUID(t, sp.product), map[string]any{"source_url": src.URL + "/missing.jpg", "alt": "missing"}, &missing); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("import: %d", resp.StatusCode)
	}
	li := func(id uuid.UUID) string {
		return fmt.Sprintf(`%s.querySelector('.images > li[data-id=%q]')`, shadow, id)
	}
	tb.waitFor("the held import shown importing", fmt.Sprintf(`(() => { const li = %s;
		return li !== null && li.querySelector(".status").textContent === "Importing" && li.querySelector("img.picture").hidden &&
			!li.querySelector("img.picture").hasAttribute("src") && li.querySelector("button.retry").hidden; })()`, li(held.ID)))
	tb.waitFor("the missing import shown failed", fmt.Sprintf(`(() => { const li = %s;
		return li !== null && li.querySelector(".status").textContent === "Failed" && !li.querySelector("button.retry").hidden &&
			li.querySelector(".error").textContent === "the source answered 404 Not Found"; })()`, li(missing.ID)))
	close(release)
	tb.waitFor("the held import ready, with its picture", fmt.Sprintf(`(() => { const li = %s, img = li.querySelector("img.picture");
		return li.querySelector(".status").textContent === "Ready" && !img.hidden && img.complete && img.naturalWidth > 0; })()`, li(held.ID)))
	tb.noProblems()
}
