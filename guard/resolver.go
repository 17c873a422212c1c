// This file holds NewResolver, a resolver whose lookups stop using sockets as
// soon as their caller gives up.

package guard

import (
	"context"
	"net"
)

// NewResolver returns a pure-Go resolver (PreferGo) that closes a DNS query's
// socket as soon as the query's context ends. Pass it to New.
//
// Why: Go's resolver does not interrupt a pending DNS read when the lookup's
// context is cancelled; it waits for the per-query timeout of
// /etc/resolv.conf (5s by default). With net.DefaultResolver, every lookup of
// a name whose DNS never answers keeps a goroutine and a socket for up to that
// long after DialTimeout has returned, which under load can exhaust file
// descriptors. With this resolver they are released at once.
//
// server, if non-empty, is the "host:port" of the one DNS server to ask
// instead of those in /etc/resolv.conf (tests point it at a fake server).
// The pure-Go resolver reads /etc/hosts and /etc/resolv.conf itself and does
// not consult NSS modules (mdns, systemd-resolved's NSS plugin) or
// GODEBUG=netdns=cgo.
func NewResolver(server string) *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			if server != "" {
				address = server
			}
			var d net.Dialer
			c, err := d.DialContext(ctx, network, address)
			if err != nil {
				return nil, err
			}
			// Closing unblocks a pending read. The resolver also closes c
			// itself after each exchange; a second Close is harmless.
			context.AfterFunc(ctx, func() { c.Close() })
			return c, nil
		},
	}
}
