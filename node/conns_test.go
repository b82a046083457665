package node

import (
	"context"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/proxy"
)

// blockingApp's FinalizeBlock waits until release is closed.
type blockingApp struct {
	abci.BaseApplication
	entered, release chan struct{}
}

func (b *blockingApp) FinalizeBlock(context.Context, *abci.FinalizeBlockRequest) (*abci.FinalizeBlockResponse, error) {
	close(b.entered)
	<-b.release
	return &abci.FinalizeBlockResponse{}, nil
}

// queryDuringBlock reports whether a Query on the query connection
// returned while FinalizeBlock ran on the consensus connection (waiting at
// most bound for it).
func queryDuringBlock(t *testing.T, abciApp string, bound time.Duration) bool {
	app := &blockingApp{entered: make(chan struct{}), release: make(chan struct{})}
	conns := proxy.NewAppConns(clientCreator(abciApp, app), proxy.NopMetrics())
	if err := conns.Start(); err != nil {
		t.Fatal(err)
	}
	defer conns.Stop() //nolint:errcheck
	finalized := make(chan error, 1)
	go func() {
		_, err := conns.Consensus().FinalizeBlock(context.Background(), &abci.FinalizeBlockRequest{Height: 1})
		finalized <- err
	}()
	<-app.entered
	answered := make(chan error, 1)
	go func() {
		_, err := conns.Query().Query(context.Background(), &abci.QueryRequest{Path: "/provider/paypay"})
		answered <- err
	}()
	var during bool
	select {
	case err := <-answered:
		if err != nil {
			t.Fatal(err)
		}
		during = true
	case <-time.After(bound):
	}
	close(app.release)
	if err := <-finalized; err != nil {
		t.Fatal(err)
	}
	if !during {
		<-answered
	}
	return during
}

// TestQueriesDoNotWaitForBlocks: the ledger's queries are answered while
// a block executes (the app reads a committed snapshot without its lock);
// the kvstore baseline's, which has no lock of its own, wait.
func TestQueriesDoNotWaitForBlocks(t *testing.T) {
	// A liveness bound, not a speed figure: a query that waits for the
	// block never returns before release.
	if !queryDuringBlock(t, "", 30*time.Second) {
		t.Fatal("a query to the ledger waited for FinalizeBlock")
	}
	if queryDuringBlock(t, ABCIKvstore, 200*time.Millisecond) {
		t.Fatal("a query to the kvstore baseline was answered during FinalizeBlock: it has no lock of its own")
	}
}
