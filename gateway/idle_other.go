//go:build !unix

package gateway

import "net"

// waitReadable is not available here; idle directions copy one byte at a time.
func waitReadable(net.Conn) (bool, error) { return false, nil }
