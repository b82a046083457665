package types

import "strings"

// The names of the enums and kinds, as the ledger's events, its genesis
// document and its clients write them: one mapping for each, here.

// enumName is the lower-case name of an enum value without its type's
// prefix: PROGRAM_KIND_FIXED → "fixed". A value without a name gives its
// number.
func enumName(s, prefix string) string {
	return strings.ToLower(strings.TrimPrefix(s, prefix))
}

// enumValue is the value named name (as enumName gives it) in values, and
// whether name names a value other than the unspecified zero.
func enumValue(name, prefix string, values map[string]int32) (int32, bool) {
	if name == "" || name != strings.ToLower(name) {
		return 0, false
	}
	v, ok := values[prefix+strings.ToUpper(name)]
	return v, ok && v != 0
}

// Name is the program kind's name: "percent_of_charge", "fixed" (or
// "unspecified").
func (k ProgramKind) Name() string { return enumName(k.String(), "PROGRAM_KIND_") }

// ProgramKindNamed is the program kind of a name, and whether it names one.
func ProgramKindNamed(name string) (ProgramKind, bool) {
	v, ok := enumValue(name, "PROGRAM_KIND_", ProgramKind_value)
	return ProgramKind(v), ok
}

// Name is the provider status's name: "active", "suspended" (or
// "unspecified").
func (s ProviderStatus) Name() string { return enumName(s.String(), "PROVIDER_STATUS_") }

// ProviderStatusNamed is the provider status of a name, and whether it
// names one.
func ProviderStatusNamed(name string) (ProviderStatus, bool) {
	v, ok := enumValue(name, "PROVIDER_STATUS_", ProviderStatus_value)
	return ProviderStatus(v), ok
}

// Name is the linkage status's name: "active", "voided" (or
// "unspecified").
func (s LinkStatus) Name() string { return enumName(s.String(), "LINK_STATUS_") }

// LinkStatusOf names the state of a person's linkage: its status's name,
// or "none" when there is no linkage.
func LinkStatusOf(l *Linkage) string {
	if l == nil {
		return "none"
	}
	return l.Status.Name()
}

// Name is the correction kind's name: "void", "move" (or "unspecified").
func (k CorrectionKind) Name() string { return enumName(k.String(), "CORRECTION_KIND_") }

// The kinds of a linkage's history entries (LinkEvent.Kind).
const (
	LinkEventLinked        = "linked"          // linked by the person's signed request
	LinkEventVoided        = "voided"          // voided by a government correction
	LinkEventMovedFrom     = "moved_from"      // moved away by a government correction
	LinkEventMovedTo       = "moved_to"        // ... and the linkage it became
	LinkEventVoidedByMerge = "voided_by_merge" // the later of two linkages of merged MyKey IDs
	LinkEventMergedAway    = "merged_away"     // the merged-away ID's linkage
	LinkEventMergedIn      = "merged_in"       // ... as the surviving ID's linkage
)
