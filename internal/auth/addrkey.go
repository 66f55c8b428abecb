package auth

import (
	"net/netip"
	"strings"
)

// AddressKey is the key under which per-address budgets count a client
// address: an IPv4 address as it is, an IPv6 address by its /64. One
// subscriber, host or VM is routinely given a whole /64 and can pick any
// address in it, so counting IPv6 addresses one by one would give such a
// client 2^64 budgets; a /64 is the smallest block that is one client's.
// An IPv4-mapped IPv6 address counts as its IPv4 address. A string that
// does not parse is its own key.
func AddressKey(ip string) string {
	if strings.IndexByte(ip, ':') < 0 {
		return ip // IPv4 (or not an address): no parse on the common path
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	if a.Is4In6() {
		return a.Unmap().String()
	}
	p, err := a.WithZone("").Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}
