// Package browsertest starts Debian's headless Chromium for the browser tests, through
// chromedp, and records in a page what its Content-Security-Policy refused and what failed.
package browsertest

import (
	"context"
	"os/exec"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// Start starts headless Chromium for t with chromedp's default flags (which keep it off the
// network but for the pages it is sent to) and opts, and returns the context of its first tab;
// the browser is closed when t ends. It fails t when Debian's chromium is not installed
// (scripts/install-deps.sh --test installs it).
func Start(t testing.TB, opts ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	browser, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is not installed (scripts/install-deps.sh --test installs it): %v", err)
	}
	all := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.DisableGPU)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(all, opts...)...)
	ctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	// Start the browser now: tabs in browser contexts of their own need it running.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// RecordProblems makes every page the tab of ctx loads keep, from before any of its scripts
// runs, its policy's refusals, uncaught errors and unhandled rejections in window.__problems,
// which Problems reads. The recording script is the browser's, so the policy does not apply
// to it.
func RecordProblems(ctx context.Context) error {
	_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `
		window.__problems = [];
		document.addEventListener("securitypolicyviolation", e => window.__problems.push("refused by the policy: " + e.violatedDirective + " " + e.blockedURI));
		window.addEventListener("error", e => window.__problems.push("error: " + e.message));
		window.addEventListener("unhandledrejection", e => window.__problems.push("rejection: " + e.reason));
	`})
	return err
}

// Problems returns what the page in the tab of ctx recorded since it loaded (RecordProblems).
func Problems(ctx context.Context) ([]string, error) {
	return chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__problems`))
}
