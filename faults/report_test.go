package faults

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// report is what the suite prints at the end.
type report struct {
	mu    sync.Mutex
	start time.Time
	run   string

	faults           []string
	phases           []phaseReport
	heightsCompared  int64
	recordsCompared  int64
	noQuorumBlocks   int64 // blocks committed while only two validators were connected
	longestStall     time.Duration
	overCap          int
	grantsLost       int
	doubleGrants     int
	hostileCases     int
	hostileRejected  int
	hostileOther     int // requests that are not transactions (bad JSON-RPC, huge body)
	hostileUnchanged bool
	leak             leakStats
}

type phaseReport struct {
	name   string
	took   time.Duration
	blocks int64 // blocks the network made during the phase
	note   string
	failed bool
}

func newReport() *report { return &report{start: time.Now()} }

func (r *report) add(f func(*report)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(r)
}

func (r *report) addFault(f string) { r.add(func(r *report) { r.faults = append(r.faults, f) }) }

// bookStats are the storms' figures, from the book.
type bookStats struct {
	sends, distinctTxs, committed, refusedAtCheck, inCache, noAnswer, cliRuns int
	groups, claims, groupsAccepted, beyondOne, cardGroups, accountGroups      int
	charges, refs, granted, capped, capRefused, dupRefused, races             int
	grantedYen                                                                int64
}

func (b *book) stats() bookStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	var st bookStats
	st.sends, st.cliRuns = len(b.txs), len(b.clis)
	seen := map[string]bool{}
	for _, tx := range b.txs {
		switch {
		case tx.inCache:
			st.inCache++
		case tx.sendErr != nil:
			st.noAnswer++
		case tx.checkCode != 0:
			st.refusedAtCheck++
		}
		if seen[tx.hash] {
			continue
		}
		seen[tx.hash] = true
		st.distinctTxs++
		if tx.committed {
			st.committed++
		}
	}
	for _, g := range b.groups {
		if len(g.claims) < 2 {
			continue // not contested (the hostile phase's setup link)
		}
		st.groups++
		if g.kind == "card" {
			st.cardGroups++
		} else {
			st.accountGroups++
		}
		acc := 0
		for _, cl := range g.claims {
			st.claims++
			if cl.accepted {
				acc++
			}
		}
		if acc > 0 {
			st.groupsAccepted++
		}
		st.beyondOne += max(0, acc-1)
	}
	refs := map[string]map[string]bool{} // ref → tx hashes granting it
	sent := map[string]map[string]bool{} // ref → distinct carriers
	for _, ch := range b.charges {
		st.charges++
		k := ch.provider + "/" + ch.ref
		if sent[k] == nil {
			sent[k], refs[k] = map[string]bool{}, map[string]bool{}
		}
		carrier := ch.txHash
		if ch.cli != nil {
			carrier = "cli:" + ch.cli.name
		}
		sent[k][carrier] = true
		switch {
		case ch.accepted && !refs[k][ch.txHash]:
			refs[k][ch.txHash] = true
			st.granted++
			st.grantedYen += ch.granted
			if ch.granted < ch.amount*rateBP/10000 {
				st.capped++
			}
		case !ch.accepted && ch.code == 15:
			st.capRefused++
		case !ch.accepted && ch.code == 14:
			st.dupRefused++
		}
	}
	st.refs = len(sent)
	for _, carriers := range sent {
		if len(carriers) > 1 {
			st.races++
		}
	}
	return st
}

// print writes the report to stdout and to $MYKEY_FAULTS_REPORT.
func (r *report) print(t *testing.T, b *book) {
	st := b.stats()
	r.mu.Lock()
	defer r.mu.Unlock()
	var w strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&w, format+"\n", args...) }
	p("MyKey Ledger fault suite report (%s)", r.run)
	p("  faults injected:        %d", len(r.faults))
	for _, f := range r.faults {
		p("    - %s", f)
	}
	p("  phases:")
	for _, ph := range r.phases {
		status := "ok"
		if ph.failed {
			status = "FAILED"
		}
		p("    %-16s %-6s %6s, %4d blocks  %s", ph.name, status, ph.took.Round(time.Second), ph.blocks, ph.note)
	}
	p("  transactions attempted: %d sends of %d distinct transactions (%d committed, %d refused by CheckTx, %d already held by the node, %d unanswered during a fault), plus %d mykey commands",
		st.sends, st.distinctTxs, st.committed, st.refusedAtCheck, st.inCache, st.noAnswer, st.cliRuns)
	p("  double claims:          %d claims in %d contested groups (%d cards to several providers, %d accounts claimed by two cards)",
		st.claims, st.groups, st.cardGroups, st.accountGroups)
	p("                          accepted: %d (at most one per group), accepted beyond one: %d", st.groupsAccepted, st.beyondOne)
	p("  grants:                 %d charges sent under %d references (%d raced or replayed through several transactions)", st.charges, st.refs, st.races)
	p("                          granted %d (¥%d; %d cut to the cap), refused: %d cap reached, %d duplicate reference", st.granted, st.grantedYen, st.capped, st.capRefused, st.dupRefused)
	p("                          grants lost: %d, references granted twice: %d, people over the cap: %d", r.grantsLost, r.doubleGrants, r.overCap)
	p("  consistency:            %d heights: same app hash on all %d nodes; %d records compared", r.heightsCompared, validators, r.recordsCompared)
	p("  liveness:               longest wait for a block with >= 3 of 4 connected: %s (limit %s); blocks with 2 of 4: %d",
		r.longestStall.Round(100*time.Millisecond), maxStall, r.noQuorumBlocks)
	unchanged := "every record unchanged"
	if !r.hostileUnchanged {
		unchanged = "RECORDS CHANGED (or not checked)"
	}
	p("  hostile input:          %d transactions, %d refused with the expected code, on two nodes each; %d bad RPC requests; %s",
		r.hostileCases, r.hostileRejected, r.hostileOther, unchanged)
	p("  leak scan:              %d files (%.1f MB) and %d store records: %d findings of account strings or the PIN",
		r.leak.files, float64(r.leak.bytes)/1e6, r.leak.records, r.leak.findings)
	p("  minutes run:            %.1f", time.Since(r.start).Minutes())
	out := w.String()
	fmt.Print(out) // stdout: shown by go test -v, and for a failing package

	if path := os.Getenv(envReport); path != "" {
		if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
			t.Errorf("faults: writing the report: %v", err)
		}
	}
}
