package bench

import (
	"errors"
	"fmt"
	"io"
	"math"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

func TestRecorderSummary(t *testing.T) {
	rec := newRecorder(4, 500*time.Millisecond)
	resp := &fasthttp.Response{}
	resp.SetBodyString(`{"numbers":[1,2,3,4]}`)
	resp.Header.Set("X-Numbers-Outcomes", "ok=1,failed=1")
	resp.Header.Set("X-Numbers-Complete", "false")
	for i := 1; i <= 1000; i++ { // 1ms..1000ms, one each
		d := time.Duration(i) * time.Millisecond
		rec.record(i, d, d, d/2, resp, nil)
	}
	shed := &fasthttp.Response{}
	shed.SetStatusCode(503)
	rec.record(0, 3*time.Second, time.Millisecond, time.Millisecond, shed, nil) // the last failure due
	rec.record(1, time.Second, 5*time.Second, 5*time.Second, nil, fasthttp.ErrTimeout)
	res := &Result{ElapsedS: 2}
	rec.summarize(res)

	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > want*0.001+0.001 { // 3 significant digits
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	near("p50", res.Latency.P50, 500)
	near("p90", res.Latency.P90, 901) // rank 902 of 1002, counting the 1ms 503
	near("p99", res.Latency.P99, 991)
	near("max", res.Latency.Max, 5000)
	if res.Responses != 1002 || res.Late != 501 || res.LateSent != 1 || res.Near != 511 {
		t.Errorf("responses %d late %d late sent %d near %d, want 1002 501 1 511", res.Responses, res.Late, res.LateSent, res.Near)
	}
	if res.Errors[KindTimeout] != 1 || res.Errors["status_503"] != 1 || res.Status[200] != 1000 || res.Status[503] != 1 {
		t.Errorf("errors %v status %v", res.Errors, res.Status)
	}
	near("completeness", res.Completeness, 0.5)
	near("mean length", res.MeanLength, 4)
	near("throughput", res.Throughput, 500)
	near("goodput", res.Goodput, 250) // the 500 answers within 500ms, over 2s
	near("error free after", res.ErrorFreeAfterS, 3)
	if res.Complete != 0 || res.Outcomes["failed"] != 1000 {
		t.Errorf("complete %d outcomes %v", res.Complete, res.Outcomes)
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fasthttp.ErrTimeout, KindTimeout},
		{fmt.Errorf("dial: %w", syscall.ECONNREFUSED), KindRefused},
		{fmt.Errorf("read: %w", syscall.ECONNRESET), KindReset},
		{io.EOF, KindClosed},
		{fasthttp.ErrConnectionClosed, KindClosed},
		{fasthttp.ErrNoFreeConns, KindNoConns},
		{errors.New("odd"), KindTransport},
	} {
		t.Run(tc.want, func(t *testing.T) {
			if got := classify(tc.err); got != tc.want {
				t.Fatalf("classify(%v) = %s, want %s", tc.err, got, tc.want)
			}
		})
	}
}
