package handler

import (
	"errors"
	"math"
	"math/big"
	"regexp"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"numbers/outcome"
)

// timeoutCase is one header value and what it parses to; 0 is malformed.
type timeoutCase struct {
	in   string
	want time.Duration
}

func TestParseCallerTimeout(t *testing.T) {
	parsers := []struct {
		name  string
		parse func([]byte) (time.Duration, error)
		err   error
		cases []timeoutCase
	}{
		{"grpc-timeout", parseGRPCTimeout, errGRPCTimeout, []timeoutCase{
			{"250m", 250 * time.Millisecond},
			{"1S", time.Second},
			{"100000u", 100 * time.Millisecond},
			{"5000000n", 5 * time.Millisecond},
			{"2M", 2 * time.Minute},
			{"1H", time.Hour},
			{"00000250m", 250 * time.Millisecond}, // 8 digits, leading zeros
			{"99999999n", 99999999},
			{"99999999H", math.MaxInt64}, // too long for a Duration: saturates
			{"", 0},
			{"m", 0},
			{"250", 0},   // no unit
			{"250ms", 0}, // Go's syntax, not gRPC's
			{"250s", 0},  // seconds are S
			{"250h", 0},
			{"0m", 0}, // must be positive
			{"000000000m", 0},
			{"123456789m", 0}, // 9 digits
			{"-250m", 0},
			{"+250m", 0},
			{" 250m", 0},
			{"2.5S", 0},
			{"1e3m", 0},
			{"２５０m", 0},
		}},
		{"x-envoy-expected-rq-timeout-ms", parseEnvoyTimeout, errEnvoyTimeout, []timeoutCase{
			{"250", 250 * time.Millisecond},
			{"1", time.Millisecond},
			{"0250", 250 * time.Millisecond},
			{"15000", 15 * time.Second},
			{"99999999999999999999999", math.MaxInt64},
			{"", 0},
			{"0", 0},
			{"-1", 0},
			{"250ms", 0},
			{"2.5", 0},
			{"1e3", 0},
			{"0x10", 0},
		}},
	}
	for _, p := range parsers {
		for _, tt := range p.cases {
			got, err := p.parse([]byte(tt.in))
			switch {
			case tt.want == 0 && !errors.Is(err, p.err):
				t.Errorf("%s %q: %v, %v; want %v", p.name, tt.in, got, err, p.err)
			case tt.want != 0 && (err != nil || got != tt.want):
				t.Errorf("%s %q: %v, %v; want %v", p.name, tt.in, got, err, tt.want)
			}
		}
	}
}

// grpcOracle parses a grpc-timeout the obvious way: a regular expression for
// the grammar, arbitrary-precision arithmetic for the value.
var grpcOracleRE = regexp.MustCompile(`^([0-9]{1,8})([HMSmun])$`)

func grpcOracle(s string) (time.Duration, bool) {
	m := grpcOracleRE.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	n, _ := new(big.Int).SetString(m[1], 10)
	if n.Sign() == 0 {
		return 0, false
	}
	unit := map[string]time.Duration{"H": time.Hour, "M": time.Minute, "S": time.Second,
		"m": time.Millisecond, "u": time.Microsecond, "n": time.Nanosecond}[m[2]]
	n.Mul(n, big.NewInt(int64(unit)))
	if !n.IsInt64() {
		return math.MaxInt64, true
	}
	return time.Duration(n.Int64()), true
}

var envoyOracleRE = regexp.MustCompile(`^[0-9]+$`)

func envoyOracle(s string) (time.Duration, bool) {
	if !envoyOracleRE.MatchString(s) {
		return 0, false
	}
	n, _ := new(big.Int).SetString(s, 10)
	if n.Sign() == 0 {
		return 0, false
	}
	n.Mul(n, big.NewInt(int64(time.Millisecond)))
	if !n.IsInt64() {
		return math.MaxInt64, true
	}
	return time.Duration(n.Int64()), true
}

func FuzzParseCallerTimeout(f *testing.F) {
	for _, s := range []string{"250m", "1S", "100000u", "99999999H", "0m", "", "250", "92233720368547", "9223372036854775807", "9223372036854776", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseGRPCTimeout([]byte(s))
		want, ok := grpcOracle(s)
		if (err == nil) != ok || got != want {
			t.Errorf("parseGRPCTimeout(%q) = %v, %v; oracle %v, %v", s, got, err, want, ok)
		}
		got, err = parseEnvoyTimeout([]byte(s))
		want, ok = envoyOracle(s)
		if (err == nil) != ok || got != want {
			t.Errorf("parseEnvoyTimeout(%q) = %v, %v; oracle %v, %v", s, got, err, want, ok)
		}
	})
}

