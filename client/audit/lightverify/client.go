package lightverify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	"github.com/cometbft/cometbft/light"
	lightstore "github.com/cometbft/cometbft/light/store"
	lightdb "github.com/cometbft/cometbft/light/store/db"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
)

// Options configure New.
type Options struct {
	// Node is the RPC URL of the node to read from ("http://host:port").
	Node string
	// Witnesses are further nodes whose headers must agree with Node's
	// (the light client's attack detector). None: Node witnesses itself,
	// which detects nothing.
	Witnesses []string
	// ChainID, if set, must be the chain's; "" takes the genesis file's
	// or, with a trusted hash, the node's (the hash pins it anyway).
	ChainID string
	// TrustHeight and TrustHash anchor trust at a header the auditor got
	// from a source they trust.
	TrustHeight int64
	TrustHash   []byte
	// Genesis is a genesis.json path: trust starts at the chain's first
	// block, which more than 2/3 of the genesis validators must have
	// signed. Used when TrustHeight is 0.
	Genesis string
	// TrustPeriod is how long a verified header may be used to verify
	// later ones (CometBFT's trusting period). 0: two weeks, and with a
	// genesis anchor at least the chain's age plus two weeks, since the
	// genesis file itself is what the auditor trusts.
	TrustPeriod time.Duration
	// Insecure turns verification off: no proofs, no light client.
	Insecure bool
	// HeaderWait bounds the wait for the block after an answer's height,
	// whose header proves the answer (0: one minute).
	HeaderWait time.Duration
	// Now is the clock the light client checks header times with (nil:
	// time.Now).
	Now func() time.Time
}

// DefaultTrustPeriod is the trusting period without Options.TrustPeriod.
const DefaultTrustPeriod = 14 * 24 * time.Hour

// Client reads verified records from one node.
type Client struct {
	node     string
	rpc      *rpchttp.HTTP
	lc       *light.Client // nil when insecure
	insecure bool
	anchor   string
	chainID  string
	wait     time.Duration
	now      func() time.Time

	// What the light client is rebuilt from after a connection failure
	// (which makes it drop its providers).
	witnessURLs []string
	period      time.Duration
	store       lightstore.Store

	mu     sync.Mutex // serialises the light client and guards hashes
	hashes map[int64][]byte
	order  []int64
}

// maxCachedHashes bounds the verified app hashes kept.
const maxCachedHashes = 256

// New connects to opts.Node and, unless opts.Insecure, sets up the light
// client from the trust anchor (which verifies the anchor header now).
func New(ctx context.Context, opts Options) (*Client, error) {
	node := NormalizeURL(opts.Node)
	if node == "" {
		return nil, errors.New("lightverify: no node URL")
	}
	rc, err := newRPC(node)
	if err != nil {
		return nil, err
	}
	c := &Client{node: node, rpc: rc, insecure: opts.Insecure, wait: opts.HeaderWait, now: opts.Now,
		hashes: map[int64][]byte{}}
	if c.wait <= 0 {
		c.wait = time.Minute
	}
	if c.now == nil {
		c.now = time.Now
	}
	st, err := rc.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("lightverify: cannot reach node %s: %w", node, err)
	}
	c.chainID = st.NodeInfo.Network
	if opts.Insecure {
		if opts.ChainID != "" && opts.ChainID != c.chainID {
			return nil, fmt.Errorf("lightverify: node %s is on chain %q, not %q", node, c.chainID, opts.ChainID)
		}
		c.anchor = "none (verification off)"
		return c, nil
	}
	a, err := resolveAnchor(ctx, opts, node, c.now())
	if err != nil {
		return nil, err
	}
	c.chainID, c.anchor, c.period = a.chainID, a.describe, a.period
	c.witnessURLs = opts.Witnesses
	c.store = lightdb.New(dbm.NewMemDB(), "audit")
	primary, witnesses, err := c.providers()
	if err != nil {
		return nil, err
	}
	lc, err := light.NewClient(ctx, a.chainID,
		light.TrustOptions{Period: a.period, Height: a.height, Hash: a.hash},
		primary, witnesses, c.store, lightOptions()...)
	if err != nil {
		return nil, c.lightError(a.height, err)
	}
	c.lc = lc
	return c, nil
}

