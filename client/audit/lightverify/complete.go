package lightverify

import (
	"fmt"

	"github.com/mykeyledger/mykey/app/types"
)

// Every proof in a range answer shows that a record is in the state, not
// that no record was left out. The state also holds, for every directory a
// range pages through, the number of records under it (app/types
// CountKey), and every page carries that count, proved. A Tally adds up
// the pages of one range read from start to end and Check compares what
// the node gave with what it proved the state holds.

// Tally counts the records of one range, page by page, in order.
type Tally struct {
	Node   string // the node that answered
	Prefix string
	Read   uint64 // records given
	Pages  int
	// The heights and proved counts of the first and last pages, and the
	// smallest and largest counts proved.
	FirstHeight, LastHeight int64
	FirstCount, LastCount   uint64
	counted, mixed          bool
}

// NewTally starts the tally of the range under prefix read from node.
func NewTally(node, prefix string) *Tally { return &Tally{Node: node, Prefix: prefix} }

// Add counts a verified page of the range.
func (t *Tally) Add(p *Page) {
	t.Read += uint64(len(p.Records))
	if t.Pages == 0 {
		t.FirstHeight, t.FirstCount, t.counted = p.Height, p.Count, p.Counted
	} else if p.Height != t.LastHeight || p.Counted != t.counted {
		t.mixed = true
	}
	t.LastHeight, t.LastCount = p.Height, p.Count
	t.Pages++
}

// Check says whether the range read in full was complete: when every
// page was of one height, the records given must be exactly as many as
// the proved count. When pages were of several heights, under a directory
// whose count never falls, the records given must be at least the count
// of the first page's height (every record present then is present at
// every later height) and at most that of the last page's; a directory
// whose records can be deleted cannot be checked across heights (read it
// at one height, as report.Consistent does). A short range is a
// *ProofError: "incomplete range: node returned N of M records under dir".
func (t *Tally) Check() error {
	if !t.counted || t.Pages == 0 {
		return nil
	}
	incomplete := func(want uint64, detail string) error {
		return &ProofError{Node: t.Node, Key: t.Prefix, Height: t.LastHeight,
			Err: fmt.Errorf("incomplete range: node returned %d of %d records under %s%s", t.Read, want, t.Prefix, detail)}
	}
	switch {
	case t.mixed && types.CountMayFall(t.Prefix):
		return nil
	case t.Read < t.FirstCount && !t.mixed:
		return incomplete(t.FirstCount, fmt.Sprintf(" (the count it proved at height %d)", t.FirstHeight))
	case t.Read < t.FirstCount:
		return incomplete(t.FirstCount, fmt.Sprintf(" (the count it proved at height %d, the first page's; the pages span heights %d-%d)", t.FirstHeight, t.FirstHeight, t.LastHeight))
	case t.Read > t.LastCount:
		return &ProofError{Node: t.Node, Key: t.Prefix, Height: t.LastHeight,
			Err: fmt.Errorf("range of %d records under %s, more than the %d it proved at height %d", t.Read, t.Prefix, t.LastCount, t.LastHeight)}
	}
	return nil
}
