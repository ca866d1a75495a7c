package netguard

import (
	"fmt"
	"net/netip"
)

// blockedRange is a prefix no webhook may reach, with the words used to
// explain why.
type blockedRange struct {
	prefix netip.Prefix
	what   string
}

// blockedRanges lists non-public address space (IANA special-purpose
// registries, RFC 6890 and successors). First match wins, so narrow entries
// that deserve a more specific reason come before wider ones. IPv4-mapped
// IPv6 addresses are unmapped before matching, and NAT64 addresses are judged
// by the IPv4 address they embed (see Blocked).
var blockedRanges = func() []blockedRange {
	ranges := []struct{ cidr, what string }{
		{"0.0.0.0/8", `"this network" address`},
		{"10.0.0.0/8", "private address (RFC 1918)"},
		{"100.64.0.0/10", "carrier-grade NAT address (RFC 6598)"},
		{"127.0.0.0/8", "loopback address"},
		{"169.254.0.0/16", "link-local address (cloud metadata lives here)"},
		{"172.16.0.0/12", "private address (RFC 1918)"},
		{"192.0.0.0/24", "IETF protocol address (some cloud metadata lives here)"},
		{"192.0.2.0/24", "documentation address"},
		{"192.88.99.0/24", "6to4 relay anycast address"},
		{"192.168.0.0/16", "private address (RFC 1918)"},
		{"198.18.0.0/15", "benchmarking address"},
		{"198.51.100.0/24", "documentation address"},
		{"203.0.113.0/24", "documentation address"},
		{"224.0.0.0/4", "multicast address"},
		{"255.255.255.255/32", "broadcast address"},
		{"240.0.0.0/4", "reserved address"},

		{"::/128", "unspecified address"},
		{"::1/128", "loopback address"},
		{"::ffff:0:0:0/96", "IPv4-translated address"},
		{"::/96", "IPv4-compatible address (deprecated)"},
		{"64:ff9b:1::/48", "local-use NAT64 address"},
		{"100::/64", "discard-only address"},
		{"2001::/32", "Teredo tunnel address"},
		{"2001:db8::/32", "documentation address"},
		{"2002::/16", "6to4 address"},
		{"3fff::/20", "documentation address"},
		{"fc00::/7", "unique-local address"},
		{"fe80::/10", "link-local address"},
		{"fec0::/10", "site-local address (deprecated)"},
		{"ff00::/8", "multicast address"},
	}
	out := make([]blockedRange, len(ranges))
	for i, r := range ranges {
		out[i] = blockedRange{prefix: netip.MustParsePrefix(r.cidr), what: r.what}
	}
	return out
}()

// nat64 is the well-known NAT64 prefix (RFC 6052): a gateway translates
// 64:ff9b::a.b.c.d to IPv4 a.b.c.d, so the embedded address decides.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// Blocked reports whether addr is not publicly routable and so must not be
// reached by a webhook, with the reason in words (e.g. "loopback address in
// 127.0.0.0/8"). The zero Addr is blocked.
func Blocked(addr netip.Addr) (reason string, blocked bool) {
	if !addr.IsValid() {
		return "invalid address", true
	}
	// Prefix.Contains never matches an address with a zone, so drop it:
	// fe80::1%eth0 is as link-local as fe80::1. Unmap so ::ffff:127.0.0.1 is
	// judged as 127.0.0.1.
	addr = addr.WithZone("").Unmap()
	if nat64.Contains(addr) {
		b := addr.As16()
		v4 := netip.AddrFrom4([4]byte(b[12:]))
		if reason, blocked := Blocked(v4); blocked {
			return "NAT64 form of " + reason, true
		}
		return "", false
	}
	for _, r := range blockedRanges {
		if r.prefix.Contains(addr) {
			return fmt.Sprintf("%s in %s", r.what, r.prefix), true
		}
	}
	return "", false
}
