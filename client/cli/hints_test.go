package cli

import (
	"testing"

	"github.com/mykeyledger/mykey/app/types"
)

// Every code the ledger can answer comes with what to do next.
func TestEveryCodeHasAHint(t *testing.T) {
	for _, e := range types.Codes() {
		if hints[e.Code] == "" {
			t.Errorf("code %d (%s) has no hint in client/cli/errors.go", e.Code, types.CodeName(e.Code))
		}
	}
}
