package app

import (
	"runtime"
	"sync"
	"time"

	"github.com/mykeyledger/mykey/app/types"
)

// preverify checks the card signatures of a block's links on all cores
// before the block is executed in order, and reads on all cores the
// committed records the block's links and charges will look up. It only
// warms caches: each signature result is stored by the link's own bytes,
// each record read is remembered by the committed block it was read from
// (the state execution starts from), and execution still judges every
// transaction itself, in order, so the outcome is the same whether or not
// (and in whatever order) this ran.
func (a *App) preverify(txs [][]byte, chainID string, at time.Time) {
	var (
		links []*types.SignedLink
		keys  [][]byte
	)
	addLink := func(sl *types.SignedLink) {
		links = append(links, sl)
		if r := sl.GetRequest(); r != nil {
			keys = append(keys, types.KeyAccount(r.ProgramId, r.ProviderId, r.AccountCommitment))
		}
	}
	for _, bz := range txs {
		tx, err := types.DecodeTx(bz)
		if err != nil {
			continue
		}
		switch b := tx.Body.(type) {
		case *types.Tx_Link:
			addLink(b.Link)
		case *types.Tx_LinkBatch:
			if b.LinkBatch.Batch != nil {
				for _, sl := range b.LinkBatch.Batch.Links {
					addLink(sl)
				}
			}
		case *types.Tx_Grant:
			g := b.Grant.GetGrant()
			if g == nil {
				continue
			}
			for _, ch := range g.Charges {
				keys = append(keys, types.KeyCharge(ch.ProgramId, g.ProviderId, ch.ChargeRef),
					types.KeyMyKey(ch.MykeyId), types.KeyLink(ch.ProgramId, ch.MykeyId), types.KeyPerson(ch.ProgramId, ch.MykeyId))
			}
		}
	}
	workers := runtime.GOMAXPROCS(0)
	if workers < 2 || len(links)+len(keys)/prefetchPerJob < 2 {
		return
	}
	type job struct {
		link *types.SignedLink
		keys [][]byte
	}
	var wg sync.WaitGroup
	next := make(chan job)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				if j.link != nil {
					a.verifyLinkStatic(j.link, chainID, at) //nolint:errcheck // judged again in order
				} else {
					a.store.Prefetch(j.keys) //nolint:errcheck // read again in order
				}
			}
		}()
	}
	for _, sl := range links {
		next <- job{link: sl}
	}
	for i := 0; i < len(keys); i += prefetchPerJob {
		next <- job{keys: keys[i:min(i+prefetchPerJob, len(keys))]}
	}
	close(next)
	wg.Wait()
}

// prefetchPerJob is how many records one prefetch job reads.
const prefetchPerJob = 256
