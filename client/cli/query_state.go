package cli

import (
	"context"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/client/rpc"
	"github.com/mykeyledger/mykey/client/txbuild"
)

// PersonJSON is the --json output of `mykey query person`.
type PersonJSON struct {
	AnswerJSON
	ProgramID    string `json:"program_id"`
	MyKeyID      string `json:"mykey_id"`
	GrantedYen   int64  `json:"granted_yen"`
	RecoveredYen int64  `json:"recovered_yen"`
	Attested     bool   `json:"attested"`
}

func (q *querier) personCmd() *cobra.Command {
	var program, mykey string
	cmd := &cobra.Command{
		Use:   "person --program ID --mykey ID",
		Short: "What a person has been granted in a program",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			id := strings.ToUpper(mykey)
			if !txbuild.ValidID(program) || !txbuild.ValidMyKeyID(id) {
				return usageErr("--program and --mykey are required")
			}
			var p types.PersonTotals
			a, err := q.get(cmd.Context(), rpc.KeyPerson(program, id), &p,
				fmt.Sprintf("grant or attestation for MyKey ID %s in program %q", id, program))
			if err != nil {
				return err
			}
			out := PersonJSON{AnswerJSON: a, ProgramID: program, MyKeyID: id, GrantedYen: p.GrantedYen,
				RecoveredYen: p.RecoveredYen, Attested: p.Attested}
			return q.output(out, out.AnswerJSON, func(w io.Writer) {
				fmt.Fprintf(w, "MyKey ID %s in program %q: granted %s", id, program, txbuild.Yen(out.GrantedYen))
				if out.RecoveredYen > 0 {
					fmt.Fprintf(w, ", %s to recover (over-grant)", txbuild.Yen(out.RecoveredYen))
				}
				if out.Attested {
					fmt.Fprint(w, ", attested eligible")
				}
				fmt.Fprintln(w)
			})
		},
	}
	cmd.Flags().StringVar(&program, "program", "", "program ID")
	cmd.Flags().StringVar(&mykey, "mykey", "", "MyKey ID")
	return cmd
}

// ProviderTotalsJSON is the --json output of `mykey query totals
// --provider`.
type ProviderTotalsJSON struct {
	AnswerJSON
	ProgramID      string `json:"program_id"`
	ProviderID     string `json:"provider_id"`
	GrantedYen     int64  `json:"granted_yen"`
	SettledYen     int64  `json:"settled_yen"`
	RecoveredYen   int64  `json:"recovered_yen"`
	OutstandingYen int64  `json:"outstanding_yen"` // granted − settled − recovered
	Grants         int64  `json:"grants"`
	Linked         int64  `json:"linked"`
}

func (q *querier) totalsCmd() *cobra.Command {
	var program, provider string
	cmd := &cobra.Command{
		Use:   "totals --program ID --provider ID",
		Short: "A provider's totals in a program: granted, settled, outstanding",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !txbuild.ValidID(program) || !txbuild.ValidID(provider) {
				return usageErr("--program and --provider are required (mykey query program ID shows a program's totals)")
			}
			var t types.ProviderTotals
			a, err := q.get(cmd.Context(), rpc.KeyProviderTotals(program, provider), &t,
				fmt.Sprintf("totals of provider %q in program %q", provider, program))
			if err != nil {
				return err
			}
			out := ProviderTotalsJSON{AnswerJSON: a, ProgramID: program, ProviderID: provider, GrantedYen: t.GrantedYen,
				SettledYen: t.SettledYen, RecoveredYen: t.RecoveredYen, OutstandingYen: t.GrantedYen - t.SettledYen - t.RecoveredYen,
				Grants: t.Grants, Linked: t.Linked}
			return q.output(out, out.AnswerJSON, func(w io.Writer) {
				fmt.Fprintf(w, "provider %q in program %q: %d linked, %d grants\ngranted %s, settled %s, recovered %s, outstanding %s\n",
					provider, program, out.Linked, out.Grants, txbuild.Yen(out.GrantedYen), txbuild.Yen(out.SettledYen),
					txbuild.Yen(out.RecoveredYen), txbuild.Yen(out.OutstandingYen))
			})
		},
	}
	cmd.Flags().StringVar(&program, "program", "", "program ID")
	cmd.Flags().StringVar(&provider, "provider", "", "provider ID")
	return cmd
}

