package app

import (
	"crypto/sha256"
	"encoding/binary"

	"github.com/mykeyledger/mykey/app/types"
)

// crockford is Crockford's base32 alphabet (no I, L, O, U).
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// MyKeyIDLen is the length of a MyKey ID.
const MyKeyIDLen = 8

// candidateID is the n-th candidate MyKey ID for a certificate: 40 bits of
// SHA-256 over the issuer and serial, in Crockford base32.
func candidateID(issuer, serial []byte, n uint32) string {
	h := sha256.New()
	h.Write([]byte("mykey/id/v1\n"))
	var l [4]byte
	binary.BigEndian.PutUint32(l[:], uint32(len(issuer)))
	h.Write(l[:])
	h.Write(issuer)
	binary.BigEndian.PutUint32(l[:], uint32(len(serial)))
	h.Write(l[:])
	h.Write(serial)
	binary.BigEndian.PutUint32(l[:], n)
	h.Write(l[:])
	sum := h.Sum(nil)
	v := uint64(sum[0])<<32 | uint64(sum[1])<<24 | uint64(sum[2])<<16 | uint64(sum[3])<<8 | uint64(sum[4])
	var out [MyKeyIDLen]byte
	for i := MyKeyIDLen - 1; i >= 0; i-- {
		out[i] = crockford[v&31]
		v >>= 5
	}
	return string(out[:])
}

// validMyKeyID reports whether s has the shape of a MyKey ID.
func validMyKeyID(s string) bool {
	if len(s) != MyKeyIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isCrockford(s[i]) {
			return false
		}
	}
	return true
}

func isCrockford(c byte) bool {
	for j := 0; j < len(crockford); j++ {
		if crockford[j] == c {
			return true
		}
	}
	return false
}

// issueMyKey issues the MyKey ID of a certificate that has none: the first
// candidate not yet taken. Deterministic: candidates are tried in order
// against the state every node holds.
func issueMyKey(c *cache, ref *types.CertRef, height int64) (*types.MyKeyRecord, error) {
	for n := uint32(0); ; n++ {
		id := candidateID(ref.Issuer, ref.Serial, n)
		taken, err := c.Get(keyMyKey(id))
		if err != nil {
			return nil, err
		}
		if taken != nil {
			continue
		}
		seq, err := nextSeq(c, keyMyKeySeq())
		if err != nil {
			return nil, err
		}
		rec := &types.MyKeyRecord{Id: id, IssuedHeight: height, IssuedSeq: seq, Certs: []*types.CertRef{ref}}
		return rec, save(c, keyMyKey(id), rec, 0)
	}
}
