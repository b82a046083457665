package cli

import (
	"context"
	"crypto/x509"
	"fmt"

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
		return c.mykeyOf(ctx, cert.Raw)
	}
	return []*cobra.Command{cardcmd.NewCardCmd(lookup), cardcmd.NewTestCACmd()}
}

// mykeyOf returns the MyKey ID the ledger issued for the certificate
// (DER) ("" if none), following a merge to the surviving ID. It needs a
// validator's full RPC (see certRecord).
func (c *cmdCtx) mykeyOf(ctx context.Context, certDER []byte) (string, error) {
	ref, err := certRefOf(certDER)
	if err != nil {
		return "", err
	}
	n, err := c.node()
	if err != nil {
		return "", err
	}
	var cr types.CertRecord
	a, err := certRecord(ctx, n, ref, &cr, false)
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

// certRefOf names the certificate (DER) by issuer and serial.
func certRefOf(der []byte) (*types.CertRef, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("the card's certificate does not parse: %w", err)
	}
	id := jpki.IDOf(cert)
	return &types.CertRef{Issuer: id.Issuer, Serial: id.Serial}, nil
}