// CertRecordJSON is the --json output of `mykey query cert`.
type CertRecordJSON struct {
	AnswerJSON
	CertJSON
	MyKeyID       string `json:"mykey_id"`
	Revoked       bool   `json:"revoked"`
	RevokedHeight int64  `json:"revoked_height,omitempty"`
	RevokeReason  string `json:"revoke_reason,omitempty"`
}

// needsFullRPC explains a certificate lookup that failed: only a
// validator's node, holding the network pseudonym key, can find a
// certificate's record.
const needsFullRPC = "a certificate's record can only be found through a validator's full RPC (--node): the ledger keeps it under a keyed hash only the validators can compute, and the public endpoint does not serve it"

// certRecord asks the node for the record of the certificate ref names.
// The node computes the certificate's index (types.CertIndexPath); the
// answer, proved when prove is set, is the record under that index.
func certRecord(ctx context.Context, n rpc.Node, ref *types.CertRef, cr *types.CertRecord, prove bool) (*rpc.Answer, error) {
	bz, err := ref.Marshal()
	if err != nil {
		return nil, err
	}
	res, err := n.Query(ctx, types.CertIndexPath+"/"+hex.EncodeToString(bz), prove)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, needsFullRPC)
	}
	if res.Code != 0 {
		return nil, fmt.Errorf("rpc: %s refused the certificate lookup: %s (code %d); %s", n.URL(), res.Log, res.Code, needsFullRPC)
	}
	key := string(res.Key)
	if !strings.HasPrefix(key, rpc.KeyCert("")) {
		return nil, fmt.Errorf("rpc: %s answered the certificate lookup with record %q, not a certificate's", n.URL(), key)
	}
	a := &rpc.Answer{Key: key, Height: res.Height, Found: rpc.Found(res)}
	if prove {
		if err := rpc.Verify(ctx, n, key, res); err != nil {
			return nil, err
		}
		a.Verified = true
	}
	if a.Found {
		if err := cr.Unmarshal(res.Value); err != nil {
			return nil, fmt.Errorf("rpc: record %s does not decode: %w", key, err)
		}
	}
	return a, nil
}

