package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progress draws a progress bar (github.com/schollz/progressbar) on a terminal, redrawn at
// most every 100 ms, and stays silent elsewhere, so that logs and pipes get the final report
// only. With a total it fills up; without one (a streamed walk whose size is not known) it
// shows a spinner and the count so far.
type progress struct {
	bar   *progressbar.ProgressBar
	label string
	tty   bool
}

func newProgress(w io.Writer, total int, label string) *progress {
	p := &progress{label: label}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	max := total
	if max == 0 {
		max = -1 // unknown: a spinner
	}
	p.bar = progressbar.NewOptions(max,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetVisibility(p.tty),
		progressbar.OptionSetDescription(label),
		progressbar.OptionSetWidth(40),
		progressbar.OptionShowCount(),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetRenderBlankState(total > 0),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)
	return p
}

// set shows n of the total done.
func (p *progress) set(n int) { _ = p.bar.Set(n) }

// status shows that n items are done, of a total not known, and text.
func (p *progress) status(n int, text string) {
	p.bar.Describe(p.label + " " + text)
	_ = p.bar.Set(n)
}

// done ends the bar's line.
func (p *progress) done() { _ = p.bar.Finish() }
