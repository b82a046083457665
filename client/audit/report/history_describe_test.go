package report

import (
	"reflect"
	"testing"

	"github.com/mykeyledger/mykey/app/types"
)

// Every kind of government action has a name in the history, so that an
// auditor never reads "unknown" for an action the ledger applied.
func TestDescribeNamesEveryAction(t *testing.T) {
	e := &types.HistoryEntry{Sequence: 3, Action: &types.GovAction{Action: &types.GovAction_SetNodes{
		SetNodes: &types.SetNodes{Owner: "paypay", NodeIds: []string{"00112233445566778899aabbccddeeff00112233"}}}}}
	it := describe("history/0000000000000003", e, 10)
	if it.Action != "set_nodes" || it.Kind != KindNodes || it.Provider != "paypay" {
		t.Fatalf("set_nodes described as %q (kind %q, provider %q)", it.Action, it.Kind, it.Provider)
	}
	// Every kind in the oneof, with an empty body.
	for _, a := range (&types.GovAction{}).XXX_OneofWrappers() {
		w := reflect.New(reflect.TypeOf(a).Elem())
		w.Elem().Field(0).Set(reflect.New(w.Elem().Field(0).Type().Elem()))
		g := &types.GovAction{}
		reflect.ValueOf(g).Elem().FieldByName("Action").Set(w)
		if it := describe("history/x", &types.HistoryEntry{Action: g}, 1); it.Action == "unknown" {
			t.Errorf("%T is described as unknown", a)
		}
	}
}
