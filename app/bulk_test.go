package app

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/mykeyledger/mykey/app/jpki"
	"github.com/mykeyledger/mykey/app/types"
)

// BulkIssuer is the certificate issuer of the synthetic people BulkLink
// creates (no real card has it).
const BulkIssuer = "mykey bulk load"

// bulkChunk is how many people BulkLink judges per cache flush.
const bulkChunk = 50_000

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
