package fetcher

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"numbers/internal/testupstream"
	"numbers/outcome"
)

func TestFetchUpstreamFailures(t *testing.T) {
	cases := []struct {
		name    string
		handler testupstream.Handler
		kind    error
	}{
		{"404", testupstream.Reply(404, `{"numbers":[1]}`), ErrStatus},
		{"500", testupstream.Reply(500, `{"numbers":[1]}`), ErrStatus},
		{"503", testupstream.Reply(503, `{"numbers":[1]}`, "Retry-After", "1"), ErrStatus},
		{"502", testupstream.Reply(502, `bad gateway`), ErrStatus},
		{"504", testupstream.Reply(504, `gateway timeout`), ErrStatus},
		{"429", testupstream.Reply(429, `{"numbers":[1]}`, "Retry-After", "1"), ErrStatus},
		{"302 without Location", testupstream.Reply(302, `{"numbers":[1]}`), ErrStatus},
		{"204 no content", testupstream.Reply(204, ``), ErrBody},
		{"HTML with 200", testupstream.Reply(200, `<!doctype html><html><body>numbers</body></html>`, "Content-Type", "text/html"), ErrBody},
		{"empty body", testupstream.Reply(200, ``), ErrBody},
		{"truncated JSON", testupstream.Reply(200, `{"numbers":[1,2,3`), ErrBody},
		{"truncated after object", testupstream.Reply(200, `{"numbers":[1,2,3]`), ErrBody},
		{"trailing garbage", testupstream.Reply(200, `{"numbers":[1]}x`), ErrBody},
		{"null body", testupstream.Reply(200, `null`), ErrBody},
		{"numbers null", testupstream.Reply(200, `{"numbers":null}`), ErrBody},
		{"float 1.5", testupstream.Reply(200, `{"numbers":[1,1.5]}`), ErrBody},
		{"float 1.0", testupstream.Reply(200, `{"numbers":[1.0]}`), ErrBody},
		{"exponent", testupstream.Reply(200, `{"numbers":[1e3]}`), ErrBody},
		{"string element", testupstream.Reply(200, `{"numbers":["1"]}`), ErrBody},
		{"string value", testupstream.Reply(200, `{"numbers":"1,2"}`), ErrBody},
		{"null element", testupstream.Reply(200, `{"numbers":[1,null]}`), ErrBody},
		{"object value", testupstream.Reply(200, `{"numbers":{"a":1}}`), ErrBody},
		{"int64 overflow", testupstream.Reply(200, `{"numbers":[9223372036854775808]}`), ErrBody},
		{"int64 underflow", testupstream.Reply(200, `{"numbers":[-9223372036854775809]}`), ErrBody},
		{"missing key", testupstream.Reply(200, `{"values":[1,2]}`), ErrBody},
		{"empty object", testupstream.Reply(200, `{}`), ErrBody},
		{"top-level array", testupstream.Reply(200, `[1,2,3]`), ErrBody},
		{"top-level number", testupstream.Reply(200, `42`), ErrBody},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := testupstream.Start(t, tc.handler)
			c := newClient(t, Config{})
			resp, err := fetchWithin(t, c, srv.URL, budget)
			wantKind(t, err, tc.kind)
			if OutcomeOf(err) != outcome.Failed {
				t.Errorf("OutcomeOf = %v, want failed", OutcomeOf(err))
			}
			if resp.Numbers != nil {
				t.Errorf("failed fetch returned numbers %v", resp.Numbers)
			}
			var st *StatusError
			code := 0
			if errors.As(err, &st) {
				code = st.Code
			}
			if got, want := Retryable(err), code == 502 || code == 503 || code == 504; got != want {
				t.Errorf("Retryable = %v, want %v", got, want)
			}
			if got, want := HostFault(err), code >= 500; got != want {
				t.Errorf("HostFault = %v, want %v (a host that answers is up, unless it says 5xx)", got, want)
			}
		})
	}
}

