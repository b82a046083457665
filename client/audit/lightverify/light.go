package lightverify

import (
	"errors"
	"fmt"
	"time"

	"github.com/cometbft/cometbft/light"
	"github.com/cometbft/cometbft/light/provider"
	lighthttp "github.com/cometbft/cometbft/light/provider/http"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
)

// lightOptions configure every light client: skipping verification at
// CometBFT's default trust level (1/3 of the trusted validators' power
// must sign a header further on), bisecting when that fails.
func lightOptions() []light.Option {
	return []light.Option{light.SkippingVerification(light.DefaultTrustLevel), light.MaxRetryAttempts(3)}
}

// providers returns the light client's primary (the node) and witnesses
// (the node itself when none were given).
func (c *Client) providers() (provider.Provider, []provider.Provider, error) {
	primary, err := newProvider(c.chainID, c.node)
	if err != nil {
		return nil, nil, err
	}
	var witnesses []provider.Provider
	for _, w := range c.witnessURLs {
		p, err := newProvider(c.chainID, NormalizeURL(w))
		if err != nil {
			return nil, nil, err
		}
		witnesses = append(witnesses, p)
	}
	if len(witnesses) == 0 {
		p, err := newProvider(c.chainID, c.node)
		if err != nil {
			return nil, nil, err
		}
		witnesses = append(witnesses, p)
	}
	return primary, witnesses, nil
}

// rebuild makes a new light client from the trusted store, with fresh
// providers: a light client drops a provider that fails to answer, and
// would otherwise stay without any after a network failure.
func (c *Client) rebuild() error {
	primary, witnesses, err := c.providers()
	if err != nil {
		return err
	}
	lc, err := light.NewClientFromTrustedStore(c.chainID, c.period, primary, witnesses, c.store, lightOptions()...)
	if err != nil {
		return err
	}
	c.lc = lc
	return nil
}

// lightError tells a header that failed verification (the node's fault:
// a *HeaderError) from a failure to get one (a plain error).
func (c *Client) lightError(height int64, err error) error {
	var expired light.ErrOldHeaderExpired
	switch {
	case errors.As(err, &expired):
		return fmt.Errorf("lightverify: the trusted header expired at %s (trusting period %s): choose a newer trust anchor or a longer --trust-period: %w",
			expired.At.Format(time.RFC3339), c.period, err)
	case verificationFailure(err):
		return &HeaderError{Node: c.node, Height: height, Err: err}
	}
	return fmt.Errorf("lightverify: cannot get the header of block %d from node %s: %w", height, c.node, err)
}

// verificationFailure reports whether a light client error says a header
// does not verify, rather than that it could not be fetched.
func verificationFailure(err error) bool {
	var (
		invalid     light.ErrInvalidHeader
		failed      light.ErrVerificationFailed
		untrustable light.ErrNewValSetCantBeTrusted
		conflicting light.ErrConflictingHeaders
		bad         provider.ErrBadLightBlock
	)
	return errors.As(err, &invalid) || errors.As(err, &failed) || errors.As(err, &untrustable) ||
		errors.As(err, &conflicting) || errors.As(err, &bad) || errors.Is(err, light.ErrLightClientAttack)
}

func newProvider(chainID, url string) (provider.Provider, error) {
	rc, err := newRPC(url)
	if err != nil {
		return nil, err
	}
	return lighthttp.NewWithClient(chainID, rc), nil
}

// newRPC returns a JSON-RPC client of the node at url. A page of 1000
// proved records can take a while to serve, hence the long timeout.
func newRPC(url string) (*rpchttp.HTTP, error) {
	rc, err := rpchttp.NewWithTimeout(url, 120)
	if err != nil {
		return nil, fmt.Errorf("lightverify: node %q: %w", url, err)
	}
	return rc, nil
}
