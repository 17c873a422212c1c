package fetcher

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"numbers/internal/testupstream"
	"numbers/outcome"
)

// denyHost returns an AllowHost that refuses host with an error wrapping
// ErrDenied, and counts the hosts it was asked about.
func denyHost(host string, asked *atomic.Int64) func(string) error {
	return func(h string) error {
		asked.Add(1)
		if h == host {
			return fmt.Errorf("test policy: %s: %w", h, ErrDenied)
		}
		return nil
	}
}

func TestFetchDenied(t *testing.T) {
	var hits atomic.Int64
	denied := testupstream.Start(t, func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
		hits.Add(1)
		_, _ = w.Write([]byte(`{"numbers":[666]}`))
	})
	deniedHost := strings.TrimPrefix(denied.URL, "http://")
	origin := testupstream.Start(t, testupstream.Reply(302, "", "Location", denied.URL+"/x"))
	allowed := testupstream.Start(t, testupstream.Reply(200, `{"numbers":[1]}`))

	cases := []struct {
		name  string
		url   string
		asked int64
		kind  error
	}{
		{"first host", denied.URL + "/numbers", 1, ErrDenied},
		{"redirect hop", origin.URL + "/numbers", 2, ErrDenied},
		{"other host allowed", allowed.URL, 1, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var asked atomic.Int64
			c := newClient(t, Config{AllowHost: denyHost(deniedHost, &asked)})
			_, err := fetchWithin(t, c, tc.url, budget)
			if tc.kind == nil {
				if err != nil {
					t.Fatal(err)
				}
			} else {
				wantKind(t, err, tc.kind)
				if OutcomeOf(err) != outcome.Denied {
					t.Errorf("OutcomeOf = %v, want denied", OutcomeOf(err))
				}
			}
			if n := asked.Load(); n != tc.asked {
				t.Errorf("AllowHost asked %d times, want %d", n, tc.asked)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the denied upstream saw %d requests, want none", n)
	}
}
