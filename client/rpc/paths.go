package rpc

import "encoding/hex"

// Store keys of the records the commands read (app/keys.go is the
// registry; a query path is "/" + key). IDs never contain "/".
func KeyGov() string                   { return "gov" }
func KeyProvider(id string) string     { return "provider/" + id }
func KeyProgram(id string) string      { return "program/" + id }
func KeyProgramTotals(p string) string { return "programtotals/" + p }
func KeyProviderTotals(program, provider string) string {
	return "providertotals/" + program + "/" + provider
}
func KeyCert(index string) string { return "cert/" + index }
func KeyMyKey(id string) string   { return "mykey/" + id }
func KeyLink(program, mykey string) string {
	return "link/" + program + "/" + mykey
}
func KeyAccount(program, provider string, commitment []byte) string {
	return "account/" + program + "/" + provider + "/" + hex.EncodeToString(commitment)
}
func KeyPerson(program, mykey string) string {
	return "person/" + program + "/" + mykey
}
func KeyCharge(program, provider, ref string) string {
	return "charge/" + program + "/" + provider + "/" + ref
}
