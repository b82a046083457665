package rpc

import "github.com/mykeyledger/mykey/app/types"

// Store keys of the records the commands read, as strings: the ledger's
// own keys (types.Key*), so a client reads where the app writes. A query
// path is "/" + key.
func KeyGov() string                   { return string(types.KeyGov()) }
func KeyProvider(id string) string     { return string(types.KeyProvider(id)) }
func KeyProgram(id string) string      { return string(types.KeyProgram(id)) }
func KeyProgramTotals(p string) string { return string(types.KeyProgramTotals(p)) }
func KeyProviderTotals(program, provider string) string {
	return string(types.KeyProviderTotals(program, provider))
}

// KeyCert is the key of a certificate's record by its index in hex (as a
// node's CertIndexPath answer gives it).
func KeyCert(indexHex string) string { return types.PrefixCert + indexHex }
func KeyMyKey(id string) string      { return string(types.KeyMyKey(id)) }
func KeyLink(program, mykey string) string {
	return string(types.KeyLink(program, mykey))
}
func KeyAccount(program, provider string, commitment []byte) string {
	return string(types.KeyAccount(program, provider, commitment))
}
func KeyPerson(program, mykey string) string {
	return string(types.KeyPerson(program, mykey))
}
func KeyCharge(program, provider, ref string) string {
	return string(types.KeyCharge(program, provider, ref))
}
