package types

// The names of the government actions: the "action" attribute of a "gov"
// event, the action a proposal file names, the action of a history entry.
const (
	ActionRegisterProvider   = "register_provider"
	ActionUpdateProvider     = "update_provider"
	ActionSetProgram         = "set_program"
	ActionRevokeCertificates = "revoke_certificates"
	ActionSuccession         = "succession"
	ActionAttestEligibility  = "attest_eligibility"
	ActionSettle             = "settle"
	ActionCorrectLinkage     = "correct_linkage"
	ActionSetNodes           = "set_nodes"
	// ActionUnknown names an action this version does not know (or none).
	ActionUnknown = "unknown"
)

// GovActionName is the name of a government action.
func GovActionName(a *GovAction) string {
	if a == nil {
		return ActionUnknown
	}
	switch a.Action.(type) {
	case *GovAction_RegisterProvider:
		return ActionRegisterProvider
	case *GovAction_UpdateProvider:
		return ActionUpdateProvider
	case *GovAction_SetProgram:
		return ActionSetProgram
	case *GovAction_RevokeCertificates:
		return ActionRevokeCertificates
	case *GovAction_Succession:
		return ActionSuccession
	case *GovAction_AttestEligibility:
		return ActionAttestEligibility
	case *GovAction_Settle:
		return ActionSettle
	case *GovAction_CorrectLinkage:
		return ActionCorrectLinkage
	case *GovAction_SetNodes:
		return ActionSetNodes
	}
	return ActionUnknown
}
