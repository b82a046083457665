package apdu

import "fmt"

// SW is a status word: SW1 in the high byte, SW2 in the low byte.
type SW uint16

// Status words a JPKI card answers.
const (
	SWOK                 SW = 0x9000
	SWEndOfFile          SW = 0x6282 // fewer bytes than Le were left in the EF
	SWMemoryFailure      SW = 0x6581
	SWWrongLength        SW = 0x6700
	SWIncompatibleFile   SW = 0x6981 // e.g. READ BINARY of a key or PIN EF
	SWSecurityNotMet     SW = 0x6982 // no PIN verified
	SWAuthBlocked        SW = 0x6983 // authentication method blocked
	SWRefDataNotUsable   SW = 0x6984 // PIN blocked (what JPKI cards answer)
	SWNotAllowed         SW = 0x6986 // no current EF of the right kind
	SWWrongData          SW = 0x6A80
	SWFileNotFound       SW = 0x6A82
	SWIncorrectP1P2      SW = 0x6A86
	SWWrongP1P2          SW = 0x6B00 // offset outside the EF
	SWINSNotSupported    SW = 0x6D00
	SWCLANotSupported    SW = 0x6E00
	SWNoPreciseDiagnosis SW = 0x6F00
)

// VerifyFailed returns 63 Cx: a wrong PIN (or an empty VERIFY), with
// tries tries left (0..15).
func VerifyFailed(tries int) SW { return 0x63C0 | SW(tries&0x0F) }

// TriesLeft reports the tries left carried by a 63 Cx status word.
func (sw SW) TriesLeft() (int, bool) {
	if sw&0xFFF0 == 0x63C0 {
		return int(sw & 0x0F), true
	}
	return 0, false
}

// Blocked reports whether sw says the PIN is blocked (69 84, or 69 83 as
// some cards answer).
func (sw SW) Blocked() bool { return sw == SWRefDataNotUsable || sw == SWAuthBlocked }

// Bytes returns SW1 and SW2.
func (sw SW) Bytes() []byte { return []byte{byte(sw >> 8), byte(sw)} }

var swWords = map[SW]string{
	SWOK:                 "success",
	SWEndOfFile:          "end of file reached before Le bytes",
	SWMemoryFailure:      "memory failure",
	SWWrongLength:        "wrong length",
	SWIncompatibleFile:   "command incompatible with file structure",
	SWSecurityNotMet:     "security status not satisfied",
	SWAuthBlocked:        "authentication method blocked",
	SWRefDataNotUsable:   "reference data not usable",
	SWNotAllowed:         "command not allowed",
	SWWrongData:          "incorrect data",
	SWFileNotFound:       "file or application not found",
	SWIncorrectP1P2:      "incorrect P1-P2",
	SWWrongP1P2:          "wrong parameters P1-P2",
	SWINSNotSupported:    "instruction not supported",
	SWCLANotSupported:    "class not supported",
	SWNoPreciseDiagnosis: "no precise diagnosis",
}

// String returns e.g. "6A82 (file or application not found)".
func (sw SW) String() string {
	if n, ok := sw.TriesLeft(); ok {
		return fmt.Sprintf("%04X (verification failed, %d tries left)", uint16(sw), n)
	}
	if w, ok := swWords[sw]; ok {
		return fmt.Sprintf("%04X (%s)", uint16(sw), w)
	}
	return fmt.Sprintf("%04X", uint16(sw))
}
