package types

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Program kinds, as spelled in the genesis JSON: the kinds' names
// (ProgramKind.Name).
const (
	// KindPercentOfCharge grants floor(charge × rate_bp / 10000), at most
	// cap_yen per person.
	KindPercentOfCharge = "percent_of_charge"
	// KindFixed grants fixed_yen once per person the government attested.
	KindFixed = "fixed"
)

// GenesisState is the application's part of the genesis document: the
// app_state field of CometBFT's genesis.json, and what InitChain receives as
// AppStateBytes. Package genesis reads and writes the whole document; the
// rules on the app state (Validate) are the ledger's, and InitChain applies
// them.
type GenesisState struct {
	Government GenesisGovernment `json:"government"`
	Providers  []GenesisProvider `json:"providers"`
	Programs   []GenesisProgram  `json:"programs"`
	// TrustAnchors are PEM certificates of the JPKI user-authentication CAs;
	// a card's certificate must chain to one of them.
	TrustAnchors []string `json:"trust_anchors"`
	// PseudonymCommitment commits to the network pseudonym key every node
	// holds (app/pseudonym.Commitment): 32 bytes, hex. The key itself is
	// never in genesis.
	PseudonymCommitment HexBytes `json:"pseudonym_commitment"`
}

// GenesisGovernment is the authority that registers providers and programs,
// revokes certificates, settles and corrects. Its transactions need
// Threshold of the Keys' signatures.
type GenesisGovernment struct {
	// Keys are the ed25519 public keys of the authority key holders.
	Keys []HexBytes `json:"keys"`
	// Threshold is k of the k-of-n signatures a government transaction needs.
	Threshold uint32 `json:"threshold"`
	// ValidatorKey is the government's own CometBFT validator ed25519 public
	// key; empty if the government runs no validator.
	ValidatorKey HexBytes `json:"validator_key"`
	// Power is the validator's voting power; > 0 when ValidatorKey is set.
	Power int64 `json:"power"`
	// Name is the moniker of the government's validator, e.g. "government".
	Name string `json:"name"`
	// NodeIDs are the CometBFT node IDs of the government's validator node
	// and its sentries: the only nodes of the government that may join the
	// P2P network (filter_peers).
	NodeIDs []string `json:"node_ids,omitempty"`
}

// GenesisProvider is a payment provider registered at genesis (status
// active).
type GenesisProvider struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// GrantKey is the ed25519 public key that signs grants and link batches.
	GrantKey HexBytes `json:"grant_key"`
	// ValidatorKey is the provider's CometBFT validator ed25519 public key;
	// empty if it runs no validator.
	ValidatorKey HexBytes `json:"validator_key"`
	// Power is the validator's voting power; > 0 when ValidatorKey is set.
	Power int64 `json:"power"`
	// NodeIDs are the CometBFT node IDs of the provider's validator node
	// and its sentries (see GenesisGovernment.NodeIDs).
	NodeIDs []string `json:"node_ids,omitempty"`
}

// GenesisProgram is a bonus program defined at genesis. Times are whole
// seconds (the ledger stores Unix seconds) and are written as RFC 3339.
type GenesisProgram struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Kind is KindPercentOfCharge or KindFixed.
	Kind string `json:"kind"`
	// RateBP is the percent_of_charge rate in basis points (1..10000).
	RateBP int64 `json:"rate_bp"`
	// CapYen is the most a person can be granted. For fixed programs 0
	// means FixedYen.
	CapYen int64 `json:"cap_yen"`
	// FixedYen is the fixed program's amount per attested person.
	FixedYen int64 `json:"fixed_yen"`
	// BudgetYen is the program's total budget.
	BudgetYen int64 `json:"budget_yen"`
	// Links are accepted at block times in [LinkStart, LinkEnd).
	LinkStart time.Time `json:"link_start"`
	LinkEnd   time.Time `json:"link_end"`
	// Grants are accepted for charges made, and recorded, in
	// [GrantStart, GrantEnd).
	GrantStart time.Time `json:"grant_start"`
	GrantEnd   time.Time `json:"grant_end"`
}

// HexBytes is a byte string written in JSON as a lowercase hex string
// (upper case is accepted when reading). An empty string reads as nil.
type HexBytes []byte

// MarshalJSON writes b as a lowercase hex JSON string.
func (b HexBytes) MarshalJSON() ([]byte, error) {
	out := make([]byte, 0, 2+2*len(b))
	out = append(out, '"')
	out = hex.AppendEncode(out, b)
	return append(out, '"'), nil
}

