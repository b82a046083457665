package app

import (
	"encoding/hex"
	"fmt"

	"github.com/mykeyledger/mykey/app/pseudonym"
	"github.com/mykeyledger/mykey/app/types"
)

// Store keys. Every record lives under one of these prefixes; a prefix is
// never reused for another kind of record. Keys are readable strings so that
// a query path and a proof's key path name the same thing. IDs never contain
// "/", so every key is unambiguous. The public endpoint serves only the
// records under types.PublicRoots; cert/, account/, charge/ and linkreq/
// stay with the validators (docs/DESIGN.md §4).
//
// Times: meta/blocktime holds Unix nanoseconds (the block time exactly as
// CometBFT gave it; CheckTx judges at it after a restart); the times inside
// records (linkage, grant, history, program windows, a link request's
// expiry) are Unix seconds.
const (
	prefixGov            = "gov"             // GovState
	prefixMyKeySeq       = "meta/mykeyseq"   // uint64: MyKey IDs issued
	prefixEventSeq       = "meta/eventseq"   // uint64: link events and over-grants recorded
	prefixProvider       = "provider/"       // provider/<id> → Provider
	prefixProgram        = "program/"        // program/<id> → Program
	prefixProgramTotals  = "programtotals/"  // programtotals/<program> → ProgramTotals
	prefixProviderTotals = "providertotals/" // providertotals/<program>/<provider> → ProviderTotals
	prefixCert           = "cert/"           // cert/<certificate index hex> → CertRecord (app/pseudonym)
	prefixMyKey          = "mykey/"          // mykey/<id> → MyKeyRecord
	prefixLink           = "link/"           // link/<program>/<mykey> → Linkage
	prefixAccount        = "account/"        // account/<program>/<provider>/<commitment hex> → MyKey ID
	prefixPerson         = "person/"         // person/<program>/<mykey> → PersonTotals
	prefixCharge         = "charge/"         // charge/<program>/<provider>/<ref> → GrantRecord (weight: yen granted)
	prefixDaily          = "daily/"          // daily/<program>/<provider>/<YYYY-MM-DD, Japan> → DailyTotals
	prefixOverGrant      = "overgrant/"      // overgrant/<program>/<provider>/<seq> → OverGrant
	prefixLinkHistory    = "linkhistory/"    // linkhistory/<program>/<mykey>/<seq> → LinkEvent
	prefixHistory        = "history/"        // history/<sequence> → HistoryEntry
	prefixValidator      = "validator/"      // validator/<pubkey hex> → owner: a provider ID or "government"
	prefixBlockTime      = "meta/blocktime"  // int64: last block time, Unix nanoseconds
	prefixValidators     = "meta/validators" // ValidatorSet: the set CometBFT will use
	prefixLinkRequest    = "linkreq/"        // linkreq/<keyed hash of sign bytes, hex> → int64 expiry: a link request judged once
	prefixNode           = "node/"           // node/<P2P node ID> → NodeRecord: who runs the node (nodes.go)
	prefixNodeOwner      = "nodeowner/"      // nodeowner/<provider ID or "government"> → NodeList
	prefixCount          = types.CountPrefix // count/<dir> → uint64: records under a counted directory (types.CountedRoots; cache.countWrites)
)

func keyGov() []byte               { return []byte(prefixGov) }
func keyMyKeySeq() []byte          { return []byte(prefixMyKeySeq) }
func keyEventSeq() []byte          { return []byte(prefixEventSeq) }
func keyProvider(id string) []byte { return []byte(prefixProvider + id) }
func keyProgram(id string) []byte  { return []byte(prefixProgram + id) }
func keyProgramTotals(p string) []byte {
	return []byte(prefixProgramTotals + p)
}
func keyProviderTotals(program, provider string) []byte {
	return []byte(prefixProviderTotals + program + "/" + provider)
}
func keyCert(index []byte) []byte { return []byte(prefixCert + hex.EncodeToString(index)) }
func keyMyKey(id string) []byte   { return []byte(prefixMyKey + id) }
func keyLink(program, mykey string) []byte {
	return []byte(prefixLink + program + "/" + mykey)
}
func keyAccount(program, provider string, commitment []byte) []byte {
	return []byte(prefixAccount + program + "/" + provider + "/" + hex.EncodeToString(commitment))
}
func keyPerson(program, mykey string) []byte {
	return []byte(prefixPerson + program + "/" + mykey)
}
func keyCharge(program, provider, ref string) []byte {
	return []byte(prefixCharge + program + "/" + provider + "/" + ref)
}
func keyDaily(program, provider, day string) []byte {
	return []byte(prefixDaily + program + "/" + provider + "/" + day)
}
func keyOverGrant(program, provider string, seq uint64) []byte {
	return []byte(fmt.Sprintf("%s%s/%s/%016x", prefixOverGrant, program, provider, seq))
}
func keyLinkHistory(program, mykey string, seq uint64) []byte {
	return []byte(fmt.Sprintf("%s%s/%s/%016x", prefixLinkHistory, program, mykey, seq))
}
func keyValidators() []byte { return []byte(prefixValidators) }
func keyLinkRequest(pk *pseudonym.Key, signBytes []byte) []byte {
	return []byte(prefixLinkRequest + hex.EncodeToString(pk.LinkRequest(signBytes)))
}
func keyHistory(seq uint64) []byte { return []byte(fmt.Sprintf("%s%016x", prefixHistory, seq)) }

func keyNode(id string) []byte         { return []byte(prefixNode + id) }
func keyNodeOwner(owner string) []byte { return []byte(prefixNodeOwner + owner) }
