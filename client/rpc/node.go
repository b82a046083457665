package rpc

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	rpcclient "github.com/cometbft/cometbft/rpc/client"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
)

// Node is a MyKey Ledger node as the commands use it. Implementations are
// safe for concurrent use. Errors reaching the node are *UnreachableError.
type Node interface {
	// URL names the node in messages.
	URL() string
	// Status returns the chain ID and the latest block.
	Status(ctx context.Context) (*Status, error)
	// Query asks for the record at a store key path ("/provider/paypay");
	// with prove the answer carries ProofOps. A missing record is a
	// response with a nil Value, not an error.
	Query(ctx context.Context, path string, prove bool) (*abci.QueryResponse, error)
	// QueryMany asks for many paths at once (without proofs); the answers
	// are in the order of paths.
	QueryMany(ctx context.Context, paths []string) ([]*abci.QueryResponse, error)
	// Broadcast hands tx to the node's mempool and returns CheckTx's answer.
	// A transaction the node already holds (in its mempool or cache) gives
	// ErrInCache; a full mempool ErrMempoolFull.
	Broadcast(ctx context.Context, tx []byte) (*Broadcast, error)
	// CheckTx runs CheckTx on tx against the last committed state without
	// adding it to the mempool; its events carry per-item outcomes.
	CheckTx(ctx context.Context, tx []byte) (*abci.CheckTxResponse, error)
	// Tx finds a committed transaction by its hash; nil and no error if
	// it is not (yet) in a block.
	Tx(ctx context.Context, hash []byte) (*Committed, error)
	// AppHash returns the app hash in the header at height, which commits
	// to the state after block height-1; ErrNoBlock if that block does not
	// exist yet.
	AppHash(ctx context.Context, height int64) ([]byte, error)
}

// Status is a node's view of the chain.
type Status struct {
	ChainID    string
	Height     int64     // latest block height
	Time       time.Time // latest block time
	CatchingUp bool
}

// Broadcast is CheckTx's answer to a broadcast transaction.
type Broadcast struct {
	Hash      []byte
	Code      uint32
	Codespace string
	Log       string
}

// Committed is a transaction in a block and its result.
type Committed struct {
	Hash   []byte
	Height int64
	Result abci.ExecTxResult
}

// Errors of Broadcast and AppHash that callers act on.
var (
	ErrInCache     = errors.New("rpc: the node already has this transaction")
	ErrMempoolFull = errors.New("rpc: the node's mempool is full")
	ErrNoBlock     = errors.New("rpc: no such block yet")
)

// TxHash is the hash CometBFT names a transaction by.
func TxHash(tx []byte) []byte {
	h := sha256.Sum256(tx)
	return h[:]
}

// DefaultURL is the RPC address of a local network's first node.
const DefaultURL = "http://127.0.0.1:26657"

// httpNode is a Node over CometBFT's JSON-RPC on HTTP.
type httpNode struct {
	url string
	c   *rpchttp.HTTP
	// mu serialises batches: a BatchHTTP is not reusable concurrently.
	mu sync.Mutex
}

// Dial returns the node at url ("http://host:port"; "host:port" and
// "tcp://host:port" are accepted). It does not connect yet: the first call
// does, and fails with an *UnreachableError if nothing answers.
func Dial(url string) (Node, error) {
	u := NormalizeURL(url)
	hc := &http.Client{
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			DisableCompression:  true,
			MaxIdleConnsPerHost: 8,
		},
		Timeout: 60 * time.Second,
	}
	c, err := rpchttp.NewWithClient(u, hc)
	if err != nil {
		return nil, fmt.Errorf("rpc: node address %q: %w (want http://HOST:PORT)", url, err)
	}
	return &httpNode{url: u, c: c}, nil
}

// NormalizeURL gives a node address its scheme: "127.0.0.1:26657" and
// "tcp://127.0.0.1:26657" become "http://127.0.0.1:26657".
func NormalizeURL(url string) string {
	url = strings.TrimRight(strings.TrimSpace(url), "/")
	switch {
	case strings.HasPrefix(url, "tcp://"):
		return "http://" + strings.TrimPrefix(url, "tcp://")
	case !strings.Contains(url, "://"):
		return "http://" + url
	}
	return url
}

func (n *httpNode) URL() string { return n.url }

func (n *httpNode) Status(ctx context.Context) (*Status, error) {
	st, err := n.c.Status(ctx)
	if err != nil {
		return nil, n.wrap("status", err)
	}
	return &Status{
		ChainID:    st.NodeInfo.Network,
		Height:     st.SyncInfo.LatestBlockHeight,
		Time:       st.SyncInfo.LatestBlockTime,
		CatchingUp: st.SyncInfo.CatchingUp,
	}, nil
}

func (n *httpNode) Query(ctx context.Context, path string, prove bool) (*abci.QueryResponse, error) {
	res, err := n.c.ABCIQueryWithOptions(ctx, path, nil, rpcclient.ABCIQueryOptions{Prove: prove})
	if err != nil {
		return nil, n.wrap("query "+path, err)
	}
	return &res.Response, nil
}

