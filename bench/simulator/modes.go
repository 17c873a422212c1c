// modes.go writes one response: the success path, injected failures and the failure modes.

package simulator

import (
	"bufio"
	"context"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"
)

// serve answers a request to a numbers route once its Params are known.
func (s *Server) serve(ctx *fasthttp.RequestCtx, p *Params) {
	var r rng
	if p.needsRand() {
		switch {
		case p.hasSeed:
			r.seeded = true
			r.pcg.Seed(uint64(p.seed), 0x9e3779b97f4a7c15)
		case s.seeded:
			r.seeded = true
			r.pcg.Seed(uint64(s.seed), s.draws.Add(1))
		}
	}
	if d := p.sampleDelay(&r); d > 0 && !s.sleep(d) {
		ctx.SetConnectionClose()
		writeError(ctx, fasthttp.StatusServiceUnavailable, "simulator: shutting down")
		return
	}
	if p.mode != modeNone && (p.prob >= 1 || r.float64() < p.prob) {
		s.serveMode(ctx, *p)
		return
	}
	if p.fail > 0 && r.float64() < p.fail {
		writeError(ctx, p.status, "simulator: injected failure")
		return
	}
	k := p.payloadKey(s.seed)
	body := s.cache.get(&k)
	if p.hasDate {
		s.serveRaw(ctx, *p, body)
		return
	}
	writeHeaders(ctx, p)
	ctx.Response.SetBodyRaw(body)
}

// serveRaw writes a whole success response on the hijacked connection and closes it: fasthttp
// always writes its own Date header, so a shifted Date needs the raw path.
func (s *Server) serveRaw(ctx *fasthttp.RequestCtx, p Params, body []byte) {
	s.hijack(ctx, func(c net.Conn, _ net.Conn) {
		w := bufio.NewWriter(c)
		writeRawHead(w, ctx.Time(), &p, len(body))
		_, _ = w.Write(body)
		_ = w.Flush()
	})
}

// writeHeaders sets the success headers: content type, Date and the caching parameters.
func writeHeaders(ctx *fasthttp.RequestCtx, p *Params) {
	h := &ctx.Response.Header
	h.SetContentType("application/json")
	if p.cc != "" {
		h.Set("Cache-Control", p.cc)
	}
	if p.hasExpires {
		var buf [40]byte
		h.SetBytesV("Expires", fasthttp.AppendHTTPDate(buf[:0], ctx.Time().Add(p.expires)))
	}
	if p.hasAge {
		var buf [20]byte
		h.SetBytesV("Age", strconv.AppendInt(buf[:0], int64(p.age), 10))
	}
}

// hang accepts the request and never answers: the connection is held until
// the client closes it or the server shuts down.
func (s *Server) hang(ctx *fasthttp.RequestCtx) {
	s.hijack(ctx, func(c net.Conn, _ net.Conn) {
		_, _ = io.Copy(io.Discard, c) // until the client closes or Shutdown sets a past deadline
	})
}

// serveMode applies p.mode. p is a copy so that the fast path's Params never escapes.
func (s *Server) serveMode(ctx *fasthttp.RequestCtx, p Params) {
	k := p.payloadKey(s.seed)
	switch p.mode {
	case modeReset:
		s.hijack(ctx, func(c net.Conn, raw net.Conn) {
			if tc, ok := raw.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // Close now sends RST instead of FIN
			}
		})
	case modeHang:
		s.hang(ctx)
	case modeTrickle:
		body := s.cache.get(&k)
		s.hijack(ctx, func(c net.Conn, _ net.Conn) {
			w := bufio.NewWriter(c)
			writeRawHead(w, ctx.Time(), &p, len(body))
			if w.Flush() != nil {
				return
			}
			t := time.NewTimer(p.every)
			defer t.Stop()
			for i := range body {
				if _, err := c.Write(body[i : i+1]); err != nil {
					return
				}
				if i == len(body)-1 {
					return
				}
				t.Reset(p.every)
				select {
				case <-t.C:
				case <-s.ctx.Done():
					return
				}
			}
		})
	case modeTruncate:
		body := s.cache.get(&k)
		s.hijack(ctx, func(c net.Conn, _ net.Conn) {
			w := bufio.NewWriter(c)
			writeRawHead(w, ctx.Time(), &p, len(body)+len(body)/2+10)
			_, _ = w.Write(body[:len(body)/2])
			_ = w.Flush()
		})
	case modeHuge:
		s.hijack(ctx, func(c net.Conn, _ net.Conn) {
			w := bufio.NewWriterSize(c, 64<<10)
			hr := newHugeReader(p.key, p.size)
			writeRawHead(w, ctx.Time(), &p, int(hr.total))
			_, _ = io.Copy(w, hr)
			_ = w.Flush()
		})
	case modeMalformed:
		s.serveBody(ctx, p, malformedBody(s.cache.get(&k)))
	case modeWrongType:
		s.serveBody(ctx, p, wrongBody(&k, p.types))
	case modeRedirect:
		if p.hops == 0 {
			p.mode = modeNone
			s.serve(ctx, &p)
			return
		}
		a := fasthttp.AcquireArgs()
		defer fasthttp.ReleaseArgs(a)
		ctx.QueryArgs().CopyTo(a)
		a.SetUint("hops", p.hops-1)
		loc := append(append(append([]byte(nil), ctx.Path()...), '?'), a.QueryString()...)
		redirect(ctx, loc)
	case modeLoop:
		redirect(ctx, append([]byte(nil), ctx.RequestURI()...))
	case modeHTML:
		ctx.SetContentType("text/html; charset=utf-8")
		ctx.SetBodyString(htmlPage)
	case modeStall:
		if !s.sleep(p.stall) {
			ctx.SetConnectionClose()
			writeError(ctx, fasthttp.StatusServiceUnavailable, "simulator: shutting down")
			return
		}
		p.mode = modeNone
		s.serve(ctx, &p)
	}
}

