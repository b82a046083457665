package app

import (
	"context"
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtcrypto "github.com/cometbft/cometbft/api/cometbft/crypto/v1"

	"github.com/mykeyledger/mykey/app/proof"
	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/internal/testca"
)

// rangeQuery asks the app's "/range" path, with proofs, for q's page.
func (n *testNet) rangeQuery(q *types.RangeQuery) *types.RangeResult {
	n.t.Helper()
	data, _ := q.Marshal()
	res, err := n.app.Query(context.Background(), &abci.QueryRequest{Path: "/range", Data: data, Prove: true})
	if err != nil || res.Code != 0 {
		n.t.Fatalf("range: %v %+v", err, res)
	}
	var rr types.RangeResult
	if err := rr.Unmarshal(res.Value); err != nil {
		n.t.Fatal(err)
	}
	return &rr
}

func TestRangeQueryPagesWithProofs(t *testing.T) {
	n, _, id := linked(t, netOptions{})
	var chs []*types.Charge
	for i := 0; i < 5; i++ {
		chs = append(chs, charge("mynapoint", id, fmt.Sprintf("ref-%d", i), 400))
	}
	n.block(n.grantTx("paypay", chs...))
	hash := n.appHash()
	var keys []string
	var total int64
	after := ""
	for page := 0; page < 10; page++ {
		rr := n.rangeQuery(&types.RangeQuery{Prefix: "charge/mynapoint/paypay/", StartAfter: after, Limit: 2})
		if len(rr.Records) > 2 {
			t.Fatalf("page of %d records, limit 2", len(rr.Records))
		}
		for _, r := range rr.Records {
			var ops cmtcrypto.ProofOps
			if err := ops.Unmarshal(r.ProofOps); err != nil {
				t.Fatal(err)
			}
			if err := proof.VerifyValue(hash, []byte(r.Key), r.Value, &ops); err != nil {
				t.Fatalf("%s: %v", r.Key, err)
			}
			var g types.GrantRecord
			g.Unmarshal(r.Value)
			total += g.GrantedYen
			keys = append(keys, r.Key)
		}
		if rr.Next == "" {
			break
		}
		after = rr.Next
	}
	if len(keys) != 5 || total != 500 {
		t.Fatalf("range gave %d records, %d yen; want 5 and 500: %v", len(keys), total, keys)
	}
	for i := 1; i < len(keys); i++ {
		if keys[i] <= keys[i-1] {
			t.Fatalf("keys out of order or repeated: %v", keys)
		}
	}
}

// checkCounts reads every committed record and checks the count records
// against what it read: each counted directory's record holds the number
// of records under it, and no count record is left for an empty one.
func checkCounts(t *testing.T, a *App) map[string]uint64 {
	t.Helper()
	want := map[string]uint64{}
	got := map[string]uint64{}
	var dirs []string
	err := a.store.Iterate(nil, func(k, v []byte) bool {
		key := string(k)
		if strings.HasPrefix(key, types.PrefixCount) {
			n, err := types.DecodeCount(v)
			if err != nil || n == 0 {
				t.Errorf("%s: %d %v", key, n, err)
			}
			got[strings.TrimPrefix(key, types.PrefixCount)] = n
			return false
		}
		dirs = types.CountDirs(dirs[:0], key)
		for _, d := range dirs {
			want[d]++
		}
		return false
	})
	if err != nil {
		t.Fatal(err)
	}
	for d, n := range want {
		if got[d] != n {
			t.Errorf("height %d: count/%s is %d, but %d records are under %s", a.store.Height(), d, got[d], n, d)
		}
	}
	for d, n := range got {
		if _, ok := want[d]; !ok {
			t.Errorf("height %d: count/%s is %d, but no record is under %s", a.store.Height(), d, n, d)
		}
	}
	return want
}

func TestCountDirs(t *testing.T) {
	for key, want := range map[string]string{
		"charge/p/v/ref":    "charge/ charge/p/ charge/p/v/",
		"overgrant/p/v/1":   "overgrant/ overgrant/p/ overgrant/p/v/",
		"linkhistory/p/m/1": "",
		"history/0001":      "history/",
		"program/p":         "program/",
		"programtotals/p":   "programtotals/",
		"cert/abc":          "",
		"gov":               "",
		"count/charge/":     "",
		"meta/eventseq":     "",
	} {
		if got := strings.Join(types.CountDirs(nil, key), " "); got != want {
			t.Errorf("CountDirs(%q) = %q, want %q", key, got, want)
		}
	}
	for prefix, want := range map[string]bool{"charge/": true, "charge/p/": true, "charge/p": false, "cert/": false, "": false, "gov": false} {
		if types.Counted(prefix) != want {
			t.Errorf("Counted(%q) = %v", prefix, !want)
		}
	}
}

