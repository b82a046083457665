package app

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/mykeyledger/mykey/app/jpki"
	"github.com/mykeyledger/mykey/app/types"
)

// BulkIssuer is the certificate issuer of the synthetic people BulkLink
// creates (no real card has it).
const BulkIssuer = "mykey bulk load"

// bulkChunk is how many people BulkLink judges per cache flush.
const bulkChunk = 50_000

// BulkChargeYen is the amount of each charge BulkLinkCharged records (a
// quarter of it granted under the test programs' rate, far below a
// person's cap).
const BulkChargeYen = 100

// BulkChargeRef is the reference of the charge BulkLinkCharged records
// for the i-th person: a later charge with it is a duplicate.
func BulkChargeRef(i int) string { return "bulk/" + strconv.Itoa(i) }

// BulkLink pre-fills a freshly initialised App (after InitChain, before the
// first block) with people synthetic people, each holding a certificate
// (issuer BulkIssuer, serial i+1) linked to provider in program with the
// account commitment sha256("bench/<i>"). It is for benchmarks and tests
// only, and lives in a test file so that no binary can create linkages
// without a card's signature: pre-filling millions of people through
// transactions would take hours.
//
// Every link goes through the real linkage rule (applyVerifiedLink: MyKey
// ID issuance, the linkage, its account index, its history, the totals);
// only the card signature and certificate chain are skipped. The genesis
// state and all links are committed together as the first block, at the
// InitChain's initial height with block time at, through the store's bulk
// loader (store.Bulk): records are written in large batches and the trie is
// built once at the end. It returns the people's MyKey IDs in order.
func BulkLink(a *App, people int, program, provider string, at time.Time) ([]string, error) {
	return bulkLoad(a, people, program, provider, at, false)
}

// BulkLinkCharged is BulkLink, and each person is also charged once by
// provider (reference BulkChargeRef(i), BulkChargeYen yen, charged at at)
// through the real charge rule (applyCharge: the charge record, the
// person's and the program's totals, the provider's totals, the day's
// ledger), so that the state holds charges and a later charge's
// duplicate-reference lookup can hit as well as miss.
func BulkLinkCharged(a *App, people int, program, provider string, at time.Time) ([]string, error) {
	return bulkLoad(a, people, program, provider, at, true)
}

func bulkLoad(a *App, people int, program, provider string, at time.Time, charged bool) ([]string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stage == nil || a.verifier == nil || a.store.Height() != 0 {
		return nil, errors.New("app: BulkLink needs a freshly initialised app (after InitChain, before the first block)")
	}
	height := a.stageHeight + 1
	at = at.UTC()
	bulk, err := a.store.Bulk(a.stage)
	a.stage = nil
	if err != nil {
		return nil, err
	}
	defer bulk.Discard() // no-op after Commit
	ids := make([]string, 0, people)
	acct := make([]byte, 0, 32)
	for start := 0; start < people; start += bulkChunk {
		// The bulk loader changes only at its Flush, so reads can be
		// remembered for the chunk (program, provider: every link reads
		// them).
		c := &cache{parent: &memoReader{r: bulk, m: map[string][]byte{}}, writes: make(map[string]write, 8*bulkChunk)}
		x := &exec{app: a, c: c, height: height, time: at, chainID: a.chainID}
		for i := start; i < min(start+bulkChunk, people); i++ {
			var serial [8]byte
			binary.BigEndian.PutUint64(serial[:], uint64(i)+1)
			id := jpki.CertID{Issuer: []byte(BulkIssuer), Serial: serial[:]}
			sum := sha256.Sum256([]byte("bench/" + strconv.Itoa(i)))
			acct = append(acct[:0], sum[:]...)
			vl := &verifiedLink{
				req: &types.LinkRequest{ProgramId: program, ProviderId: provider, AccountCommitment: append([]byte(nil), acct...)},
				ref: &types.CertRef{Issuer: id.Issuer, Serial: id.Serial},
				idx: a.pk.CertIndex(id.Issuer, id.Serial),
			}
			mk, err := x.applyVerifiedLink(c, vl)
			if err != nil {
				return nil, fmt.Errorf("app: bulk link %d: %w", i, err)
			}
			ids = append(ids, mk)
			if charged {
				ref := BulkChargeRef(i)
				ch := &types.Charge{ProgramId: program, MykeyId: mk, ChargeRef: ref, AmountYen: BulkChargeYen, ChargedAt: at.Unix()}
				if _, _, err := x.applyCharge(c, provider, ch, types.KeyCharge(program, provider, ref)); err != nil {
					return nil, fmt.Errorf("app: bulk charge %d: %w", i, err)
				}
			}
		}
		if err := c.flush(bulk); err != nil {
			return nil, err
		}
		if err := bulk.Flush(); err != nil {
			return nil, err
		}
	}
	var bt [8]byte
	binary.BigEndian.PutUint64(bt[:], uint64(at.UnixNano()))
	if err := bulk.Set([]byte(types.PrefixBlockTime), bt[:], 0); err != nil {
		return nil, err
	}
	if _, err := bulk.Commit(height, nil); err != nil {
		return nil, err
	}
	a.lastTime = at
	return ids, nil
}

// memoReader remembers what it read from r (which must not change meanwhile).
type memoReader struct {
	r reader
	m map[string][]byte
}

func (m *memoReader) Get(key []byte) ([]byte, error) {
	if v, ok := m.m[string(key)]; ok {
		return v, nil
	}
	v, err := m.r.Get(key)
	if err == nil {
		m.m[string(key)] = v
	}
	return v, err
}

// A charged bulk load counts its charges, and a later charge with a bulk
// reference is a duplicate while a new reference is granted.
func TestBulkLinkChargedHoldsCharges(t *testing.T) {
	n := newTestNet(t, netOptions{})
	n.height++
	n.now = n.now.Add(5 * time.Second)
	ids, err := BulkLinkCharged(n.app, 300, "mynapoint", "paypay", n.now)
	if err != nil {
		t.Fatal(err)
	}
	if c := checkCounts(t, n.app); c["link/mynapoint/"] != 300 || c["charge/mynapoint/paypay/"] != 300 {
		t.Fatalf("counts after a charged bulk load of 300: %v", c)
	}
	res := n.block(n.grantTx("paypay", charge("mynapoint", ids[7], BulkChargeRef(7), 400), charge("mynapoint", ids[8], "new/8", 400)))
	if res[0].Code != 0 {
		t.Fatalf("grant: %s", res[0].Log)
	}
	var outcomes []string
	for _, ev := range res[0].Events {
		if ev.Type != types.EventGrant {
			continue
		}
		for _, a := range ev.Attributes {
			if a.Key == types.AttrCode {
				outcomes = append(outcomes, a.Value)
			}
		}
	}
	if len(outcomes) != 2 || outcomes[0] != strconv.Itoa(int(types.ErrDuplicateCharge.Code)) || outcomes[1] != "0" {
		t.Fatalf("codes of a duplicate and a new charge: %v", outcomes)
	}
	checkCounts(t, n.app)
}
