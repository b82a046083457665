package faults

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	cfg "github.com/cometbft/cometbft/config"
	"github.com/dgraph-io/badger/v4"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/client/txbuild"
	"github.com/mykeyledger/mykey/node"
)

// recorder is a testing.TB that keeps the errors reported to it.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.TB.Fatalf("unexpected Fatalf: "+format, args...)
}

// ledgerDump builds a dump from records.
type ledgerDump struct {
	t testing.TB
	d dump
}

func (l *ledgerDump) put(key string, m interface{ Marshal() ([]byte, error) }) {
	bz, err := m.Marshal()
	if err != nil {
		l.t.Fatal(err)
	}
	l.d[key] = bz
}

// TestChecksCatchViolations plants each violation the checks exist for in
// a ledger and a book, and requires the checks to report it: a suite
// whose checks cannot fail proves nothing.
func TestChecksCatchViolations(t *testing.T) {
	c1, c2, c3 := txbuild.Commitment("a"), txbuild.Commitment("b"), txbuild.Commitment("c")
	active := types.LinkStatus_LINK_STATUS_ACTIVE

	// A consistent ledger: A linked to paypay with account c1 and granted
	// ¥1,000 under r1; B linked to linepay with c2.
	base := func(t *testing.T) *ledgerDump {
		l := &ledgerDump{t: t, d: dump{}}
		l.put("link/"+program+"/AAAAAAAA", &types.Linkage{ProgramId: program, MykeyId: "AAAAAAAA", ProviderId: "paypay", AccountCommitment: c1, Status: active})
		l.d[accountKey("paypay", c1)] = []byte("AAAAAAAA")
		l.put("cert/fpA", &types.CertRecord{MykeyId: "AAAAAAAA"})
		l.put("link/"+program+"/BBBBBBBB", &types.Linkage{ProgramId: program, MykeyId: "BBBBBBBB", ProviderId: "linepay", AccountCommitment: c2, Status: active})
		l.d[accountKey("linepay", c2)] = []byte("BBBBBBBB")
		l.put("cert/fpB", &types.CertRecord{MykeyId: "BBBBBBBB"})
		l.put("person/"+program+"/AAAAAAAA", &types.PersonTotals{GrantedYen: 1000})
		l.put("charge/"+program+"/paypay/r1", &types.GrantRecord{ProgramId: program, ProviderId: "paypay", ChargeRef: "r1", MykeyId: "AAAAAAAA", GrantedYen: 1000})
		l.put("programtotals/"+program, &types.ProgramTotals{GrantedYen: 1000, Grants: 1})
		return l
	}
	// What the clients saw, consistent with it.
	newSuite := func() *suite {
		s := &suite{book: &book{}, rep: newReport()}
		g := &claimGroup{key: "card:fpA", kind: "card", phase: "p"}
		g.claims = []*claim{
			{group: g, fp: "fpA", provider: "paypay", commitment: c1, accepted: true},
			{group: g, fp: "fpA", provider: "linepay", commitment: c3},
		}
		h := &claimGroup{key: "account:linepay/b", kind: "account", phase: "p"}
		h.claims = []*claim{
			{group: h, fp: "fpB", provider: "linepay", commitment: c2, accepted: true},
			{group: h, fp: "fpC", provider: "linepay", commitment: c2},
		}
		s.book.groups = []*claimGroup{g, h}
		s.book.charges = []*chargeSent{
			{provider: "paypay", ref: "r1", mykey: "AAAAAAAA", accepted: true, granted: 1000, txHash: "T1"},
			{provider: "paypay", ref: "r1", mykey: "AAAAAAAA", code: 14, txHash: "T2"},
		}
		return s
	}

	cases := []struct {
		name  string
		plant func(l *ledgerDump, s *suite)
		want  string // in some reported error
	}{
		{"consistent", func(*ledgerDump, *suite) {}, ""},
		{"a card's second claim also accepted", func(_ *ledgerDump, s *suite) {
			s.book.groups[0].claims[1].accepted = true
		}, "2 claims accepted"},
		{"the ledger holds the refused claim", func(l *ledgerDump, _ *suite) {
			l.put("link/"+program+"/AAAAAAAA", &types.Linkage{MykeyId: "AAAAAAAA", ProviderId: "linepay", AccountCommitment: c3, Status: active})
			delete(l.d, accountKey("paypay", c1))
			l.d[accountKey("linepay", c3)] = []byte("AAAAAAAA")
		}, "the ledger holds"},
		{"the account held by the refused card", func(l *ledgerDump, _ *suite) {
			l.put("cert/fpB", &types.CertRecord{MykeyId: "ZZZZZZZZ"})
			l.put("cert/fpC", &types.CertRecord{MykeyId: "BBBBBBBB"})
		}, "the client saw"},
		{"an account record without its linkage", func(l *ledgerDump, _ *suite) {
			l.d[accountKey("paypay", c3)] = []byte("AAAAAAAA")
		}, "no active linkage"},
		{"a person over the cap", func(l *ledgerDump, _ *suite) {
			l.put("person/"+program+"/AAAAAAAA", &types.PersonTotals{GrantedYen: capYen + 1})
		}, "over the"},
		{"a grant the client saw committed is missing", func(l *ledgerDump, _ *suite) {
			delete(l.d, "charge/"+program+"/paypay/r1")
		}, "a client saw ¥1000 granted"},
		{"one reference granted by two transactions", func(_ *ledgerDump, s *suite) {
			s.book.charges[1].accepted, s.book.charges[1].granted = true, 1000
		}, "granted by 2 different transactions"},
		{"a grant every client saw refused", func(l *ledgerDump, s *suite) {
			s.book.charges[0].accepted = false
		}, "every client saw it refused"},
		{"a grant nobody sent", func(l *ledgerDump, _ *suite) {
			l.put("charge/"+program+"/paypay/r9", &types.GrantRecord{ProviderId: "paypay", ChargeRef: "r9", MykeyId: "AAAAAAAA"})
		}, "nobody sent"},
		{"a rejected charge nobody sent", func(l *ledgerDump, _ *suite) {
			l.put("charge/"+program+"/paypay/r8", &types.GrantRecord{ProviderId: "paypay", ChargeRef: "r8", MykeyId: "AAAAAAAA", Code: 27})
		}, "rejected charge nobody sent"},
		{"totals that do not add up", func(l *ledgerDump, _ *suite) {
			l.put("programtotals/"+program, &types.ProgramTotals{GrantedYen: 999, Grants: 1})
		}, "program totals"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, s := base(t), newSuite()
			tc.plant(l, s)
			r := &recorder{TB: t}
			s.checkLedger(r, l.d)
			switch {
			case tc.want == "" && len(r.errs) > 0:
				t.Errorf("a consistent ledger was faulted: %q", r.errs)
			case tc.want != "" && !strings.Contains(strings.Join(r.errs, "\n"), tc.want):
				t.Errorf("want an error with %q, got %q", tc.want, r.errs)
			}
		})
	}
}

