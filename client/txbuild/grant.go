package txbuild

import (
	"fmt"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/internal/keyfile"
)

// Size limits of the transactions built here. CometBFT refuses
// transactions above mempool.max_tx_bytes (1 MiB by default) and RPC
// requests above rpc.max_body_bytes (1 MB, and a transaction travels in
// base64), so batches stay well below both.
const (
	// DefaultChargesPerTx is the default number of charges in a grant.
	DefaultChargesPerTx = 1000
	// MaxTxBytes bounds the encoded size of a built transaction.
	MaxTxBytes = 512 << 10
)

// Signed is a built transaction and what it carries.
type Signed struct {
	Tx []byte
	// First and N say which items (charges or links) of the input it
	// carries: items[First : First+N].
	First, N int
}

// GrantTxs signs the charges as grants of the key's provider, at most
// perTx charges (and MaxTxBytes) per transaction, in order.
func GrantTxs(key *keyfile.Key, chainID string, charges []*types.Charge, perTx int) ([]Signed, error) {
	if perTx <= 0 || perTx > types.MaxChargesPerTx {
		return nil, fmt.Errorf("txbuild: %d charges per transaction: use 1-%d", perTx, types.MaxChargesPerTx)
	}
	var out []Signed
	for first := 0; first < len(charges); {
		n, size := 0, 0
		for first+n < len(charges) && n < perTx {
			s := charges[first+n].Size() + 8
			if n > 0 && size+s > MaxTxBytes-1024 {
				break
			}
			size += s
			n++
		}
		tx, err := GrantTx(key, chainID, charges[first:first+n])
		if err != nil {
			return nil, err
		}
		out = append(out, Signed{Tx: tx, First: first, N: n})
		first += n
	}
	return out, nil
}

// GrantTx signs one grant of the charges by the key's provider.
func GrantTx(key *keyfile.Key, chainID string, charges []*types.Charge) ([]byte, error) {
	if key.Role != keyfile.RoleProvider {
		return nil, fmt.Errorf("txbuild: key %q is a %s key, not a provider's grant key", key.ID, key.Role)
	}
	g := &types.Grant{ChainId: chainID, ProviderId: key.ID, Charges: charges}
	return types.EncodeTx(types.WrapGrant(&types.SignedGrant{Grant: g, Signature: key.Sign(g.SignBytes())}))
}

// LinkBatchTxs signs citizen-signed links as the key's provider's link
// batches, within types.MaxLinksPerBatch and MaxTxBytes each, in order.
func LinkBatchTxs(key *keyfile.Key, chainID string, links []*types.SignedLink) ([]Signed, error) {
	if key.Role != keyfile.RoleProvider {
		return nil, fmt.Errorf("txbuild: key %q is a %s key, not a provider's grant key", key.ID, key.Role)
	}
	var out []Signed
	for first := 0; first < len(links); {
		n, size := 0, 0
		for first+n < len(links) && n < types.MaxLinksPerBatch {
			s := links[first+n].Size() + 8
			if n > 0 && size+s > MaxTxBytes-1024 {
				break
			}
			size += s
			n++
		}
		b := &types.LinkBatch{ChainId: chainID, ProviderId: key.ID, Links: links[first : first+n]}
		tx, err := types.EncodeTx(types.WrapLinkBatch(&types.SignedLinkBatch{Batch: b, Signature: key.Sign(b.SignBytes())}))
		if err != nil {
			return nil, fmt.Errorf("txbuild: encode link batch: %w", err)
		}
		out = append(out, Signed{Tx: tx, First: first, N: n})
		first += n
	}
	return out, nil
}
