package app

import (
	"github.com/mykeyledger/mykey/app/pseudonym"
	"github.com/mykeyledger/mykey/app/types"
)

// candidateID is the n-th candidate MyKey ID for a certificate: 40 bits of
// the keyed hash of its issuer and serial under the network pseudonym key
// (app/pseudonym), in Crockford base32. Without the key the ID cannot be
// computed from the certificate, which every relying party holds.
func candidateID(pk *pseudonym.Key, issuer, serial []byte, n uint32) string {
	v := pk.MyKeyIDBits(issuer, serial, n)
	var out [types.MyKeyIDLen]byte
	for i := types.MyKeyIDLen - 1; i >= 0; i-- {
		out[i] = types.MyKeyIDAlphabet[v&31]
		v >>= 5
	}
	return string(out[:])
}

// issueMyKey issues the MyKey ID of a certificate that has none: the first
// candidate not yet taken. Deterministic: candidates are tried in order
// against the state every node holds. idx is the certificate's index
// (pk.CertIndex of ref), which the caller has already computed.
func issueMyKey(c *cache, pk *pseudonym.Key, ref *types.CertRef, idx []byte, height int64) (*types.MyKeyRecord, error) {
	for n := uint32(0); ; n++ {
		id := candidateID(pk, ref.Issuer, ref.Serial, n)
		taken, err := c.Get(types.KeyMyKey(id))
		if err != nil {
			return nil, err
		}
		if taken != nil {
			continue
		}
		seq, err := nextSeq(c, types.KeyMyKeySeq())
		if err != nil {
			return nil, err
		}
		rec := &types.MyKeyRecord{Id: id, IssuedHeight: height, IssuedSeq: seq, Certs: [][]byte{idx}}
		return rec, save(c, types.KeyMyKey(id), rec, 0)
	}
}
