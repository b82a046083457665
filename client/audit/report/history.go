package report

import (
	"context"
	"encoding/hex"
	"fmt"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/client/audit/lightverify"
)

// Kinds of history entries, as auditors group them.
const (
	KindCorrection  = "correction"
	KindSuccession  = "succession"
	KindRevocation  = "revocation"
	KindSettlement  = "settlement"
	KindProvider    = "provider"
	KindProgram     = "program"
	KindAttestation = "attestation"
	KindNodes       = "nodes"
)

// HistoryItem is one government action as applied.
type HistoryItem struct {
	Key       string `json:"key"`
	Sequence  uint64 `json:"sequence"`
	Height    int64  `json:"height"`
	Time      int64  `json:"time"`
	Kind      string `json:"kind"`
	Action    string `json:"action"`
	Summary   string `json:"summary"`
	Program   string `json:"program,omitempty"`
	Provider  string `json:"provider,omitempty"`
	MyKeyID   string `json:"mykey_id,omitempty"`
	AmountYen int64  `json:"amount_yen,omitempty"`
	Reference string `json:"reference,omitempty"`
	// Certificates are the indexes (hex) of the certificates a revocation
	// or succession named: the ledger keeps only these keyed hashes, never
	// the certificates' issuers and serials.
	Certificates []string            `json:"certificates,omitempty"`
	ProvedAt     int64               `json:"proved_at"`
	Entry        *types.HistoryEntry `json:"-"`
}

// History is the government's actions up to a height.
type History struct {
	Height int64 // entries with a sequence below the next sequence at this height
	Items  []*HistoryItem
	Later  int // entries applied after Height, left out
	// Missing are mismatches: sequence numbers without an entry.
	Missing []Mismatch
}

// ReadHistory reads every history entry applied by t.Height (sequences
// 1 .. t.Gov.NextSequence-1), each verified at its page's height, and
// checks none is missing.
func ReadHistory(ctx context.Context, src Source, t *Totals) (*History, error) {
	h := &History{Height: t.Height}
	next := t.Gov.NextSequence
	want := uint64(1)
	err := readPages(ctx, src, types.PrefixHistory, func(page *lightverify.Page) error {
		for _, r := range page.Records {
			var e types.HistoryEntry
			if err := decode(r, &e); err != nil {
				return err
			}
			if r.Key != fmt.Sprintf("%s%016x", types.PrefixHistory, e.Sequence) {
				h.Missing = append(h.Missing, Mismatch{Check: "history record", Records: []string{r.Key},
					Detail: fmt.Sprintf("the entry under %s has sequence %d", r.Key, e.Sequence)})
				continue
			}
			if e.Sequence >= next {
				h.Later++
				continue
			}
			for ; want < e.Sequence; want++ {
				h.Missing = append(h.Missing, missing(want, t.Height))
			}
			want = e.Sequence + 1
			h.Items = append(h.Items, describe(r.Key, &e, r.Height))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for ; want < next; want++ {
		h.Missing = append(h.Missing, missing(want, t.Height))
	}
	return h, nil
}

func missing(seq uint64, height int64) Mismatch {
	return Mismatch{Check: "history complete", Records: []string{fmt.Sprintf("%s%016x", types.PrefixHistory, seq), types.PrefixGov},
		Detail: fmt.Sprintf("government action %d was applied by height %d (gov.next_sequence) but the node gave no history entry for it", seq, height)}
}

// describe names what a history entry did.
func describe(key string, e *types.HistoryEntry, provedAt int64) *HistoryItem {
	it := &HistoryItem{Key: key, Sequence: e.Sequence, Height: e.Height, Time: e.Time, Summary: e.Summary, ProvedAt: provedAt, Entry: e,
		Action: types.GovActionName(e.Action)}
	if e.Action == nil {
		return it
	}
	switch a := e.Action.Action.(type) {
	case *types.GovAction_RegisterProvider:
		it.Kind = KindProvider
		if a.RegisterProvider.Provider != nil {
			it.Provider = a.RegisterProvider.Provider.Id
		}
	case *types.GovAction_UpdateProvider:
		it.Kind, it.Provider = KindProvider, a.UpdateProvider.ProviderId
	case *types.GovAction_SetProgram:
		it.Kind = KindProgram
		if a.SetProgram.Program != nil {
			it.Program = a.SetProgram.Program.Id
		}
	case *types.GovAction_RevokeCertificates:
		it.Kind, it.Reference = KindRevocation, a.RevokeCertificates.Reason
		for _, c := range a.RevokeCertificates.Certificates {
			it.Certificates = append(it.Certificates, hex.EncodeToString(c.GetIndex()))
		}
	case *types.GovAction_Succession:
		it.Kind, it.Reference = KindSuccession, a.Succession.Reason
		it.Certificates = []string{hex.EncodeToString(a.Succession.OldCert.GetIndex()), hex.EncodeToString(a.Succession.NewCert.GetIndex())}
	case *types.GovAction_AttestEligibility:
		it.Kind, it.Program = KindAttestation, a.AttestEligibility.ProgramId
	case *types.GovAction_Settle:
		s := a.Settle
		it.Kind, it.Program, it.Provider, it.AmountYen, it.Reference = KindSettlement, s.ProgramId, s.ProviderId, s.AmountYen, s.Reference
	case *types.GovAction_CorrectLinkage:
		c := a.CorrectLinkage
		it.Kind, it.Program, it.MyKeyID, it.Provider, it.Reference = KindCorrection, c.ProgramId, c.MykeyId, c.ToProviderId, c.IncidentRef
	case *types.GovAction_SetNodes:
		// The owner's P2P node IDs: which nodes may connect to the
		// consortium's network.
		it.Kind, it.Provider = KindNodes, a.SetNodes.Owner
	}
	return it
}