// gzipped compresses b.
func gzipped(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestFetchSizeAndEncoding(t *testing.T) {
	const limit = 64 << 10
	big := `{"numbers":[` + strings.Repeat("1,", limit) + `1]}`
	bomb := gzipped(t, make([]byte, 4<<20)) // 4 MiB of zeros in about 4 KiB
	if len(bomb) >= limit {
		t.Fatalf("the bomb is %d bytes compressed, want under the limit", len(bomb))
	}
	cases := []struct {
		name    string
		handler testupstream.Handler
		want    []int64 // nil: failure of kind
		kind    error
	}{
		{"over the limit with Content-Length",
			testupstream.Reply(200, big, "Content-Length", strconv.Itoa(len(big))), nil, ErrTooLarge},
		{"Content-Length over the limit, no body sent",
			func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
				// Declares a huge body and sends none: the limit is checked up front.
				hj, _, err := w.(http.Hijacker).Hijack()
				if err != nil {
					return
				}
				defer hj.Close()
				_, _ = hj.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 104857600\r\n\r\n"))
				_, _ = bufio.NewReader(hj).ReadByte() // until the client hangs up
			}, nil, ErrTooLarge},
		{"chunked over the limit", testupstream.Reply(200, big), nil, ErrTooLarge},
		{"read until close over the limit",
			testupstream.Raw("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + big), nil, ErrTooLarge},
		{"exactly at the limit",
			testupstream.Reply(200, `{"numbers":[7]}`+strings.Repeat(" ", limit-len(`{"numbers":[7]}`))), []int64{7}, nil},
		{"gzip", testupstream.Reply(200, string(gzipped(t, []byte(`{"numbers":[3,1,2]}`))), "Content-Encoding", "gzip"),
			[]int64{1, 2, 3}, nil},
		{"gzip bomb", testupstream.Reply(200, string(bomb), "Content-Encoding", "gzip"), nil, ErrTooLarge},
		{"gzip header on a plain body", testupstream.Reply(200, `{"numbers":[1]}`, "Content-Encoding", "gzip"), nil, ErrBody},
		{"truncated gzip", testupstream.Reply(200, string(gzipped(t, []byte(`{"numbers":[1]}`))[:15]), "Content-Encoding", "gzip"),
			nil, ErrBody},
		{"unknown encoding", testupstream.Reply(200, `{"numbers":[1]}`, "Content-Encoding", "x-custom"), nil, ErrBody},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := testupstream.Start(t, tc.handler)
			c := newClient(t, Config{MaxBodyBytes: limit})
			resp, err := fetchWithin(t, c, srv.URL, budget)
			if tc.want == nil {
				wantKind(t, err, tc.kind)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !equal(resp.Numbers, tc.want) {
				t.Fatalf("Numbers = %v, want %v", resp.Numbers, tc.want)
			}
		})
	}
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestFetchStreamedBodyStopsEarly streams 50 MB and checks that the client gives
// up at the limit and hangs up, so that the upstream fails to write well before
// the end: the body was never read whole.
func TestFetchStreamedBodyStopsEarly(t *testing.T) {
	const (
		total = 50 << 20
		limit = 1 << 20
	)
	written := make(chan int, 1)
	var once sync.Once
	srv := testupstream.Start(t, func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
		n := 0
		defer once.Do(func() { written <- n })
		f := w.(http.Flusher)
		chunk := bytes.Repeat([]byte("1,"), 16<<10)
		_, _ = w.Write([]byte(`{"numbers":[`))
		for n < total {
			m, err := w.Write(chunk)
			n += m
			if err != nil {
				return
			}
			f.Flush()
		}
	})
	c := newClient(t, Config{MaxBodyBytes: limit})
	_, err := fetchWithin(t, c, srv.URL, 5*time.Second)
	wantKind(t, err, ErrTooLarge)
	select {
	case n := <-written:
		if n > total/2 {
			t.Fatalf("upstream wrote %d of %d bytes before the client hung up", n, total)
		}
		t.Logf("upstream wrote %d bytes (limit %d) before the client hung up", n, limit)
	case <-time.After(10 * time.Second):
		t.Fatal("upstream still writing 10s after the client failed: the connection was not closed")
	}
}
