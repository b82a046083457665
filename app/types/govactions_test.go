package types

import (
	"reflect"
	"testing"
)

// Every action of GovAction's oneof has a name of its own.
func TestGovActionNames(t *testing.T) {
	seen := map[string]string{}
	for _, w := range (&GovAction{}).XXX_OneofWrappers() {
		typ := reflect.TypeOf(w).Elem().Name()
		a := &GovAction{}
		reflect.ValueOf(a).Elem().FieldByName("Action").Set(reflect.ValueOf(w))
		name := GovActionName(a)
		if name == ActionUnknown || name == "" {
			t.Errorf("%s has no name", typ)
		}
		if prev, dup := seen[name]; dup {
			t.Errorf("%s and %s are both %q", prev, typ, name)
		}
		seen[name] = typ
	}
	if len(seen) < 9 {
		t.Fatalf("only %d actions", len(seen))
	}
	if GovActionName(nil) != ActionUnknown || GovActionName(&GovAction{}) != ActionUnknown {
		t.Fatal("no action should be unknown")
	}
}