// UnmarshalJSON reads a hex JSON string (or null).
func (b *HexBytes) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		*b = nil
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("want a hex string, got %s", data)
	}
	if s == "" {
		*b = nil
		return nil
	}
	v, err := hex.DecodeString(s)
	if err != nil {
		return fmt.Errorf("bad hex string %q: %v", s, err)
	}
	*b = v
	return nil
}

// String returns b in lowercase hex.
func (b HexBytes) String() string { return hex.EncodeToString(b) }

// Proto returns the provider as the ledger stores it, with status active.
func (p GenesisProvider) Proto() *Provider {
	return &Provider{
		Id:           p.ID,
		Name:         p.Name,
		GrantKey:     bytes.Clone(p.GrantKey),
		ValidatorKey: bytes.Clone(p.ValidatorKey),
		Power:        p.Power,
		Status:       ProviderStatus_PROVIDER_STATUS_ACTIVE,
	}
}

// Proto returns the program as the ledger stores it: times as Unix seconds,
// the kind as the enum, and for a fixed program with no cap, cap_yen =
// fixed_yen. It validates the program first (see Validate) and returns its
// problems as the error.
func (p GenesisProgram) Proto() (*Program, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p.proto(), nil
}

// proto converts without validating.
func (p GenesisProgram) proto() *Program {
	kind, _ := ProgramKindNamed(p.Kind)
	capYen := p.CapYen
	if p.Kind == KindFixed && capYen == 0 {
		capYen = p.FixedYen
	}
	return &Program{
		Id:         p.ID,
		Name:       p.Name,
		Kind:       kind,
		RateBp:     p.RateBP,
		CapYen:     capYen,
		FixedYen:   p.FixedYen,
		LinkStart:  p.LinkStart.Unix(),
		LinkEnd:    p.LinkEnd.Unix(),
		GrantStart: p.GrantStart.Unix(),
		GrantEnd:   p.GrantEnd.Unix(),
		BudgetYen:  p.BudgetYen,
	}
}

// Validate checks one program on its own (the rules GenesisState.Validate
// applies to each program, except uniqueness); field names in its messages
// start with "program.".
func (p GenesisProgram) Validate() error {
	return errors.Join(validateProgram("program", p)...)
}

// GenesisProgramFromProto converts a stored program back; times are UTC. An
// unknown kind becomes its lowercased enum name without the prefix (e.g.
// "unspecified"), which Validate rejects. A nil program gives the zero
// GenesisProgram.
func GenesisProgramFromProto(p *Program) GenesisProgram {
	if p == nil {
		return GenesisProgram{}
	}
	return GenesisProgram{
		ID:         p.Id,
		Name:       p.Name,
		Kind:       p.Kind.Name(),
		RateBP:     p.RateBp,
		CapYen:     p.CapYen,
		FixedYen:   p.FixedYen,
		BudgetYen:  p.BudgetYen,
		LinkStart:  time.Unix(p.LinkStart, 0).UTC(),
		LinkEnd:    time.Unix(p.LinkEnd, 0).UTC(),
		GrantStart: time.Unix(p.GrantStart, 0).UTC(),
		GrantEnd:   time.Unix(p.GrantEnd, 0).UTC(),
	}
}

// DecodeGenesisState decodes app_state JSON (what InitChain gets as
// AppStateBytes) strictly: unknown fields, trailing data and bad JSON are
// errors. Times are normalized to UTC. The result is validated.
func DecodeGenesisState(bz []byte) (*GenesisState, error) {
	if len(bytes.TrimSpace(bz)) == 0 {
		return nil, errors.New("genesis: app_state is empty")
	}
	if bytes.Equal(bytes.TrimSpace(bz), []byte("null")) {
		return nil, errors.New("genesis: app_state is null")
	}
	dec := json.NewDecoder(bytes.NewReader(bz))
	dec.DisallowUnknownFields()
	var a GenesisState
	if err := dec.Decode(&a); err != nil {
		return nil, fmt.Errorf("genesis: app_state: %s", jsonProblem(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("genesis: app_state: bad JSON: unexpected data after the object")
	}
	for i := range a.Programs {
		p := &a.Programs[i]
		p.LinkStart, p.LinkEnd = p.LinkStart.UTC(), p.LinkEnd.UTC()
		p.GrantStart, p.GrantEnd = p.GrantStart.UTC(), p.GrantEnd.UTC()
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	return &a, nil
}

// jsonProblem words a decoding error for an operator.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("bad JSON at byte %d: %s", syn.Offset, strings.TrimPrefix(syn.Error(), "json: "))
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "value"
		}
		return fmt.Sprintf("bad JSON: %s is a JSON %s, want %s", field, typ.Value, typ.Type)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "bad JSON: unexpected end of input"
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if strings.HasPrefix(msg, "unknown field") {
		return msg
	}
	return "bad JSON: " + msg
}
