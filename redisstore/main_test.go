package redisstore

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"numbers/redisstore/redistest"
)

// srv is the redis-server the tests share; each test uses keys of its own
// (a prefix per test).
var srv *redistest.Server

func TestMain(m *testing.M) {
	code := redistest.Main(m, &srv)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// open returns a client of srv whose keys start with the test's name, closed
// at the test's end.
func open(t *testing.T, url string) *Client {
	t.Helper()
	c, err := Open(Config{URL: url, Prefix: t.Name() + ":"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}
