package bench

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestParseOutcomes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		in       string
		want     Outcomes
		complete float64
	}{
		{"service", "ok=3,cached=0,stale=0,failed=1,denied=0,timeout=0,invalid=0", Outcomes{OK: 3, Total: 4}, 0.75},
		{"with ejected", "ok=3,cached=0,stale=0,failed=0,denied=0,timeout=0,invalid=0,ejected=1", Outcomes{OK: 3, Ejected: 1, Total: 4}, 0.75},
		{"cached counts", "ok=1,cached=1,failed=2", Outcomes{OK: 1, Cached: 1, Total: 4}, 0.5},
		{"invalid excluded", "ok=2,invalid=2", Outcomes{OK: 2, Invalid: 2, Total: 4}, 1},
		{"all invalid", "ok=0,invalid=3", Outcomes{Invalid: 3, Total: 3}, 1},
		{"unknown keys", "ok=1,brand_new=3", Outcomes{OK: 1, Total: 4}, 0.25},
		{"spaces", " ok = 2 , failed=2 ", Outcomes{OK: 2, Total: 4}, 0.5},
		{"none", "ok=0", Outcomes{}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen := map[string]uint64{}
			got, err := ParseOutcomes([]byte(tc.in), func(k []byte, n uint64) { seen[string(k)] += n })
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			if c := got.Completeness(); c != tc.complete {
				t.Fatalf("completeness %v, want %v", c, tc.complete)
			}
			var sum uint64
			for _, n := range seen {
				sum += n
			}
			if sum != got.Total {
				t.Fatalf("visited %v, total %d", seen, got.Total)
			}
		})
	}
}

func TestParseOutcomesErrors(t *testing.T) {
	for _, in := range []string{"", " ", "ok", "ok=", "=3", "ok=-1", "ok=1,,failed=2", "ok=x", "ok=1;failed=2", "ok=1234567890123456789"} {
		t.Run(strconv.Quote(in), func(t *testing.T) {
			if _, err := ParseOutcomes([]byte(in), nil); !errors.Is(err, ErrOutcomes) {
				t.Fatalf("err %v, want ErrOutcomes", err)
			}
		})
	}
}

// FuzzParseOutcomes checks the parser against a naive strings.Split oracle.
func FuzzParseOutcomes(f *testing.F) {
	for _, s := range []string{"ok=3,failed=1", "ok=1,cached=2,invalid=3,ejected=4", "a=1", ",", "ok= 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := ParseOutcomes([]byte(in), nil)
		counts := map[string]uint64{}
		var total uint64
		ok := strings.TrimSpace(in) != ""
		for _, pair := range strings.Split(in, ",") {
			k, v, found := strings.Cut(strings.TrimSpace(pair), "=")
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			n, perr := strconv.ParseUint(v, 10, 64)
			if !found || k == "" || perr != nil || len(v) > 18 || strings.ContainsAny(v, "+-") {
				ok = false
				break
			}
			counts[k] += n
			total += n
		}
		want := Outcomes{OK: counts["ok"], Cached: counts["cached"], Invalid: counts["invalid"], Ejected: counts["ejected"], Total: total}
		if ok != (err == nil) || (ok && got != want) {
			t.Fatalf("%q: got %+v, %v; oracle %+v, ok %v", in, got, err, want, ok)
		}
	})
}

func TestCountNumbers(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		good bool
	}{
		{`{"numbers":[]}`, 0, true},
		{`{"numbers":[1]}`, 1, true},
		{`{"numbers":[1,2,3]}` + "\n", 3, true},
		{`{"error":"x"}`, 0, false},
		{`{"numbers":[1,2`, 0, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			n, good := countNumbers([]byte(tc.in))
			if n != tc.n || good != tc.good {
				t.Fatalf("got %d %v, want %d %v", n, good, tc.n, tc.good)
			}
		})
	}
}
