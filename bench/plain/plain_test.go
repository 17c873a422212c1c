package plain

import (
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"numbers/internal/testupstream"
)

// TestHandler: the plain fan-out merges what arrives by its answer time,
// sorted and unique, and leaves out an upstream that is later.
func TestHandler(t *testing.T) {
	up := testupstream.Start(t, func(w http.ResponseWriter, r *http.Request, hang <-chan struct{}) {
		switch r.URL.Path {
		case "/a":
			w.Write([]byte(`{"Numbers":[5,1,3]}`))
		case "/b":
			w.Write([]byte(`{"numbers":[3,2]}`))
		case "/slow":
			<-hang
		}
	})
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Handler: Handler(200 * time.Millisecond)}
	go srv.Serve(ln)     //nolint:errcheck // Shutdown ends it
	defer srv.Shutdown() //nolint:errcheck // the test is over
	client := &fasthttp.Client{Dial: func(string) (net.Conn, error) { return ln.Dial() }}
	q := url.Values{"u": {up.URL + "/a", up.URL + "/b", up.URL + "/slow"}}
	start := time.Now()
	code, body, err := client.Get(nil, "http://plain/numbers?"+q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("answered after %v; want about 200ms", took)
	}
	if code != 200 || string(body) != `{"numbers":[1,2,3,5]}` {
		t.Fatalf("got %d %s", code, body)
	}
}
