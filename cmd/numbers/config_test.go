package main

import (
	"errors"
	"flag"
	"io"
	"math"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"testing"
	"time"
)

// env returns a getenv that reads kv ("NAME=value" pairs).
func env(kv ...string) func(string) string {
	m := map[string]string{}
	for _, s := range kv {
		k, v, _ := strings.Cut(s, "=")
		m[k] = v
	}
	return func(k string) string { return m[k] }
}

func TestConfigAdmission(t *testing.T) {
	tests := []struct {
		name             string
		args, env        []string
		target, interval time.Duration
	}{
		{"defaults", nil, nil, 5 * time.Millisecond, 100 * time.Millisecond},
		{"flags", []string{"-admit-target", "10ms", "-admit-interval", "200ms"}, nil, 10 * time.Millisecond, 200 * time.Millisecond},
		{"env twins", nil, []string{"NUMBERS_ADMIT_TARGET=2ms", "NUMBERS_ADMIT_INTERVAL=50ms"}, 2 * time.Millisecond, 50 * time.Millisecond},
		{"the flag wins over the env", []string{"-admit-target", "3ms"}, []string{"NUMBERS_ADMIT_TARGET=2ms"}, 3 * time.Millisecond, 100 * time.Millisecond},
		{"off", []string{"-admit-target", "0"}, nil, 0, 100 * time.Millisecond},
		{"off: the interval is not checked", []string{"-admit-target", "0", "-admit-interval", "0"}, nil, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseConfig(tt.args, env(tt.env...), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if c.admitTarget != tt.target || c.admitInterval != tt.interval {
				t.Fatalf("admit target %v, interval %v; want %v, %v", c.admitTarget, c.admitInterval, tt.target, tt.interval)
			}
		})
	}
}

func TestConfigKernelArrival(t *testing.T) {
	tests := []struct {
		args, env []string
		want      bool
	}{
		{nil, nil, true},
		{[]string{"-kernel-arrival=false"}, nil, false},
		{nil, []string{"NUMBERS_KERNEL_ARRIVAL=false"}, false},
		{[]string{"-kernel-arrival"}, []string{"NUMBERS_KERNEL_ARRIVAL=false"}, true},
	}
	for _, tt := range tests {
		c, err := parseConfig(tt.args, env(tt.env...), io.Discard)
		if err != nil || c.kernelArrival != tt.want {
			t.Errorf("args %q env %q: kernel arrival %v, %v; want %v", tt.args, tt.env, c.kernelArrival, err, tt.want)
		}
	}
}

func TestConfigAdmissionInvalid(t *testing.T) {
	tests := []struct {
		name      string
		args, env []string
		want      string // in the error
	}{
		{"negative target", []string{"-admit-target", "-1ms"}, nil, "-admit-target"},
		{"interval equal to the target", []string{"-admit-target", "100ms"}, nil, "-admit-interval"},
		{"interval shorter than the target", []string{"-admit-target", "5ms", "-admit-interval", "1ms"}, nil, "-admit-interval"},
		{"zero interval", []string{"-admit-interval", "0"}, nil, "-admit-interval"},
		{"not a duration", []string{"-admit-target", "5"}, nil, "admit-target"},
		{"env not a duration", nil, []string{"NUMBERS_ADMIT_INTERVAL=soon"}, "NUMBERS_ADMIT_INTERVAL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseConfig(tt.args, env(tt.env...), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("parseConfig = %v; want an error naming %s", err, tt.want)
			}
		})
	}
}

func TestConfigHelpDocumentsAdmission(t *testing.T) {
	var out strings.Builder
	_, err := parseConfig([]string{"-h"}, env(), &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("parseConfig(-h) = %v; want flag.ErrHelp", err)
	}
	for _, want := range []string{"  -admit-target duration\n", "(default 5ms)", "  -admit-interval duration\n", "(default 100ms)", "  -kernel-arrival\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("-h does not say %q", want)
		}
	}
}