const htmlPage = `<!DOCTYPE html>
<html><head><title>502 Bad Gateway</title></head>
<body><h1>Bad Gateway</h1><p>The proxy server received an invalid response from an upstream server.</p>
<hr><address>nginx (simulated)</address></body></html>
`

// serveBody answers 200 with body and the headers of p.
func (s *Server) serveBody(ctx *fasthttp.RequestCtx, p Params, body []byte) {
	if p.hasDate {
		s.serveRaw(ctx, p, body)
		return
	}
	writeHeaders(ctx, &p)
	ctx.SetBody(body)
}

func redirect(ctx *fasthttp.RequestCtx, loc []byte) {
	ctx.Response.Header.SetBytesV("Location", loc)
	ctx.SetStatusCode(fasthttp.StatusFound)
}

// writeRawHead writes a 200 status line and the headers of p (Date shifted by p.date, caching)
// for a hijacked connection.
func writeRawHead(w *bufio.Writer, now time.Time, p *Params, contentLength int) {
	var buf [64]byte
	w.WriteString("HTTP/1.1 200 OK\r\nServer: numbers-upstream-simulator\r\nContent-Type: application/json\r\nDate: ")
	w.Write(fasthttp.AppendHTTPDate(buf[:0], now.Add(p.date)))
	if p.cc != "" {
		w.WriteString("\r\nCache-Control: ")
		w.WriteString(p.cc)
	}
	if p.hasExpires {
		w.WriteString("\r\nExpires: ")
		w.Write(fasthttp.AppendHTTPDate(buf[:0], now.Add(p.expires)))
	}
	if p.hasAge {
		w.WriteString("\r\nAge: ")
		w.Write(strconv.AppendInt(buf[:0], int64(p.age), 10))
	}
	w.WriteString("\r\nConnection: close\r\nContent-Length: ")
	w.Write(strconv.AppendInt(buf[:0], int64(contentLength), 10))
	w.WriteString("\r\n\r\n")
}

// hijack takes the connection over after the handler returns, sends no automatic response and
// runs fn. fn gets the connection (reads include bytes fasthttp had buffered) and the raw
// net.Conn under it. Shutdown sets a past deadline on the connection, so that a blocked read or
// write in fn returns, and waits for fn. fasthttp closes the connection when fn returns.
func (s *Server) hijack(ctx *fasthttp.RequestCtx, fn func(c, raw net.Conn)) {
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(c net.Conn) {
		// Add under the lock and only before Shutdown, so that Add never races Shutdown's Wait.
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return
		}
		s.hijacks.Add(1)
		s.mu.Unlock()
		defer s.hijacks.Done()

		raw := c
		if u, ok := c.(interface{ UnsafeConn() net.Conn }); ok {
			raw = u.UnsafeConn()
		}
		fired := make(chan struct{})
		stop := context.AfterFunc(s.ctx, func() {
			defer close(fired)
			_ = raw.SetDeadline(time.Unix(1, 0))
		})
		defer func() {
			if !stop() && s.ctx.Err() != nil {
				<-fired // the deadline func runs: let it finish before the conn is closed
			}
		}()
		fn(c, raw)
	})
}

// hugeReader produces a valid JSON object {"key":[7,7,...,7]} of exactly total bytes (size, or
// the minimal object if size is smaller) without holding it in memory.
type hugeReader struct {
	head  []byte // {"key":[
	mid   int64  // length of the "7," run (preceded by "17," when odd)
	total int64
	pos   int64
}

const hugeTail = "7]}"

func newHugeReader(key string, size int64) *hugeReader {
	head := append(append([]byte{'{'}, jsonString(key)...), ":["...)
	mid := max(size-int64(len(head))-int64(len(hugeTail)), 0)
	if mid == 1 { // one byte cannot hold a number and a comma: use a space
		head = append(head, ' ')
		mid = 0
	}
	return &hugeReader{head: head, mid: mid, total: int64(len(head)) + mid + int64(len(hugeTail))}
}

func (h *hugeReader) Read(b []byte) (int, error) {
	if h.pos >= h.total {
		return 0, io.EOF
	}
	n := 0
	hl := int64(len(h.head))
	for n < len(b) && h.pos < h.total {
		switch p := h.pos; {
		case p < hl:
			b[n] = h.head[p]
		case p < hl+h.mid:
			o := p - hl
			if h.mid%2 == 1 { // "17," then pairs
				if o < 3 {
					b[n] = "17,"[o]
					break
				}
				o -= 3
			}
			b[n] = "7,"[o%2]
		default:
			b[n] = hugeTail[p-hl-h.mid]
		}
		n++
		h.pos++
	}
	return n, nil
}
