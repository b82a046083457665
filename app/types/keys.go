package types

import (
	"encoding/hex"
	"fmt"
)

// Store keys: the registry of where each record lives, shared by the state
// machine that writes them and the clients that read and prove them (a
// query path is "/" + key). Every record lives under one of these prefixes; a prefix is
// never reused for another kind of record. Keys are readable strings so that
// a query path and a proof's key path name the same thing. IDs never contain
// "/", so every key is unambiguous. The public endpoint serves only the
// records under PublicRoots; cert/, account/ and charge/
// stay with the validators (docs/DESIGN.md §4).
//
// Times: meta/blocktime holds Unix nanoseconds (the block time exactly as
// CometBFT gave it; CheckTx judges at it after a restart); the times inside
// records (linkage, grant, history, program windows, a link request's
// expiry) are Unix seconds.
const (
	PrefixGov            = "gov"             // GovState
	PrefixMeta           = "meta/"           // the counters and block records below
	PrefixMyKeySeq       = "meta/mykeyseq"   // uint64: MyKey IDs issued
	PrefixEventSeq       = "meta/eventseq"   // uint64: link events and over-grants recorded
	PrefixProvider       = "provider/"       // provider/<id> → Provider
	PrefixProgram        = "program/"        // program/<id> → Program
	PrefixProgramTotals  = "programtotals/"  // programtotals/<program> → ProgramTotals
	PrefixProviderTotals = "providertotals/" // providertotals/<program>/<provider> → ProviderTotals
	PrefixCert           = "cert/"           // cert/<certificate index hex> → CertRecord (app/pseudonym), with its judged link requests
	PrefixMyKey          = "mykey/"          // mykey/<id> → MyKeyRecord
	PrefixLink           = "link/"           // link/<program>/<mykey> → Linkage, with its history
	PrefixAccount        = "account/"        // account/<program>/<provider>/<commitment hex> → MyKey ID
	PrefixPerson         = "person/"         // person/<program>/<mykey> → PersonTotals
	PrefixCharge         = "charge/"         // charge/<program>/<provider>/<ref> → GrantRecord (weight: yen granted)
	PrefixDaily          = "daily/"          // daily/<program>/<provider>/<YYYY-MM-DD, Japan> → DailyTotals
	PrefixOverGrant      = "overgrant/"      // overgrant/<program>/<provider>/<seq> → OverGrant
	PrefixHistory        = "history/"        // history/<sequence> → HistoryEntry
	PrefixValidator      = "validator/"      // validator/<pubkey hex> → owner: a provider ID or "government"
	PrefixBlockTime      = "meta/blocktime"  // int64: last block time, Unix nanoseconds
	PrefixValidators     = "meta/validators" // ValidatorSet: the set CometBFT will use
	PrefixNode           = "node/"           // node/<P2P node ID> → NodeRecord: who runs the node (app/nodes.go)
	PrefixNodeOwner      = "nodeowner/"      // nodeowner/<provider ID or "government"> → NodeList
	PrefixCount          = CountPrefix       // count/<dir> → uint64: records under a counted directory (CountedRoots; cache.countWrites)
)

// The key of each record: the prefixes above with the record's IDs.

func KeyGov() []byte               { return []byte(PrefixGov) }
func KeyMyKeySeq() []byte          { return []byte(PrefixMyKeySeq) }
func KeyEventSeq() []byte          { return []byte(PrefixEventSeq) }
func KeyProvider(id string) []byte { return []byte(PrefixProvider + id) }
func KeyProgram(id string) []byte  { return []byte(PrefixProgram + id) }
func KeyProgramTotals(p string) []byte {
	return []byte(PrefixProgramTotals + p)
}
func KeyProviderTotals(program, provider string) []byte {
	return []byte(PrefixProviderTotals + program + "/" + provider)
}
func KeyCert(index []byte) []byte { return []byte(PrefixCert + hex.EncodeToString(index)) }
func KeyMyKey(id string) []byte   { return []byte(PrefixMyKey + id) }
func KeyLink(program, mykey string) []byte {
	return []byte(PrefixLink + program + "/" + mykey)
}
func KeyAccount(program, provider string, commitment []byte) []byte {
	return []byte(PrefixAccount + program + "/" + provider + "/" + hex.EncodeToString(commitment))
}
func KeyPerson(program, mykey string) []byte {
	return []byte(PrefixPerson + program + "/" + mykey)
}
func KeyCharge(program, provider, ref string) []byte {
	return []byte(PrefixCharge + program + "/" + provider + "/" + ref)
}
func KeyDaily(program, provider, day string) []byte {
	return []byte(PrefixDaily + program + "/" + provider + "/" + day)
}
func KeyOverGrant(program, provider string, seq uint64) []byte {
	return []byte(fmt.Sprintf("%s%s/%s/%016x", PrefixOverGrant, program, provider, seq))
}
func KeyValidators() []byte { return []byte(PrefixValidators) }
func KeyValidator(pubKey []byte) []byte {
	return []byte(PrefixValidator + hex.EncodeToString(pubKey))
}

func KeyHistory(seq uint64) []byte { return []byte(fmt.Sprintf("%s%016x", PrefixHistory, seq)) }

func KeyNode(id string) []byte         { return []byte(PrefixNode + id) }
func KeyNodeOwner(owner string) []byte { return []byte(PrefixNodeOwner + owner) }
