// Package freeport finds free port ranges on 127.0.0.1 for test nodes. It
// imports nothing of the project, so that the node package's own tests can
// use it as well as package testnet.
package freeport

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"testing"
)

// Range of the base ports: below 32768, because Linux hands out ports from
// 32768 up (net.ipv4.ip_local_port_range) to outgoing connections, which
// could take a port between the check here and the node binding it.
const (
	low  = 20000
	high = 32000
)

// Find returns a base port such that the ports base .. base+nodes*stride-1
// (stride ports for each of nodes nodes) are all free on 127.0.0.1. Bases
// are multiples of stride, chosen at random so that test processes running
// at once rarely try the same range.
func Find(nodes, stride int) (int, error) {
	if nodes < 1 || stride < 1 || nodes*stride > high-low {
		return 0, fmt.Errorf("freeport: %d nodes of %d ports each do not fit in %d..%d", nodes, stride, low, high)
	}
	for range 200 {
		base := low + rand.IntN((high-low-nodes*stride)/stride+1)*stride
		if free(base, nodes*stride) {
			return base, nil
		}
	}
	return 0, errors.New("freeport: no free port range on 127.0.0.1")
}

// Base is Find, failing tb if there is no free range.
func Base(tb testing.TB, nodes, stride int) int {
	tb.Helper()
	base, err := Find(nodes, stride)
	if err != nil {
		tb.Fatal(err)
	}
	return base
}

// free reports whether n ports from base are free on 127.0.0.1.
func free(base, n int) bool {
	for p := base; p < base+n; p++ {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			return false
		}
		l.Close()
	}
	return true
}
