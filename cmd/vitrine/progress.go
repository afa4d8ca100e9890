package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// progress draws a progress bar on a terminal, redrawn at most every 100 ms, and stays
// silent elsewhere, so that logs and pipes get the final report only. With a total it fills
// up; without one (a streamed walk whose size is not known) a marker moves along it.
type progress struct {
	w     io.Writer
	total int
	label string
	tty   bool
	last  time.Time
	drawn bool
}

const progressWidth = 40

func newProgress(w io.Writer, total int, label string) *progress {
	p := &progress{w: w, total: total, label: label}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	if total > 0 {
		p.set(0)
	}
	return p
}

// set shows n of the total done.
func (p *progress) set(n int) {
	if p.total == 0 {
		return
	}
	filled := progressWidth * n / p.total
	p.draw(n == p.total, strings.Repeat("#", filled)+strings.Repeat(".", progressWidth-filled), fmt.Sprintf("%d/%d", n, p.total))
}

// status shows that n items are done, of a total not known, and text.
func (p *progress) status(n int, text string) {
	pos := (n / 1000) % progressWidth
	p.draw(false, strings.Repeat(".", pos)+"#"+strings.Repeat(".", progressWidth-pos-1), text)
}

func (p *progress) draw(force bool, bar, text string) {
	if !p.tty || (!force && time.Since(p.last) < 100*time.Millisecond) {
		return
	}
	p.last = time.Now()
	fmt.Fprintf(p.w, "\r%s [%s] %s\x1b[K", p.label, bar, text)
	p.drawn = true
}

// done ends the bar's line.
func (p *progress) done() {
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}