// NormalizeURL gives a node address its scheme: "127.0.0.1:26657" and
// "tcp://127.0.0.1:26657" become "http://127.0.0.1:26657".
func NormalizeURL(url string) string {
	url = strings.TrimRight(strings.TrimSpace(url), "/")
	switch {
	case url == "":
		return ""
	case strings.HasPrefix(url, "tcp://"):
		return "http://" + strings.TrimPrefix(url, "tcp://")
	case !strings.Contains(url, "://"):
		return "http://" + url
	}
	return url
}

// Node is the URL of the node answers come from.
func (c *Client) Node() string { return c.node }

// ChainID is the chain the client reads.
func (c *Client) ChainID() string { return c.chainID }

// Verified reports whether answers are verified (false with Insecure).
func (c *Client) Verified() bool { return !c.insecure }

// Anchor describes the trust anchor, for output.
func (c *Client) Anchor() string { return c.anchor }

// Latest returns the node's latest block height (unverified; answers
// carry their own heights).
func (c *Client) Latest(ctx context.Context) (int64, error) {
	st, err := c.rpc.Status(ctx)
	if err != nil {
		return 0, fmt.Errorf("lightverify: status of node %s: %w", c.node, err)
	}
	return st.SyncInfo.LatestBlockHeight, nil
}

// AppHash returns the app hash committing to the state after block
// height: the AppHash of header height+1, verified by the light client
// (unverified with Insecure). It waits up to HeaderWait for that block.
func (c *Client) AppHash(ctx context.Context, height int64) ([]byte, error) {
	if height < 1 {
		return nil, fmt.Errorf("lightverify: node %s claims height %d", c.node, height)
	}
	c.mu.Lock()
	h, ok := c.hashes[height]
	c.mu.Unlock()
	if ok {
		return h, nil
	}
	if err := c.waitBlock(ctx, height+1); err != nil {
		return nil, err
	}
	if c.insecure {
		hh := height + 1
		res, err := c.rpc.Header(ctx, &hh)
		if err != nil {
			return nil, fmt.Errorf("lightverify: header %d from node %s: %w", hh, c.node, err)
		}
		if res.Header == nil {
			return nil, fmt.Errorf("lightverify: node %s has no header %d", c.node, hh)
		}
		h = res.Header.AppHash
	} else {
		c.mu.Lock()
		lb, err := c.lc.VerifyLightBlockAtHeight(ctx, height+1, c.now())
		if err != nil && ctx.Err() == nil && !verificationFailure(err) {
			// Not reached, rather than lied to: start again from the
			// headers verified so far, once.
			if rerr := c.rebuild(); rerr == nil {
				lb, err = c.lc.VerifyLightBlockAtHeight(ctx, height+1, c.now())
			}
		}
		c.mu.Unlock()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, c.lightError(height+1, err)
		}
		h = lb.AppHash
	}
	c.mu.Lock()
	if _, ok := c.hashes[height]; !ok {
		c.hashes[height] = h
		c.order = append(c.order, height)
		if len(c.order) > maxCachedHashes {
			delete(c.hashes, c.order[0])
			c.order = c.order[1:]
		}
	}
	c.mu.Unlock()
	return h, nil
}

// waitBlock waits until the node has block height.
func (c *Client) waitBlock(ctx context.Context, height int64) error {
	deadline := time.Now().Add(c.wait)
	for {
		latest, err := c.Latest(ctx)
		if err != nil {
			return err
		}
		if latest >= height {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("lightverify: node %s did not make block %d, whose header proves its answer, within %s (is the network making blocks?)",
				c.node, height, c.wait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
