package cli

import (
	"context"
	"crypto/x509"

	"github.com/spf13/cobra"

	"github.com/mykeyledger/mykey/app/jpki"
	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/client/cardcmd"
	"github.com/mykeyledger/mykey/client/rpc"
)

// newCardCmds mounts the card side's commands (package cardcmd): card
// info (with the ledger lookup of the MyKey ID), card emulate, testca.
func newCardCmds(c *cmdCtx) []*cobra.Command {
	lookup := func(ctx context.Context, cert *x509.Certificate) (string, error) {
		return c.mykeyOf(ctx, jpki.IDOf(cert).Fingerprint())
	}
	return []*cobra.Command{cardcmd.NewCardCmd(lookup), cardcmd.NewTestCACmd()}
}

// mykeyOf returns the MyKey ID the ledger issued for the certificate with
// this fingerprint ("" if none), following a merge to the surviving ID.
func (c *cmdCtx) mykeyOf(ctx context.Context, fingerprint string) (string, error) {
	n, err := c.node()
	if err != nil {
		return "", err
	}
	var cr types.CertRecord
	a, err := rpc.Get(ctx, n, rpc.KeyCert(fingerprint), &cr, false)
	if err != nil || !a.Found || cr.MykeyId == "" {
		return "", err
	}
	id := cr.MykeyId
	for range 8 { // merges chain rarely; bound the walk anyway
		var mk types.MyKeyRecord
		a, err := rpc.Get(ctx, n, rpc.KeyMyKey(id), &mk, false)
		if err != nil {
			return "", err
		}
		if !a.Found || mk.MergedInto == "" {
			break
		}
		id = mk.MergedInto
	}
	return id, nil
}
