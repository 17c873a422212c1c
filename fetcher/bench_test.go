package fetcher

import (
	"bufio"
	"context"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

// numbersBody returns an upstream document of n numbers.
func numbersBody(n int) []byte {
	b := []byte(`{"numbers":[`)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(i*7919%1000003-500000), 10)
	}
	return append(b, "]}"...)
}

// BenchmarkFetch fetches 20 numbers from an instant in-memory upstream that
// answers every request with the same canned response, so it measures the
// client, the decoding and the normalising, not the kernel or a server.
func BenchmarkFetch(b *testing.B) {
	ln := fasthttputil.NewInmemoryListener()
	body := numbersBody(20)
	canned := []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\nCache-Control: max-age=60\r\n\r\n" + string(body))
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer conn.Close()
				br := bufio.NewReader(conn)
				var req fasthttp.Request
				for req.Read(br) == nil {
					if _, err := conn.Write(canned); err != nil {
						return
					}
				}
			})
		}
	})
	b.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
	})
	c := newClient(b, Config{DialTimeout: func(string, time.Duration) (net.Conn, error) { return ln.Dial() }})
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	b.ReportAllocs()
	for b.Loop() {
		resp, err := c.Fetch(ctx, "http://upstream.test/numbers")
		if err != nil {
			b.Fatal(err)
		}
		if len(resp.Numbers) != 20 {
			b.Fatalf("got %d numbers", len(resp.Numbers))
		}
	}
}
