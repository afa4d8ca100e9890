package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/internal/testimages"
)

// embedScript is what a shop's admin page does with the API: create a product (reading the
// Location header the API exposes), upload two photographs with FormData, and put the second
// first. run() resolves to what it saw, or to the error that stopped it.
const embedScript = `
async function run(cfg) {
	const auth = {Authorization: "Bearer " + cfg.token};
	const out = {uploaded: []};
	try {
		let r = await fetch(cfg.api + "/v1/products", {method: "POST",
			headers: {...auth, "Content-Type": "application/json"}, body: JSON.stringify({id: cfg.product})});
		out.create_status = r.status;
		out.location = r.headers.get("Location") || "";
		for (const name of ["photo-1.jpg", "photo-2.jpg"]) {
			const photo = await (await fetch(name)).blob();
			const form = new FormData();
			form.append("file", photo, name);
			form.append("alt", name);
			r = await fetch(cfg.api + "/v1/products/" + cfg.product + "/images", {method: "POST", headers: auth, body: form});
			if (r.status !== 201) throw new Error("upload of " + name + ": " + r.status + " " + await r.text());
			out.uploaded.push((await r.json()).id);
		}
		r = await fetch(cfg.api + "/v1/products/" + cfg.product + "/images/order", {method: "PUT",
			headers: {...auth, "Content-Type": "application/json"}, body: JSON.stringify({ids: [...out.uploaded].reverse()})});
		out.reorder_status = r.status;
		out.order = (await r.json()).images.map(im => im.id);
	} catch (e) {
		out.error = String(e);
	}
	return out;
}`

// embedResult is what run() resolves to.
type embedResult struct {
	CreateStatus  int      `json:"create_status"`
	Location      string   `json:"location"`
	Uploaded      []string `json:"uploaded"`
	ReorderStatus int      `json:"reorder_status"`
	Order         []string `json:"order"`
	Error         string   `json:"error"`
}

// shopPage serves a plain HTML page with embedScript and two photographs, as a shop's admin
// on its own origin would.
func shopPage(t *testing.T) *httptest.Server {
	t.Helper()
	photos := map[string][]byte{}
	for i, size := range [][2]int{{640, 480}, {480, 640}} {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, testimages.Pattern(size[0], size[1]), &jpeg.Options{Quality: 85}); err != nil {
			t.Fatal(err)
		}
		photos[fmt.Sprintf("/photo-%d.jpg", i+1)] = buf.Bytes()
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := photos[r.URL.Path]; ok {
			w.Header().Set("Content-Type", "image/jpeg")
			w.Write(p)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><title>Shop admin</title><script>%s</script><h1>Products</h1>", embedScript)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestCORSInABrowser runs a shop's admin page from another origin in headless Chromium
// (scripts/install-deps.sh --test installs it): from the origin VITRINE_CORS_ORIGINS lists,
// the page creates a product, uploads two photographs and reorders them with a bearer token;
// from an origin not listed, the browser blocks the first call and nothing is created.
func TestCORSInABrowser(t *testing.T) {
	t.Parallel()
	shop, stranger := shopPage(t), shopPage(t)
	b := setup(t, func(o *options) { o.corsOrigins = []string{shop.URL} })
	token := tokenFor(t, gallery.Supplier(uuid.New()))
	ctx := newBrowser(t)

	runFrom := func(page *httptest.Server, product uuid.UUID) embedResult {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(page.URL+"/")); err != nil {
			t.Fatal(err)
		}
		cfg, err := json.Marshal(map[string]string{"api": b.url, "token": token, "product": product.String()})
		if err != nil {
			t.Fatal(err)
		}
		res, err := chromedp.Run(ctx, chromedp.Evaluate[embedResult]("run("+string(cfg)+")", chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("running the page of %s: %v", page.URL, err)
		}
		return res
	}

	// From the listed origin, every call goes through and the page reads what it needs.
	product := uuid.New()
	got := runFrom(shop, product)
	if got.Error != "" {
		t.Fatalf("from the allowed origin %s: %s (%+v)", shop.URL, got.Error, got)
	}
	if got.CreateStatus != http.StatusCreated || got.Location != "/v1/products/"+product.String() {
		t.Errorf("create: %d, Location %q (not exposed?)", got.CreateStatus, got.Location)
	}
	if len(got.Uploaded) != 2 {
		t.Fatalf("uploaded %q", got.Uploaded)
	}
	want := []string{got.Uploaded[1], got.Uploaded[0]}
	if got.ReorderStatus != http.StatusOK || !slices.Equal(got.Order, want) {
		t.Errorf("reorder: %d, order %q, want %q", got.ReorderStatus, got.Order, want)
	}
	var g galleryBody
	if st := b.do(t, "GET", "/v1/products/"+product.String()+"/images", nil, "", &g); st != http.StatusOK {
		t.Fatalf("gallery: %d", st)
	}
	var order []string
	for _, im := range g.Images {
		order = append(order, im.ID.String())
	}
	if !slices.Equal(order, want) {
		t.Errorf("the gallery is %q, want %q", order, want)
	}

	// From an origin not listed, the browser refuses the first call (its preflight has no
	// CORS header): fetch fails and the product is never created.
	blocked := uuid.New()
	got = runFrom(stranger, blocked)
	if !strings.Contains(got.Error, "Failed to fetch") || got.CreateStatus != 0 || len(got.Uploaded) != 0 {
		t.Errorf("from the origin not allowed %s: %+v", stranger.URL, got)
	}
	if st := b.do(t, "GET", "/v1/products/"+blocked.String(), nil, "", nil); st != http.StatusNotFound {
		t.Errorf("the blocked page's product: %d, want 404", st)
	}
}
