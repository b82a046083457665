package types

// The events a transaction result carries: one per judged item (a link, a
// charge, a government action) or, for a transaction refused before its
// items were judged, one "rejected" event. Clients (client/rpc.Items) and
// the node's metrics read them back by these names; attributes are indexed
// so that tx_search finds them, e.g.
// tx_search "grant.provider='paypay' AND grant.outcome='accepted'".

// Event types.
const (
	EventLink     = "link"     // one link, alone or in a batch
	EventGrant    = "grant"    // one charge
	EventGov      = "gov"      // one government action
	EventRejected = "rejected" // a whole transaction refused
)

// Event attribute keys.
const (
	AttrOutcome    = "outcome"     // OutcomeAccepted or OutcomeRejected
	AttrCode       = "code"        // result code, 0 when accepted
	AttrReason     = "reason"      // the code's name (CodeName), when rejected
	AttrLog        = "log"         // the rejection's message
	AttrKind       = "kind"        // of a rejected transaction: a TxKind*
	AttrProgram    = "program"     // program ID
	AttrProvider   = "provider"    // provider ID
	AttrMyKeyID    = "mykey_id"    // the person's MyKey ID
	AttrCert       = "cert"        // the certificate's index, hex
	AttrChargeRef  = "charge_ref"  // the provider's charge reference
	AttrAmountYen  = "amount_yen"  // the charge's amount
	AttrGrantedYen = "granted_yen" // the bonus granted for it
	AttrAction     = "action"      // the government action's name (GovActionName)
	AttrSequence   = "sequence"    // the government action's sequence number
	AttrSummary    = "summary"     // what an accepted government action did
)

// Outcomes, the values of AttrOutcome.
const (
	OutcomeAccepted = "accepted"
	OutcomeRejected = "rejected"
)

// Transaction kinds, the values of AttrKind: the body of the transaction.
const (
	TxKindLink      = "link"
	TxKindLinkBatch = "link_batch"
	TxKindGrant     = "grant"
	TxKindGov       = "gov"
	TxKindUnknown   = "unknown"
)
