package httpapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vitrine-dev/vitrine/internal/browsertest"
)

// TestDocsRenderInABrowser opens /docs in headless Chromium (scripts/install-deps.sh --test
// installs it) and waits for Redoc to render the operations with their parameters, request
// fields, examples and error codes from the served document, under the page's policy: an
// uncaught exception, or a script, style, worker or fetch the policy refuses, fails the test.
func TestDocsRenderInABrowser(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := newBrowser(t)

	if err := browsertest.RecordProblems(ctx); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(b.url+"/docs")); err != nil {
		t.Fatal(err)
	}
	// Redoc has rendered the document: an operation's summary, its path parameter, a request
	// body's field, an example, an error code and a documented response header.
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](`["Upload an image", "product_id", "supplier_id", "Red sneaker, side view", "method_not_allowed", "Retry-After"]
		.every(w => document.body.innerText.includes(w))`, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(2*time.Minute)))
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	problems, perr := browsertest.Problems(ctx)
	if err != nil {
		t.Fatalf("the docs page did not render: %v\nproblems: %v %v\n%.2000s", err, problems, perr, text)
	}
	if perr != nil {
		t.Fatal(perr)
	}
	for _, p := range problems {
		// Redoc's footer shows Redocly's logo from its CDN: the policy keeps that image
		// out, which is what it is for. Anything else refused, or any error, is a defect.
		if !strings.HasPrefix(p, "refused by the policy: img-src https://cdn.redoc.ly/") {
			t.Errorf("in the browser: %s", p)
		}
	}
	if !strings.Contains(text, "createProduct") && !strings.Contains(text, "Create a product") {
		t.Errorf("no product operation on the page:\n%.2000s", text)
	}
}

// newBrowser starts Debian's headless Chromium for t and returns a context that drives it,
// for at most three minutes; it is closed when t ends.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(browsertest.Start(t), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}
