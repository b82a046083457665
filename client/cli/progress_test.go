package cli

import (
	"strings"
	"testing"
)

func TestProgress(t *testing.T) {
	var b strings.Builder
	p := newProgress(&b, true, false, 100, 2)
	p.add(tally{dup: 10})
	p.batch(0, 50, 7, tally{granted: 45, rejected: 5, yen: 1234})
	p.done()
	out := b.String()
	if !strings.Contains(out, "\r[##################............] 60/100 charges  granted ¥1,234  duplicates 10  rejected 5") ||
		!strings.HasSuffix(out, "\n") || strings.Contains(out, "batch 1/2") {
		t.Fatalf("terminal progress: %q", out)
	}
	b.Reset()
	p = newProgress(&b, false, false, 100, 2)
	p.batch(1, 50, 9, tally{granted: 50, yen: 75})
	p.done()
	if b.String() != "batch 2/2: 50 charges in block 9: 50 granted (¥75), 0 duplicates, 0 rejected\n" {
		t.Fatalf("log progress: %q", b.String())
	}
	b.Reset()
	p = newProgress(&b, false, true, 100, 2)
	p.batch(1, 50, 9, tally{granted: 50})
	p.done()
	if b.Len() != 0 {
		t.Fatalf("--quiet wrote %q", b.String())
	}
}
