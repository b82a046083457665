package cli

import (
	"testing"

	"github.com/mykeyledger/mykey/app"
)

// Every code the ledger can answer comes with what to do next.
func TestEveryCodeHasAHint(t *testing.T) {
	for _, e := range app.Codes() {
		if hints[e.Code] == "" {
			t.Errorf("code %d (%s) has no hint in client/cli/errors.go", e.Code, app.CodeName(e.Code))
		}
	}
}
