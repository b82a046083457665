package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
)

// Trust is a light-client root of trust for state sync: a height and the
// hash of its header, taken from nodes of the network.
type Trust struct {
	Height int64
	Hash   []byte
}

// TrustFromRPC asks the first server for its latest height H and the
// header at max(1, H-back), and checks that every other server has the
// same header there. back should be at least the network's snapshot
// interval, so that a snapshot newer than the trusted height exists.
func TrustFromRPC(ctx context.Context, servers []string, back int64) (*Trust, error) {
	if len(servers) < 2 {
		return nil, errors.New("node: state sync needs at least two RPC servers, to cross-check the trusted header")
	}
	var t *Trust
	for i, s := range servers {
		c, err := rpchttp.New(normalizeRPC(s))
		if err != nil {
			return nil, fmt.Errorf("node: rpc %s: %w", s, err)
		}
		if i == 0 {
			st, err := c.Status(ctx)
			if err != nil {
				return nil, fmt.Errorf("node: rpc %s: status: %w", s, err)
			}
			h := max(1, st.SyncInfo.LatestBlockHeight-back)
			t = &Trust{Height: h}
		}
		h := t.Height
		com, err := c.Commit(ctx, &h)
		if err != nil {
			return nil, fmt.Errorf("node: rpc %s: commit at height %d: %w", s, h, err)
		}
		hash := com.SignedHeader.Header.Hash()
		if i == 0 {
			t.Hash = hash
		} else if !bytes.Equal(hash, t.Hash) {
			return nil, fmt.Errorf("node: %s and %s disagree on the header at height %d: do not trust them", servers[0], s, h)
		}
	}
	return t, nil
}

// normalizeRPC accepts host:port, tcp:// and http(s):// RPC addresses.
func normalizeRPC(s string) string {
	switch {
	case strings.HasPrefix(s, "http://"), strings.HasPrefix(s, "https://"):
		return s
	case strings.HasPrefix(s, "tcp://"):
		return "http://" + strings.TrimPrefix(s, "tcp://")
	}
	return "http://" + s
}

// EnableStateSync sets the [statesync] section so that the node, started
// with empty data, restores the app from a peer's snapshot verified against
// trust, instead of replaying every block.
func (c *Config) EnableStateSync(servers []string, t *Trust) {
	ss := c.Comet.StateSync
	ss.Enable = true
	ss.RPCServers = nil
	for _, s := range servers {
		ss.RPCServers = append(ss.RPCServers, normalizeRPC(s))
	}
	ss.TrustHeight = t.Height
	ss.TrustHash = fmt.Sprintf("%X", t.Hash)
}
