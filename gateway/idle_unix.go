//go:build unix

package gateway

import (
	"errors"
	"net"
	"syscall"
)

// waitReadable blocks until src has bytes (or EOF, or an error) to read,
// without reading them, so an idle direction holds no reservation and its
// first bytes are later copied in one step. It reports false when src
// cannot be waited on this way.
func waitReadable(src net.Conn) (bool, error) {
	sc, ok := src.(syscall.Conn)
	if !ok {
		return false, nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false, nil
	}
	var peek [1]byte
	err = rc.Read(func(fd uintptr) bool {
		// Peek rather than trust readiness: bytes may already be buffered.
		_, _, err := syscall.Recvfrom(int(fd), peek[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return !errors.Is(err, syscall.EAGAIN)
	})
	return true, err
}
