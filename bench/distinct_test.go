package bench

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

func TestDistinctURL(t *testing.T) {
	up := []string{"http://127.0.0.1:9/primes", "http://127.0.0.1:9/numbers?n=5&max=9", "http://127.0.0.1:9/odd#top"}
	// The nonce goes last in the query, before any fragment.
	wantU := []string{"http://127.0.0.1:9/primes?nonce=%s", "http://127.0.0.1:9/numbers?n=5&max=9&nonce=%s", "http://127.0.0.1:9/odd?nonce=%s#top"}
	raw := numbersURL("http://127.0.0.1:8", up) + "&x=a%26b"
	d, err := newDistinctURL(raw, "tag")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var buf []byte
	for i := range uint64(3000) {
		buf = d.append(buf[:0], i)
		u, err := url.Parse(string(buf))
		if err != nil {
			t.Fatalf("request %d: %q: %v", i, buf, err)
		}
		q := u.Query()
		if u.Host != "127.0.0.1:8" || u.Path != "/numbers" || q.Get("x") != "a&b" || len(q["u"]) != len(up) {
			t.Fatalf("request %d: %q", i, buf)
		}
		nonce := "tag-" + strconv.FormatUint(i, 10)
		for j, v := range q["u"] {
			got, err := url.Parse(v)
			if err != nil || got.Query().Get(NonceParam) != nonce {
				t.Fatalf("request %d: u=%q (%v), want nonce %s", i, v, err, nonce)
			}
			if want := fmt.Sprintf(wantU[j], nonce); v != want {
				t.Fatalf("request %d: u=%q, want %q", i, v, want)
			}
			if seen[v] {
				t.Fatalf("request %d: u=%q asked before", i, v)
			}
			seen[v] = true
		}
	}
}

func TestDistinctURLErrors(t *testing.T) {
	for _, raw := range []string{"http://127.0.0.1:8/numbers", "http://127.0.0.1:8/numbers?x=1", "http://127.0.0.1:8/numbers?u=%zz"} {
		if _, err := newDistinctURL(raw, "t"); !errors.Is(err, ErrAttack) {
			t.Errorf("%q: err %v, want ErrAttack", raw, err)
		}
	}
	if _, err := Run(context.Background(), Attack{URL: "http://127.0.0.1:1/numbers", Distinct: true,
		Pacer: ConstantPacer{Freq: 1}, Duration: time.Second}); !errors.Is(err, ErrAttack) {
		t.Errorf("distinct attack without u=: err %v, want ErrAttack", err)
	}
}

func TestDistinctURLAllocs(t *testing.T) {
	d, err := newDistinctURL(numbersURL("http://127.0.0.1:8", []string{"http://h/a", "http://h/b?c=d"}), "t")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, 256)
	i := uint64(1 << 40)
	if n := testing.AllocsPerRun(100, func() { buf = d.append(buf[:0], i); i++ }); n != 0 {
		t.Errorf("%v allocs per URL, want 0", n)
	}
}

// TestRunDistinct checks, at the server, that every request of a distinct
// attack asked for upstream URLs of its own.
func TestRunDistinct(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	target := loopbackServer(t, func(ctx *fasthttp.RequestCtx) {
		mu.Lock()
		for _, u := range ctx.QueryArgs().PeekMulti("u") {
			seen[string(u)]++
		}
		mu.Unlock()
		answerInstantly(ctx)
	})
	base := target[:len(target)-len("/numbers")]
	res, err := Run(context.Background(), Attack{URL: numbersURL(base, []string{"http://h/a", "http://h/b"}), Distinct: true,
		Pacer: ConstantPacer{Freq: 1000}, Duration: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 200 || res.Status[200] != 200 {
		t.Fatalf("requests %d status %v errors %v", res.Requests, res.Status, res.Errors)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 400 {
		t.Fatalf("%d distinct upstream URLs in %d requests, want 400", len(seen), res.Requests)
	}
	for u, n := range seen {
		if n != 1 {
			t.Fatalf("%s asked %d times", u, n)
		}
	}
}