// maxBatch is CometBFT's default rpc.max_request_batch_size.
const maxBatch = 10

func (n *httpNode) QueryMany(ctx context.Context, paths []string) ([]*abci.QueryResponse, error) {
	out := make([]*abci.QueryResponse, len(paths))
	// A few batches in flight at once; each batch is one HTTP request.
	const workers = 4
	type job struct{ from, to int }
	jobs := make(chan job)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if err := n.queryBatch(ctx, paths[j.from:j.to], out[j.from:j.to]); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var err error
send:
	for from := 0; from < len(paths); from += maxBatch {
		select {
		case jobs <- job{from, min(from+maxBatch, len(paths))}:
		case err = <-errs:
			break send
		}
	}
	close(jobs)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (n *httpNode) queryBatch(ctx context.Context, paths []string, out []*abci.QueryResponse) error {
	if len(paths) == 1 {
		// CometBFT answers a batch of one as a single call, which the
		// batch client does not decode.
		r, err := n.Query(ctx, paths[0], false)
		out[0] = r
		return err
	}
	b := n.c.NewBatch()
	for _, p := range paths {
		if _, err := b.ABCIQueryWithOptions(ctx, p, nil, rpcclient.ABCIQueryOptions{}); err != nil {
			return n.wrap("query "+p, err)
		}
	}
	results, err := b.Send(ctx)
	if err != nil {
		return n.wrap("query", err)
	}
	if len(results) != len(paths) {
		return fmt.Errorf("rpc: %s answered %d of %d queries", n.url, len(results), len(paths))
	}
	for i, r := range results {
		q, ok := r.(*ctypes.ResultABCIQuery)
		if !ok || q == nil {
			return fmt.Errorf("rpc: %s: unexpected answer to query %s: %.200v", n.url, paths[i], r)
		}
		out[i] = &q.Response
	}
	return nil
}

// invalidTx matches CometBFT v1's mempool.ErrInvalidTx, which
// broadcast_tx_sync returns as an RPC error when CheckTx refuses a
// transaction.
var invalidTx = regexp.MustCompile(`(?s)is invalid: code=(\d+), data=[0-9A-Fa-f]*, log='(.*)', codespace='([^']*)'`)

func (n *httpNode) Broadcast(ctx context.Context, tx []byte) (*Broadcast, error) {
	res, err := n.c.BroadcastTxSync(ctx, tx)
	if err != nil {
		msg := err.Error()
		if m := invalidTx.FindStringSubmatch(msg); m != nil {
			code, _ := strconv.ParseUint(m[1], 10, 32)
			return &Broadcast{Hash: TxHash(tx), Code: uint32(code), Log: m[2], Codespace: m[3]}, nil
		}
		switch {
		case strings.Contains(msg, "tx already exists in cache"):
			return nil, ErrInCache
		case strings.Contains(msg, "mempool is full"):
			return nil, fmt.Errorf("%w: %s", ErrMempoolFull, msg)
		case strings.Contains(msg, "catching up"):
			return nil, fmt.Errorf("rpc: %s is still catching up with the network and takes no transactions yet: wait, or use another node with --node", n.url)
		}
		return nil, n.wrap("broadcast", err)
	}
	return &Broadcast{Hash: res.Hash, Code: res.Code, Codespace: res.Codespace, Log: res.Log}, nil
}

func (n *httpNode) CheckTx(ctx context.Context, tx []byte) (*abci.CheckTxResponse, error) {
	res, err := n.c.CheckTx(ctx, tx)
	if err != nil {
		return nil, n.wrap("check_tx", err)
	}
	return &res.CheckTxResponse, nil
}

func (n *httpNode) Tx(ctx context.Context, hash []byte) (*Committed, error) {
	res, err := n.c.Tx(ctx, hash, false)
	if err != nil {
		msg := err.Error()
		if strings.Contains(msg, "not found") {
			return nil, nil
		}
		if strings.Contains(msg, "indexing is disabled") {
			return nil, fmt.Errorf("rpc: %s does not index transactions (tx_index.indexer = \"null\"), so a commit cannot be confirmed: use a node with the kv indexer", n.url)
		}
		return nil, n.wrap("tx", err)
	}
	return &Committed{Hash: res.Hash, Height: res.Height, Result: res.TxResult}, nil
}

func (n *httpNode) AppHash(ctx context.Context, height int64) ([]byte, error) {
	res, err := n.c.Header(ctx, &height)
	if err != nil {
		if strings.Contains(err.Error(), "must be less than or equal to the current blockchain height") {
			return nil, ErrNoBlock
		}
		return nil, n.wrap("header", err)
	}
	if res.Header == nil {
		return nil, ErrNoBlock
	}
	return res.Header.AppHash, nil
}

// wrap turns a failure to reach the node into an *UnreachableError.
func (n *httpNode) wrap(what string, err error) error {
	if isUnreachable(err) {
		return &UnreachableError{URL: n.url, Err: err}
	}
	return fmt.Errorf("rpc: %s at %s: %w", what, n.url, err)
}
