package httpapi_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// TestDocsRenderInABrowser opens /docs in headless Chromium (scripts/install-deps.sh --test
// installs it) and waits for Redoc to render the operations with their parameters, request
// fields, examples and error codes from the served document, under the page's policy: an
// uncaught exception, or a script, style, worker or fetch the policy refuses, fails the test.
func TestDocsRenderInABrowser(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := newBrowser(t)

	// Record the policy's refusals and uncaught errors in the page, from before its scripts
	// run (a script the browser adds is not subject to the page's policy).
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `
		window.__problems = [];
		document.addEventListener("securitypolicyviolation", e => window.__problems.push("refused by the policy: " + e.violatedDirective + " " + e.blockedURI));
		window.addEventListener("error", e => window.__problems.push("error: " + e.message));
		window.addEventListener("unhandledrejection", e => window.__problems.push("rejection: " + e.reason));
	`}); err != nil {
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
	problems, perr := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__problems`))
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

// newBrowser starts Debian's headless Chromium for t (chromedp's default flags, which keep it
// off the network but for the pages it is sent to) and returns a context that drives it, for
// at most three minutes; it is closed when t ends.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	browser, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is not installed (scripts/install-deps.sh --test installs it): %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.DisableGPU)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelBrowser(); cancelAlloc() })
	return ctx
}
