package app

import (
	"runtime"
	"sync"
	"time"

	"github.com/mykeyledger/mykey/app/types"
)

// preverify checks the card signatures of a block's links on all cores
// before the block is executed in order. It only warms the signature and
// certificate caches: each result is stored by the link's own bytes and
// execution still judges every link itself, in order, so the outcome is the
// same whether or not (and in whatever order) this ran.
func (a *App) preverify(txs [][]byte, chainID string, at time.Time) {
	var links []*types.SignedLink
	for _, bz := range txs {
		tx, err := types.DecodeTx(bz)
		if err != nil {
			continue
		}
		switch b := tx.Body.(type) {
		case *types.Tx_Link:
			links = append(links, b.Link)
		case *types.Tx_LinkBatch:
			if b.LinkBatch.Batch != nil {
				links = append(links, b.LinkBatch.Batch.Links...)
			}
		}
	}
	workers := runtime.GOMAXPROCS(0)
	if len(links) < 2 || workers < 2 {
		return
	}
	var wg sync.WaitGroup
	next := make(chan *types.SignedLink)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for sl := range next {
				a.verifyLinkStatic(sl, chainID, at) //nolint:errcheck // judged again in order
			}
		}()
	}
	for _, sl := range links {
		next <- sl
	}
	close(next)
	wg.Wait()
}
