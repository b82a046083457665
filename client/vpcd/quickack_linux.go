package vpcd

import (
	"net"
	"syscall"
)

// quickAck asks the kernel to acknowledge the next data at once. The vpcd
// driver sends the length and the APDU in two writes; with Nagle's
// algorithm on its side and a delayed ACK on ours, every APDU would wait
// 40ms for the second write. TCP_QUICKACK is not sticky, so it is set
// before every read.
func quickAck(conn net.Conn) {
	tc, ok := conn.(*net.TCPConn)
	if !ok {
		return
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return
	}
	raw.Control(func(fd uintptr) {
		syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
}