func TestConfigGC(t *testing.T) {
	tests := []struct {
		name                     string
		args, env                []string
		percent                  int
		limit                    byteSize
		applyPercent, applyLimit bool
		announce                 bool
	}{
		{"defaults", nil, nil, defaultGCPercent, defaultMemoryLimit, true, true, true},
		{"collections left to the runtime", []string{"-gc-announce=false"}, nil, defaultGCPercent, defaultMemoryLimit, true, true, false},
		{"flags", []string{"-gc-percent", "100", "-memory-limit", "512MiB"}, nil, 100, 512 << 20, true, true, true},
		{"env twins", nil, []string{"NUMBERS_GC_PERCENT=200", "NUMBERS_MEMORY_LIMIT=2GiB"}, 200, 2 << 30, true, true, true},
		{"Go's variables stand when the flags are left alone", nil, []string{"GOGC=50", "GOMEMLIMIT=100MiB"}, defaultGCPercent, defaultMemoryLimit, false, false, true},
		{"a flag wins over Go's variable", []string{"-gc-percent", "300"}, []string{"GOGC=50", "GOMEMLIMIT=100MiB"}, 300, defaultMemoryLimit, true, false, true},
		{"a twin wins over Go's variable", nil, []string{"GOMEMLIMIT=100MiB", "NUMBERS_MEMORY_LIMIT=3GiB"}, defaultGCPercent, 3 << 30, true, true, true},
		{"off, bounded by the limit", []string{"-gc-percent", "-1"}, nil, -1, defaultMemoryLimit, true, true, true},
		{"no limit", []string{"-memory-limit", "0"}, nil, defaultGCPercent, 0, true, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseConfig(tt.args, env(tt.env...), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			want := gcConfig{percent: tt.percent, limit: tt.limit, announce: tt.announce, applyPercent: tt.applyPercent, applyLimit: tt.applyLimit}
			if c.gc != want {
				t.Fatalf("gc config %+v, want %+v", c.gc, want)
			}
		})
	}
}

func TestConfigGCInvalid(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // in the error
	}{
		{"percent under -1", []string{"-gc-percent", "-2"}, "-gc-percent"},
		{"negative limit", []string{"-memory-limit", "-1"}, "-memory-limit"},
		{"off without a limit", []string{"-gc-percent", "-1", "-memory-limit", "0"}, "-memory-limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseConfig(tt.args, env(), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one naming %s", err, tt.want)
			}
		})
	}
}

// TestGCApply: the settings that apply reach the runtime, the others leave
// it as it was.
func TestGCApply(t *testing.T) {
	oldPercent, oldLimit := debug.SetGCPercent(100), debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() { debug.SetGCPercent(oldPercent); debug.SetMemoryLimit(oldLimit) })

	gcConfig{percent: 250, limit: 300 << 20, applyPercent: true, applyLimit: true}.apply()
	if p, l := debug.SetGCPercent(100), debug.SetMemoryLimit(-1); p != 250 || l != 300<<20 {
		t.Fatalf("applied: percent %d, limit %d; want 250, %d", p, l, 300<<20)
	}
	gcConfig{percent: 250, limit: 0, applyPercent: false, applyLimit: true}.apply()
	if p, l := debug.SetGCPercent(100), debug.SetMemoryLimit(-1); p != 100 || l != math.MaxInt64 {
		t.Fatalf("percent left, no limit: percent %d, limit %d; want 100, no limit", p, l)
	}
	if p := (gcConfig{percent: 250, announce: true, applyPercent: false}).apply(); p != nil {
		p.Stop()
		t.Fatal("a Pacer started with GOGC standing")
	}
	if p := (gcConfig{percent: -1, limit: 1 << 30, announce: true, applyPercent: true, applyLimit: true}).apply(); p != nil {
		p.Stop()
		t.Fatal("a Pacer started with collections off")
	}

	// Announced: the Pacer collects, the runtime's own pacing is off until
	// it stops.
	pacer := gcConfig{percent: 250, limit: 1 << 30, announce: true, applyPercent: true, applyLimit: true}.apply()
	if pacer == nil {
		t.Fatal("no Pacer with -gc-announce")
	}
	if p := gogc(); p != -1 {
		t.Errorf("GOGC %d while the Pacer runs; want -1", p)
	}
	pacer.Stop()
	if p := gogc(); p != 250 {
		t.Errorf("GOGC %d after the Pacer stopped; want 250", p)
	}
}

// gogc reads the runtime's GOGC setting without changing it.
func gogc() int64 {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64())
}
