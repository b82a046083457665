package lightverify

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	cmtmath "github.com/cometbft/cometbft/libs/math"
	"github.com/cometbft/cometbft/light/provider"
	cmttypes "github.com/cometbft/cometbft/types"
)

// ErrNoAnchor is New without a trust anchor and without Insecure.
var ErrNoAnchor = errors.New("lightverify: no trust anchor: give a trusted height and header hash (--trust-height, --trust-hash) " +
	"from a source you trust, or the network's genesis file (--genesis FILE); only --insecure-no-verify reads without one")

// anchor is the header trust starts from.
type anchor struct {
	chainID  string
	height   int64
	hash     []byte
	period   time.Duration
	describe string
}

func resolveAnchor(ctx context.Context, opts Options, node string, now time.Time) (*anchor, error) {
	var gd *cmttypes.GenesisDoc
	if opts.Genesis != "" {
		var err error
		if gd, err = cmttypes.GenesisDocFromFile(opts.Genesis); err != nil {
			return nil, fmt.Errorf("lightverify: genesis file: %w", err)
		}
		if opts.ChainID != "" && opts.ChainID != gd.ChainID {
			return nil, fmt.Errorf("lightverify: genesis %s is of chain %q, not %q", opts.Genesis, gd.ChainID, opts.ChainID)
		}
	}
	chainID := opts.ChainID
	if chainID == "" && gd != nil {
		chainID = gd.ChainID
	}
	switch {
	case opts.TrustHeight > 0:
		if len(opts.TrustHash) != 32 {
			return nil, fmt.Errorf("lightverify: the trusted header hash must be 32 bytes (64 hex digits), got %d bytes", len(opts.TrustHash))
		}
		if chainID == "" {
			// The trusted hash pins the header, and with it the chain ID.
			id, err := nodeChainID(ctx, node)
			if err != nil {
				return nil, err
			}
			chainID = id
		}
		// The light client checks this too; checking first names what
		// is wrong in words.
		p, err := newProvider(chainID, node)
		if err != nil {
			return nil, err
		}
		lb, err := p.LightBlock(ctx, opts.TrustHeight)
		if err != nil {
			return nil, fmt.Errorf("lightverify: the header of block %d from node %s: %w", opts.TrustHeight, node, err)
		}
		if !bytes.Equal(lb.Hash(), opts.TrustHash) {
			return nil, &HeaderError{Node: node, Height: opts.TrustHeight,
				Err: fmt.Errorf("its header has hash %X, not the trusted %X", lb.Hash(), opts.TrustHash)}
		}
		period := opts.TrustPeriod
		if period <= 0 {
			period = DefaultTrustPeriod
		}
		return &anchor{chainID: chainID, height: opts.TrustHeight, hash: opts.TrustHash, period: period,
			describe: fmt.Sprintf("trusted header %d (%s)", opts.TrustHeight, shortHex(opts.TrustHash))}, nil
	case gd != nil:
		return genesisAnchor(ctx, gd, opts, node, now)
	}
	return nil, ErrNoAnchor
}

// genesisAnchor trusts the chain's first block once more than 2/3 of the
// genesis validators' power has signed it.
func genesisAnchor(ctx context.Context, gd *cmttypes.GenesisDoc, opts Options, node string, now time.Time) (*anchor, error) {
	if len(gd.Validators) == 0 {
		return nil, fmt.Errorf("lightverify: genesis %s lists no validators to trust", opts.Genesis)
	}
	vals := make([]*cmttypes.Validator, 0, len(gd.Validators))
	for _, v := range gd.Validators {
		vals = append(vals, cmttypes.NewValidator(v.PubKey, v.Power))
	}
	set := cmttypes.NewValidatorSet(vals)
	height := gd.InitialHeight
	if height < 1 {
		height = 1
	}
	p, err := newProvider(gd.ChainID, node)
	if err != nil {
		return nil, err
	}
	var lb *cmttypes.LightBlock
	deadline := time.Now().Add(time.Minute)
	for {
		lb, err = p.LightBlock(ctx, height)
		if err == nil {
			break
		}
		if !errors.Is(err, provider.ErrHeightTooHigh) && !errors.Is(err, provider.ErrLightBlockNotFound) || time.Now().After(deadline) {
			return nil, &HeaderError{Node: node, Height: height, Err: fmt.Errorf("first block: %w", err)}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	// LightBlock checked the chain ID and that the commit is for this
	// header; what is left is who signed it.
	if err := set.VerifyCommitLightTrusting(gd.ChainID, lb.Commit, cmtmath.Fraction{Numerator: 2, Denominator: 3}); err != nil {
		return nil, &HeaderError{Node: node, Height: height, Err: fmt.Errorf("the genesis validators did not sign this block: %w", err)}
	}
	period := opts.TrustPeriod
	if period <= 0 {
		period = DefaultTrustPeriod
		if age := now.Sub(lb.Time); age > 0 {
			period += age
		}
	}
	return &anchor{chainID: gd.ChainID, height: height, hash: lb.Hash(), period: period,
		describe: fmt.Sprintf("genesis of %s (block %d signed by its %d validators)", gd.ChainID, height, len(vals))}, nil
}

func nodeChainID(ctx context.Context, node string) (string, error) {
	rc, err := newRPC(node)
	if err != nil {
		return "", err
	}
	st, err := rc.Status(ctx)
	if err != nil {
		return "", fmt.Errorf("lightverify: cannot reach node %s: %w", node, err)
	}
	return st.NodeInfo.Network, nil
}

func shortHex(b []byte) string {
	s := hex.EncodeToString(b)
	if len(s) > 16 {
		s = s[:16] + "…"
	}
	return s
}
