package bench

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

func TestRunSmoke(t *testing.T) {
	target := instantServer(t)
	var progress int
	res, err := Run(context.Background(), Attack{
		Name: "smoke", URL: target, Pacer: ConstantPacer{Freq: 1000},
		Duration: 300 * time.Millisecond, Progress: func(Progress) { progress++ },
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 300 || res.Responses != 300 {
		t.Fatalf("requests %d responses %d, want 300 each", res.Requests, res.Responses)
	}
	if res.Status[200] != 300 || res.ErrorCount() != 0 {
		t.Fatalf("status %v errors %v", res.Status, res.Errors)
	}
	if res.Completeness != 0.75 || res.MeanLength != 3 || res.Complete != 0 {
		t.Fatalf("completeness %v mean length %v complete %d", res.Completeness, res.MeanLength, res.Complete)
	}
	if res.Outcomes["ok"] != 900 || res.Outcomes["failed"] != 300 {
		t.Fatalf("outcomes %v", res.Outcomes)
	}
	if res.Latency.Max >= DefaultBudget.Seconds()*1e3 || res.Late != 0 {
		t.Fatalf("latency %+v late %d", res.Latency, res.Late)
	}
	if res.Throughput <= 0 {
		t.Fatalf("throughput %v", res.Throughput)
	}
}

func TestRunRefused(t *testing.T) {
	res, err := Run(context.Background(), Attack{
		Name: "refused", URL: "http://127.0.0.1:1/", Pacer: ConstantPacer{Freq: 100},
		Duration: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors[KindRefused] != res.Requests || res.Requests != 10 {
		t.Fatalf("errors %v requests %d", res.Errors, res.Requests)
	}
}

func TestRunRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		a    Attack
	}{
		{"no pacer", Attack{URL: "http://127.0.0.1:1/", Duration: time.Second}},
		{"no duration", Attack{URL: "http://127.0.0.1:1/", Pacer: ConstantPacer{Freq: 1}}},
		{"https", Attack{URL: "https://127.0.0.1:1/", Pacer: ConstantPacer{Freq: 1}, Duration: time.Second}},
		{"private address", Attack{URL: "http://10.0.0.1:1/", Pacer: ConstantPacer{Freq: 1}, Duration: time.Second}},
		{"public name", Attack{URL: "http://example.com/", Pacer: ConstantPacer{Freq: 1}, Duration: time.Second}},
		{"unspecified address", Attack{URL: "http://0.0.0.0:1/", Pacer: ConstantPacer{Freq: 1}, Duration: time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Run(context.Background(), tc.a); !errors.Is(err, ErrAttack) {
				t.Fatalf("err %v, want ErrAttack", err)
			}
		})
	}
}

func TestRunCancel(t *testing.T) {
	target := instantServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := Run(ctx, Attack{URL: target, Pacer: ConstantPacer{Freq: 10}, Duration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests > 1 {
		t.Fatalf("sent %d after cancel", res.Requests)
	}
}

// TestCallerSlack: with CallerSlack, every request carries grpc-timeout
// with the budget left since its intended send time less the slack, in
// microseconds (never more than budget - slack); without it, none.
func TestCallerSlack(t *testing.T) {
	const budget, slack = 500 * time.Millisecond, 50 * time.Millisecond
	for _, s := range []time.Duration{0, slack} {
		var mu sync.Mutex
		var got []string
		target := loopbackServer(t, func(ctx *fasthttp.RequestCtx) {
			mu.Lock()
			got = append(got, string(ctx.Request.Header.Peek("grpc-timeout")))
			mu.Unlock()
		})
		if _, err := Run(context.Background(), Attack{URL: target, Pacer: ConstantPacer{Freq: 100},
			Duration: 100 * time.Millisecond, Budget: budget, CallerSlack: s}); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		if len(got) != 10 {
			t.Fatalf("slack %v: %d requests, want 10", s, len(got))
		}
		for _, v := range got {
			if s == 0 {
				if v != "" {
					t.Fatalf("grpc-timeout %q sent without CallerSlack", v)
				}
				continue
			}
			us, err := strconv.ParseInt(strings.TrimSuffix(v, "u"), 10, 64)
			if err != nil || !strings.HasSuffix(v, "u") || us <= 0 || time.Duration(us)*time.Microsecond > budget-slack {
				t.Fatalf("grpc-timeout %q, want 1 to %d microseconds", v, (budget-slack)/time.Microsecond)
			}
		}
		mu.Unlock()
	}
}
