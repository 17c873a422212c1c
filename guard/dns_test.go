// This file holds a tiny fake DNS server on 127.0.0.1 for the tests, with the
// answer bytes crafted by hand (RFC 1035 section 4).

package guard

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
)

// fakeDNS answers A and AAAA queries from a fixed table over UDP. Unknown
// names get NXDOMAIN. If hang is set it reads queries and never answers.
type fakeDNS struct {
	conn    net.PacketConn
	records map[string][]netip.Addr // lowercase name without trailing dot
	hang    bool

	mu      sync.Mutex
	queries int
}

// startDNS starts a fake DNS server and returns it with a resolver that sends
// every query to it. The server stops when the test ends.
func startDNS(t *testing.T, records map[string][]netip.Addr, hang bool) (*fakeDNS, *net.Resolver) {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeDNS{conn: conn, records: records, hang: hang}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.serve()
	}()
	t.Cleanup(func() {
		conn.Close()
		<-done
	})
	r := NewResolver(conn.LocalAddr().String())
	return s, r
}

func (s *fakeDNS) queryCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queries
}

func (s *fakeDNS) serve() {
	buf := make([]byte, 1500)
	for {
		n, from, err := s.conn.ReadFrom(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		s.mu.Lock()
		s.queries++
		s.mu.Unlock()
		if s.hang {
			continue
		}
		if resp := s.answer(buf[:n]); resp != nil {
			_, _ = s.conn.WriteTo(resp, from)
		}
	}
}

// answer builds the response to one query, or nil if it cannot be parsed.
func (s *fakeDNS) answer(q []byte) []byte {
	if len(q) < 12 || binary.BigEndian.Uint16(q[4:]) != 1 {
		return nil
	}
	// Walk the question name (queries use no compression).
	var labels []string
	i := 12
	for {
		if i >= len(q) {
			return nil
		}
		l := int(q[i])
		i++
		if l == 0 {
			break
		}
		if l > 63 || i+l > len(q) {
			return nil
		}
		labels = append(labels, string(q[i:i+l]))
		i += l
	}
	if i+4 > len(q) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[i:])
	question := q[12 : i+4]

	addrs, known := s.records[strings.ToLower(strings.Join(labels, "."))]
	var answers [][]byte
	for _, a := range addrs {
		switch {
		case qtype == 1 && a.Is4():
			b := a.As4()
			answers = append(answers, b[:])
		case qtype == 28 && a.Is6():
			b := a.As16()
			answers = append(answers, b[:])
		}
	}

	resp := make([]byte, 12, 512)
	binary.BigEndian.PutUint16(resp[0:], binary.BigEndian.Uint16(q[0:])) // ID
	flags := uint16(0x8000 | 0x0400 | 0x0080)                            // QR, AA, RA
	flags |= binary.BigEndian.Uint16(q[2:]) & 0x0100                     // RD
	if !known {
		flags |= 3 // NXDOMAIN
	}
	binary.BigEndian.PutUint16(resp[2:], flags)
	binary.BigEndian.PutUint16(resp[4:], 1)
	binary.BigEndian.PutUint16(resp[6:], uint16(len(answers)))
	resp = append(resp, question...)
	for _, rdata := range answers {
		resp = append(resp, 0xc0, 12) // pointer to the question name
		resp = binary.BigEndian.AppendUint16(resp, qtype)
		resp = binary.BigEndian.AppendUint16(resp, 1) // class IN
		resp = binary.BigEndian.AppendUint32(resp, 60)
		resp = binary.BigEndian.AppendUint16(resp, uint16(len(rdata)))
		resp = append(resp, rdata...)
	}
	return resp
}
