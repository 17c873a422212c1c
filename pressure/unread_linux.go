package pressure

import (
	"encoding/binary"
	"syscall"
)

// The sock_diag protocol (linux/sock_diag.h, linux/inet_diag.h), written
// here rather than taken from a netlink library: one request and one field
// of the reply are needed.
const (
	netlinkSockDiag  = 4  // NETLINK_SOCK_DIAG
	sockDiagByFamily = 20 // SOCK_DIAG_BY_FAMILY
	tcpEstablished   = 1  // TCP_ESTABLISHED
	reqBytecode      = 1  // INET_DIAG_REQ_BYTECODE, the filter attribute
	bcDestEqual      = 12 // INET_DIAG_BC_D_EQ: the destination port equals
	reqLen           = 56 // sizeof(struct inet_diag_req_v2)
	msgLen           = 72 // sizeof(struct inet_diag_msg)
	rqueueOffset     = 56 // idiag_rqueue in struct inet_diag_msg
)

// unreadAnswers dumps the established TCP sockets of the families asked
// for (IPv4, IPv6) whose destination port is port, filtered in the kernel,
// and counts those with a non-empty receive queue. Each family is a walk of
// the kernel's whole table.
func unreadAnswers(port uint16, ip4, ip6 bool) (int, bool) {
	fd, err := syscall.Socket(syscall.AF_NETLINK, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, netlinkSockDiag)
	if err != nil {
		return 0, false
	}
	defer syscall.Close(fd)
	var buf [32 << 10]byte
	n := 0
	for family, asked := range map[uint8]bool{syscall.AF_INET: ip4, syscall.AF_INET6: ip6} {
		if !asked {
			continue
		}
		if err := syscall.Sendto(fd, diagRequest(family, port), 0, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK}); err != nil {
			return 0, false
		}
		c, ok := countReplies(fd, buf[:])
		if !ok {
			return 0, false
		}
		n += c
	}
	return n, true
}

// diagRequest is a dump request for the established TCP sockets of family
// whose destination port is port.
func diagRequest(family uint8, port uint16) []byte {
	const attrLen = 4 + 8 // the attribute's header and two filter operations
	b := make([]byte, syscall.NLMSG_HDRLEN+reqLen+attrLen)
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], uint32(len(b)))
	ne.PutUint16(b[4:], sockDiagByFamily)
	ne.PutUint16(b[6:], syscall.NLM_F_REQUEST|syscall.NLM_F_DUMP)
	req := b[syscall.NLMSG_HDRLEN:]
	req[0], req[1] = family, syscall.IPPROTO_TCP
	ne.PutUint32(req[4:], 1<<tcpEstablished)
	attr := req[reqLen:]
	ne.PutUint16(attr[0:], attrLen)
	ne.PutUint16(attr[2:], reqBytecode)
	// One test: on a match go to the program's end (accept, 8 bytes on),
	// otherwise past it (reject); the port is in the next operation.
	op := attr[4:]
	op[0], op[1] = bcDestEqual, 8
	ne.PutUint16(op[2:], 8+4)
	ne.PutUint16(op[6:], port)
	return b
}

// countReplies reads the dump's replies until its end and counts the
// sockets with unread bytes.
func countReplies(fd int, buf []byte) (int, bool) {
	n := 0
	for {
		got, _, err := syscall.Recvfrom(fd, buf, 0)
		if err != nil {
			return 0, false
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:got])
		if err != nil {
			return 0, false
		}
		for _, m := range msgs {
			switch m.Header.Type {
			case syscall.NLMSG_DONE:
				return n, true
			case syscall.NLMSG_ERROR:
				return 0, false
			}
			if len(m.Data) >= msgLen && binary.NativeEndian.Uint32(m.Data[rqueueOffset:]) > 0 {
				n++
			}
		}
	}
}