func TestBudgetFor(t *testing.T) {
	h := New(Config{Source: newFake(nil), Budget: 500 * time.Millisecond, Planner: plannerWith(10*time.Millisecond, 0)})
	tests := []struct {
		name        string
		grpc, envoy string
		want        time.Duration
		err         error
	}{
		{"none", "", "", 500 * time.Millisecond, nil},
		{"grpc shorter", "250m", "", 250 * time.Millisecond, nil},
		{"envoy shorter", "", "300", 300 * time.Millisecond, nil},
		{"both: the smaller, grpc", "200m", "300", 200 * time.Millisecond, nil},
		{"both: the smaller, envoy", "1S", "120", 120 * time.Millisecond, nil},
		{"grpc longer: capped", "1H", "", 500 * time.Millisecond, nil},
		{"envoy longer: capped", "", "600000", 500 * time.Millisecond, nil},
		{"grpc saturating: capped", "99999999H", "", 500 * time.Millisecond, nil},
		{"the least that can be met", "11m", "", 11 * time.Millisecond, nil},
		{"too short to fetch and answer", "10m", "", 0, errShortBudget},
		{"too short, envoy", "", "5", 0, errShortBudget},
		{"malformed grpc", "250ms", "", 0, errGRPCTimeout},
		{"malformed envoy", "", "0.5", 0, errEnvoyTimeout},
		{"malformed envoy beside a good grpc", "250m", "abc", 0, errEnvoyTimeout},
		{"zero grpc", "0S", "", 0, errGRPCTimeout},
		{"zero envoy", "", "0", 0, errEnvoyTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hdr fasthttp.RequestHeader
			if tt.grpc != "" {
				hdr.Set("Grpc-Timeout", tt.grpc) // header names are case-insensitive
			}
			if tt.envoy != "" {
				hdr.Set("X-Envoy-Expected-Rq-Timeout-Ms", tt.envoy)
			}
			got, err := h.budgetFor(&hdr)
			if !errors.Is(err, tt.err) || got != tt.want {
				t.Fatalf("budgetFor = %v, %v; want %v, %v", got, err, tt.want, tt.err)
			}
		})
	}
}

// TestCallerBudget: the answer comes within the caller's shorter budget
// against a hanging upstream, and is judged late against that budget.
func TestCallerBudget(t *testing.T) {
	tests := []struct {
		name, key, value string
		budget           time.Duration // the service's
		want             time.Duration // the one in use
	}{
		{"grpc-timeout", grpcTimeoutHeader, "200m", 10 * time.Second, 200 * time.Millisecond},
		{"x-envoy-expected-rq-timeout-ms", envoyTimeoutHeader, "200", 10 * time.Second, 200 * time.Millisecond},
		{"longer than the service's: capped", grpcTimeoutHeader, "1H", 200 * time.Millisecond, 200 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(map[string]canned{
				"http://fast.test/": {numbers: []int64{2, 4}},
				"http://hang.test/": {block: true},
			})
			obs := &recorder{}
			ln := serve(t, New(Config{Source: f, Budget: tt.budget, Observer: obs}))
			start := time.Now()
			resp := roundTripHeader(t, ln, numbersURI("http://fast.test/", "http://hang.test/"), tt.key, tt.value)
			if took := time.Since(start); took > tt.want+slack {
				t.Errorf("answered after %v; the budget in use is %v", took, tt.want)
			}
			if resp.StatusCode() != 200 || string(resp.Body()) != `{"numbers":[2,4]}` {
				t.Fatalf("got %d %s", resp.StatusCode(), resp.Body())
			}
			want := outcomes(map[outcome.Outcome]int{outcome.OK: 1, outcome.Timeout: 1})
			if got := string(resp.Header.Peek(outcomesHeader)); got != want {
				t.Errorf("%s %q; want %q", outcomesHeader, got, want)
			}
			if _, answered, late := obs.counts(); answered != 1 || late != 0 {
				t.Errorf("Answered %d times, %d late; want once, on time", answered, late)
			}
		})
	}
}

func TestCallerBudgetBad(t *testing.T) {
	tests := []struct {
		name, key, value string
		body             string
	}{
		{"malformed grpc-timeout", grpcTimeoutHeader, "250ms", string(errorBody(errGRPCTimeout.Error()))},
		{"malformed envoy", envoyTimeoutHeader, "-1", string(errorBody(errEnvoyTimeout.Error()))},
		{"too short", grpcTimeoutHeader, "5m",
			`{"error":"requested budget too short: 5ms asked for, this service needs at least 11ms to fetch and answer"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(map[string]canned{"http://a.test/": {numbers: []int64{1}}})
			ln := serve(t, New(Config{Source: f, Planner: plannerWith(10*time.Millisecond, 0)}))
			resp := roundTripHeader(t, ln, numbersURI("http://a.test/"), tt.key, tt.value)
			if resp.StatusCode() != 400 || string(resp.Body()) != tt.body {
				t.Fatalf("got %d %s; want 400 %s", resp.StatusCode(), resp.Body(), tt.body)
			}
			if got := f.callCounts()["http://a.test/"]; got != 0 {
				t.Errorf("bad request fetched %d times", got)
			}
		})
	}
}