// After genesis and after every block of a random mix of links, batches,
// grants (granted and rejected), merges, corrections and garbage, the
// count records agree with a full iteration of the state.
func TestCountsMatchIteration(t *testing.T) {
	n := newTestNet(t, netOptions{})
	n.block()
	if c := checkCounts(t, n.app); c["program/"] != 1 || c["provider/"] == 0 {
		t.Fatalf("genesis counts %v", c)
	}
	for _, txs := range scriptedBlocks(n) {
		n.block(txs...)
		checkCounts(t, n.app)
	}
	rng := rand.New(rand.NewSource(7))
	provs := []string{"paypay", "linepay", "rakuten"}
	type person struct {
		card *testca.Card
		id   string
	}
	var people []person
	ref := 0
	prev := checkCounts(t, n.app)
	for b := 0; b < 25; b++ {
		var txs [][]byte
		for i := 0; i < 1+rng.Intn(4); i++ {
			switch r := rng.Intn(10); {
			case r < 3 || len(people) < 2:
				c := n.card()
				prov := provs[rng.Intn(len(provs))]
				txs = append(txs, n.linkTx(c, "mynapoint", prov, fmt.Sprintf("acct-%d", rng.Intn(30))))
				people = append(people, person{card: c})
			case r < 7:
				p := people[rng.Intn(len(people))]
				if p.id == "" {
					p.id = n.mykeyOf(p.card)
				}
				ref++
				// Grants from any provider: some are not linked, some reach the cap,
				// some repeat a reference; all are recorded.
				rf := fmt.Sprintf("r%d", ref-rng.Intn(2))
				txs = append(txs, n.grantTx(provs[rng.Intn(len(provs))], charge("mynapoint", p.id, rf, int64(1000+rng.Intn(20000)))))
			case r < 8:
				a, b := people[rng.Intn(len(people))], people[rng.Intn(len(people))]
				txs = append(txs, n.govTx(1, succession(a.card.Cert, b.card.Cert)))
			case r < 9:
				p := people[rng.Intn(len(people))]
				id := n.mykeyOf(p.card)
				kind := types.CorrectionKind_CORRECTION_KIND_MOVE
				if rng.Intn(2) == 0 {
					kind = types.CorrectionKind_CORRECTION_KIND_VOID
				}
				txs = append(txs, n.govTx(1, &types.GovAction{Action: &types.GovAction_CorrectLinkage{CorrectLinkage: &types.CorrectLinkage{
					ProgramId: "mynapoint", MykeyId: id, Kind: kind,
					ToProviderId: provs[rng.Intn(len(provs))], ToAccountCommitment: commitment(fmt.Sprintf("moved-%d", rng.Intn(30))), IncidentRef: fmt.Sprintf("INC-%d", b)}}}))
			default:
				txs = append(txs, []byte{byte(rng.Intn(256))})
			}
		}
		n.block(txs...)
		now := checkCounts(t, n.app)
		for d, c := range prev {
			if now[d] < c && !types.CountMayFall(d) {
				t.Errorf("height %d: the count of %s fell from %d to %d", n.height, d, c, now[d])
			}
		}
		prev = now
	}
	codes := map[uint32]int{}
	for _, rs := range n.results {
		for _, r := range rs {
			codes[r.Code]++
		}
	}
	t.Logf("result codes: %v", codes)
	if codes[0] < 20 || len(codes) < 4 {
		t.Fatalf("the mix did too little: codes %v", codes)
	}
}

// A bulk load counts what it writes.
func TestBulkLinkCounts(t *testing.T) {
	n := newTestNet(t, netOptions{})
	n.height++
	n.now = n.now.Add(5 * time.Second)
	if _, err := BulkLink(n.app, 300, "mynapoint", "paypay", n.now); err != nil {
		t.Fatal(err)
	}
	if c := checkCounts(t, n.app); c["link/mynapoint/"] != 300 || c["mykey/"] != 300 {
		t.Fatalf("counts after a bulk load of 300: %v", c)
	}
	n.block()
	checkCounts(t, n.app)
}

// A range over a counted directory carries its proved count; over an
// empty one, the proved absence of the count.
func TestRangeCarriesProvedCount(t *testing.T) {
	n, _, id := linked(t, netOptions{})
	n.block(n.grantTx("paypay", charge("mynapoint", id, "a", 400), charge("mynapoint", id, "b", 400), charge("mynapoint", id, "c", 1)))
	hash := n.appHash()
	for prefix, want := range map[string]uint64{
		"charge/": 3, "charge/mynapoint/paypay/": 3, "charge/mynapoint/linepay/": 0, "overgrant/": 0, "cert/": 0, "charge/mynapoint/paypay": 0,
	} {
		rr := n.rangeQuery(&types.RangeQuery{Prefix: prefix, Limit: 1})
		if !types.Counted(prefix) {
			if rr.Count != nil {
				t.Errorf("%s is not counted but the answer has count %+v", prefix, rr.Count)
			}
			continue
		}
		c := rr.Count
		if c == nil || c.Key != "count/"+prefix {
			t.Fatalf("%s: count %+v", prefix, c)
		}
		var ops cmtcrypto.ProofOps
		if err := ops.Unmarshal(c.ProofOps); err != nil {
			t.Fatal(err)
		}
		var err error
		if len(c.Value) == 0 {
			err = proof.VerifyAbsence(hash, []byte(c.Key), &ops)
		} else {
			err = proof.VerifyValue(hash, []byte(c.Key), c.Value, &ops)
		}
		if err != nil {
			t.Fatalf("%s: count proof: %v", prefix, err)
		}
		if got, err := types.DecodeCount(c.Value); err != nil || got != want {
			t.Errorf("%s: count %d (%v), want %d", prefix, got, err, want)
		}
	}
}
