package types

import "testing"

func TestEnumNames(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{ProgramKind_PROGRAM_KIND_PERCENT_OF_CHARGE.Name(), "percent_of_charge"},
		{ProgramKind_PROGRAM_KIND_FIXED.Name(), "fixed"},
		{ProgramKind_PROGRAM_KIND_UNSPECIFIED.Name(), "unspecified"},
		{ProviderStatus_PROVIDER_STATUS_ACTIVE.Name(), "active"},
		{ProviderStatus_PROVIDER_STATUS_SUSPENDED.Name(), "suspended"},
		{LinkStatus_LINK_STATUS_ACTIVE.Name(), "active"},
		{LinkStatus_LINK_STATUS_VOIDED.Name(), "voided"},
		{LinkStatusOf(nil), "none"},
		{CorrectionKind_CORRECTION_KIND_VOID.Name(), "void"},
		{CorrectionKind_CORRECTION_KIND_MOVE.Name(), "move"},
		{ProgramKind(7).Name(), "7"},
	} {
		if c.got != c.want {
			t.Errorf("name %q, want %q", c.got, c.want)
		}
	}
	for k := range ProgramKind_name {
		kind := ProgramKind(k)
		back, ok := ProgramKindNamed(kind.Name())
		if ok != (kind != ProgramKind_PROGRAM_KIND_UNSPECIFIED) || (ok && back != kind) {
			t.Errorf("%v: named %q reads back as %v, %v", kind, kind.Name(), back, ok)
		}
	}
	for _, bad := range []string{"", "FIXED", "Fixed", "unspecified", "percent"} {
		if _, ok := ProgramKindNamed(bad); ok {
			t.Errorf("%q names a program kind", bad)
		}
	}
	if s, ok := ProviderStatusNamed("suspended"); !ok || s != ProviderStatus_PROVIDER_STATUS_SUSPENDED {
		t.Errorf("suspended: %v %v", s, ok)
	}
}
