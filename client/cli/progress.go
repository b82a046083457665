package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/mykeyledger/mykey/client/txbuild"
)

// progress shows an import's progress on stderr: a bar redrawn in place
// on a terminal, else one line per batch (for logs).
type progress struct {
	w       io.Writer
	tty     bool
	quiet   bool
	total   int // charges
	batches int
	t       tally
	drawn   bool
}

func newProgress(w io.Writer, tty, quiet bool, total, batches int) *progress {
	return &progress{w: w, tty: tty, quiet: quiet, total: total, batches: batches}
}

// add counts charges judged without sending (duplicates found before).
func (p *progress) add(t tally) {
	p.t.granted += t.granted
	p.t.dup += t.dup
	p.t.rejected += t.rejected
	p.t.yen += t.yen
	p.draw()
}

// batch records batch i's outcome.
func (p *progress) batch(i, n int, height int64, t tally) {
	p.add(t)
	if p.quiet || p.tty {
		return
	}
	fmt.Fprintf(p.w, "batch %d/%d: %d charges in block %d: %d granted (%s), %d duplicates, %d rejected\n",
		i+1, p.batches, n, height, t.granted, txbuild.Yen(t.yen), t.dup, t.rejected)
}

func (p *progress) judged() int { return p.t.granted + p.t.dup + p.t.rejected }

func (p *progress) draw() {
	if p.quiet || !p.tty || p.total == 0 {
		return
	}
	const width = 30
	done := p.judged()
	fill := width * done / p.total
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d charges  granted %s  duplicates %d  rejected %d ",
		strings.Repeat("#", fill), strings.Repeat(".", width-fill), done, p.total,
		txbuild.Yen(p.t.yen), p.t.dup, p.t.rejected)
	p.drawn = true
}

// done ends the bar's line.
func (p *progress) done() {
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}