// TestLeakScan shows that the scan finds what it looks for, in plain
// files and in compressed store records, and does not take numbers that
// merely contain the PIN's digits for the PIN.
func TestLeakScan(t *testing.T) {
	const tag = "MYKEYFAULTSACCOUNTTEST"
	token := tag + "00042"
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name, content string
		pin, want     bool
	}{
		{"plain.log", "account=" + token + "\n", false, true},
		{"hex.log", "x " + hex.EncodeToString([]byte("ab"+token)) + " y", false, true},
		{"base64.json", `{"a":"` + base64.StdEncoding.EncodeToString([]byte("z"+token+"q")) + `"}`, false, true},
		{"base64-2.json", base64.StdEncoding.EncodeToString([]byte("zz" + token)), false, true},
		{"pin.log", `I[..] signing pin="0417"`, true, true},
		{"pin-alone.out", "0417\n", true, true},
		{"numbers.log", "took=0.0417ms hash=A0417B h=10417 id=0417a", true, false},
		{"pin-ignored.dat", "0417", false, false},
		{"clean.log", "height=12 app_hash=ABCDEF", true, false},
	}
	for _, tc := range cases {
		l := newLeakScan(tag, "0417")
		if err := l.scanFile(write(tc.name, tc.content), tc.pin); err != nil {
			t.Fatal(err)
		}
		if got := l.stats.findings > 0; got != tc.want {
			t.Errorf("%s: found %v, want %v (%v)", tc.name, got, tc.want, l.found)
		}
	}

	// A token past the first chunk, across a chunk boundary.
	big := make([]byte, 4<<20+100)
	for i := range big {
		big[i] = 'x'
	}
	copy(big[4<<20-5:], token)
	l := newLeakScan(tag, "0417")
	if err := l.scanFile(write("big.bin", string(big)), false); err != nil {
		t.Fatal(err)
	}
	if l.stats.findings != 1 {
		t.Errorf("a token across a chunk boundary: %d findings", l.stats.findings)
	}

	// Store records: a Badger store and a CometBFT database with the
	// token in a value, as a node's home lays them out.
	home := filepath.Join(dir, "home")
	nc := node.DefaultConfig(home)
	if err := nc.Save(); err != nil {
		t.Fatal(err)
	}
	db, err := badger.Open(badger.DefaultOptions(nc.AppStatePath()).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(txn *badger.Txn) error { return txn.Set([]byte("k"), []byte("v"+token)) }); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	cdb, err := cfg.DefaultDBProvider(&cfg.DBContext{ID: "blockstore", Config: nc.Comet})
	if err != nil {
		t.Fatal(err)
	}
	if err := cdb.Set([]byte("block"), []byte(strings.Repeat(token, 100))); err != nil {
		t.Fatal(err)
	}
	if err := cdb.Close(); err != nil {
		t.Fatal(err)
	}
	l = newLeakScan(tag, "0417")
	l.scanStores(t, home)
	if l.stats.findings != 2 || l.stats.records != 2 {
		t.Errorf("stores: %d findings in %d records, want 2 in 2: %v", l.stats.findings, l.stats.records, l.found)
	}
}