func (q *querier) certCmd() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "cert --cert FILE",
		Short: "What the ledger knows of a card certificate: MyKey ID, revocation (needs a validator's full RPC)",
		Long: `cert shows the ledger's record of a card certificate: its MyKey ID and
whether it is revoked. The ledger keeps certificate records under a keyed
hash of the certificate's issuer and serial that only the validators can
compute (so that no one holding a card's certificate can find its MyKey ID),
so --node must be a validator's (or its sentry's) full RPC: the public
endpoint refuses this query.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" {
				return usageErr("give the certificate with --cert FILE")
			}
			ref, err := certRefFromFile(file)
			if err != nil {
				return err
			}
			if _, err := q.c.status(cmd.Context()); err != nil {
				return err
			}
			var cr types.CertRecord
			a, err := certRecord(cmd.Context(), q.c.n, ref, &cr, *q.prove)
			if err != nil {
				return err
			}
			cj := certJSON(ref)
			cj.Index = strings.TrimPrefix(a.Key, rpc.KeyCert(""))
			ans, err := q.answer(a, "record of certificate "+cj.Fingerprint)
			if err != nil {
				return err
			}
			out := CertRecordJSON{AnswerJSON: ans, CertJSON: cj, MyKeyID: cr.MykeyId, Revoked: cr.Revoked,
				RevokedHeight: cr.RevokedHeight, RevokeReason: cr.RevokeReason}
			return q.output(out, out.AnswerJSON, func(w io.Writer) {
				fmt.Fprintf(w, "certificate %s\nissuer: %s\nserial: %s\nledger index: %s\nMyKey ID: %s\n",
					out.Fingerprint, out.Issuer, out.Serial, out.Index, orNone(out.MyKeyID))
				if out.Revoked {
					fmt.Fprintf(w, "REVOKED in block %d: %s\n", out.RevokedHeight, out.RevokeReason)
				}
			})
		},
	}
	cmd.Flags().StringVar(&file, "cert", "", "certificate file (PEM or DER)")
	return cmd
}

// GovStateJSON is the --json output of `mykey query gov`.
type GovStateJSON struct {
	AnswerJSON
	ChainID      string   `json:"chain_id"`
	NextSequence uint64   `json:"next_sequence"`
	Threshold    uint32   `json:"threshold"`
	Keys         []string `json:"keys"` // hex
	TrustAnchors int      `json:"trust_anchors"`
}

func (q *querier) govCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "gov",
		Short: "The government's keys, threshold and next sequence number",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var gs types.GovState
			a, err := q.get(cmd.Context(), rpc.KeyGov(), &gs, "government record")
			if err != nil {
				return err
			}
			out := GovStateJSON{AnswerJSON: a, ChainID: gs.ChainId, NextSequence: gs.NextSequence, Threshold: gs.Threshold,
				Keys: []string{}, TrustAnchors: len(gs.TrustAnchors)}
			for _, k := range gs.Keys {
				out.Keys = append(out.Keys, hex.EncodeToString(k))
			}
			return q.output(out, out.AnswerJSON, func(w io.Writer) {
				fmt.Fprintf(w, "chain %s: government actions need %d of %d keys; next sequence %d; %d trust anchor(s)\n",
					out.ChainID, out.Threshold, len(out.Keys), out.NextSequence, out.TrustAnchors)
				for _, k := range out.Keys {
					fmt.Fprintf(w, "  key %s\n", k)
				}
			})
		},
	}
}

// TxJSON is the --json output of `mykey query tx`.
type TxJSON struct {
	TxHash string     `json:"tx_hash"`
	Height int64      `json:"height"`
	Code   uint32     `json:"code"`
	Reason string     `json:"reason,omitempty"`
	Log    string     `json:"log"`
	Items  []ItemJSON `json:"items"`
}

// ItemJSON is one judged item of a transaction (its event).
type ItemJSON struct {
	Type  string            `json:"type"`
	Attrs map[string]string `json:"attributes"`
}

func (q *querier) txCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "tx HASH",
		Short: "A committed transaction's result and the outcome of each item",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			hash, err := hex.DecodeString(args[0])
			if err != nil || len(hash) != 32 {
				return usageErr("%q is not a transaction hash (64 hex digits)", args[0])
			}
			if _, err := q.c.status(ctx); err != nil {
				return err
			}
			t, err := q.c.n.Tx(ctx, hash)
			if err != nil {
				return err
			}
			if t == nil {
				return notFound("transaction %X is not in a block (it may be waiting in a mempool, or have been refused)", hash)
			}
			out := TxJSON{TxHash: strings.ToUpper(args[0]), Height: t.Height, Code: t.Result.Code, Log: t.Result.Log, Items: []ItemJSON{}}
			if out.Code != 0 {
				out.Reason = types.CodeName(out.Code)
			}
			for _, it := range rpc.Items(t.Result.Events) {
				out.Items = append(out.Items, ItemJSON{Type: it.Type, Attrs: it.Attrs})
			}
			return q.c.output(out, func(w io.Writer) {
				fmt.Fprintf(w, "transaction %s in block %d: code %d %s: %s\n", out.TxHash, out.Height, out.Code, out.Reason, out.Log)
				for _, it := range rpc.Items(t.Result.Events) {
					fmt.Fprintf(w, "  %s %s", it.Type, it.Get(types.AttrOutcome))
					for _, k := range []string{types.AttrMyKeyID, types.AttrChargeRef, types.AttrGrantedYen, types.AttrAction, types.AttrReason} {
						if v := it.Get(k); v != "" {
							fmt.Fprintf(w, " %s=%s", k, v)
						}
					}
					fmt.Fprintln(w)
				}
			})
		},
	}
}

// dn formats a DER Name (RFC 4514).
func dn(der []byte) string {
	var rdns pkix.RDNSequence
	if rest, err := asn1.Unmarshal(der, &rdns); err != nil || len(rest) > 0 {
		return hex.EncodeToString(der)
	}
	return rdns.String()
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
