package types

import (
	"fmt"
	"testing"

	cmttypes "github.com/cometbft/cometbft/types"
)

func TestCodesUnique(t *testing.T) {
	codes, names := map[uint32]string{}, map[string]uint32{}
	for _, e := range Codes() {
		if e.Code == 0 {
			t.Fatalf("%s uses code 0 (success)", e.Name)
		}
		if prev, ok := codes[e.Code]; ok {
			t.Fatalf("code %d used by %s and %s", e.Code, prev, e.Name)
		}
		if prev, ok := names[e.Name]; ok {
			t.Fatalf("name %s used by codes %d and %d", e.Name, prev, e.Code)
		}
		codes[e.Code], names[e.Name] = e.Name, e.Code
		if e.Msg == "" {
			t.Fatalf("code %d has no message", e.Code)
		}
	}
	if len(codes) < 20 {
		t.Fatalf("only %d codes registered", len(codes))
	}
	if c, l := ABCIInfo(fmt.Errorf("disk on fire")); c != ErrInternal.Code || l != ErrInternal.Msg {
		t.Fatalf("unknown error became %d %q", c, l)
	}
	if c, _ := ABCIInfo(fmt.Errorf("wrapped: %w", ErrCapReached.Wrapf("x"))); c != ErrCapReached.Code {
		t.Fatalf("wrapped rejection became %d", c)
	}
}

func TestMaxTotalPowerIsCometBFTs(t *testing.T) {
	if MaxTotalPower != cmttypes.MaxTotalVotingPower {
		t.Fatalf("MaxTotalPower %d, CometBFT's MaxTotalVotingPower %d", int64(MaxTotalPower), cmttypes.MaxTotalVotingPower)
	}
}
