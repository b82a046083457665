package card

import (
	"fmt"

	"github.com/mykeyledger/mykey/client/card/apdu"
)

// maxRead is the chunk size of READ BINARY; 255 works with every reader
// (256, encoded 00, confuses some T=0 drivers).
const maxRead = 255

// readDER reads the DER object at the start of the current EF: its length
// comes from the DER header, the filler after it is never read.
func (c *Conn) readDER() ([]byte, error) {
	hdr, err := c.ok("READ BINARY", apdu.ReadBinary(0, 4))
	if err != nil {
		return nil, err
	}
	size, err := derSize(hdr)
	if err != nil {
		return nil, fmt.Errorf("%w: the certificate EF %v", ErrCardError, err)
	}
	der := make([]byte, 0, size)
	for len(der) < size {
		n := min(size-len(der), maxRead)
		chunk, err := c.ok("READ BINARY", apdu.ReadBinary(uint16(len(der)), n))
		if err != nil {
			return nil, err
		}
		if len(chunk) == 0 || len(chunk) > n {
			return nil, fmt.Errorf("%w: READ BINARY returned %d bytes, asked for %d", ErrCardError, len(chunk), n)
		}
		der = append(der, chunk...)
	}
	return der, nil
}

// derSize returns the total size of the DER SEQUENCE whose first bytes are
// hdr (at least 4 bytes).
func derSize(hdr []byte) (int, error) {
	if len(hdr) < 4 || hdr[0] != 0x30 {
		return 0, fmt.Errorf("does not start with a DER SEQUENCE (% X)", hdr)
	}
	switch l := hdr[1]; {
	case l < 0x80:
		return 2 + int(l), nil
	case l == 0x81:
		return 3 + int(hdr[2]), nil
	case l == 0x82:
		n := 4 + (int(hdr[2])<<8 | int(hdr[3]))
		if n > 0x7FFF {
			return 0, fmt.Errorf("holds a %d-byte object, more than an EF can", n)
		}
		return n, nil
	default:
		return 0, fmt.Errorf("has an unsupported DER length byte %02X", l)
	}
}
