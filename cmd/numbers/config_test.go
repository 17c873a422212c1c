package main

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"numbers/service"
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

// file writes body to a file of the test and returns its path.
func file(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tuning.json")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestConfigZeroIsTheDefault: nothing given leaves every setting at zero,
// which the service reads as its default.
func TestConfigZeroIsTheDefault(t *testing.T) {
	o, err := parseConfig(nil, env(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	o.svc.Tracing.Sampler.Ratio = 0 // resolved from the environment, not a service default
	if o.svc.Addr != "" || o.svc.Budget != 0 || o.svc.Cache != (service.Cache{}) || o.svc.Overload != (service.Overload{}) ||
		o.svc.Outliers != (service.Outliers{}) || o.svc.Jobs != (service.Jobs{}) || o.svc.Redis != (service.Redis{}) || o.memoryLimit != 0 {
		t.Fatalf("defaults %+v; want zero values", o.svc)
	}
}

func TestConfigFlagsAndTwins(t *testing.T) {
	tests := []struct {
		name      string
		args, env []string
		check     func(options) bool
	}{
		{"flag", []string{"-budget", "300ms", "-cache-bytes", "1MiB"}, nil,
			func(o options) bool { return o.svc.Budget == 300*time.Millisecond && o.svc.Cache.Bytes == 1<<20 }},
		{"env twin", nil, []string{"NUMBERS_BUDGET=200ms", "NUMBERS_HEDGE=false"},
			func(o options) bool {
				return o.svc.Budget == 200*time.Millisecond && o.svc.Outliers.Hedge == service.Off
			}},
		{"the flag wins over the env", []string{"-budget", "300ms"}, []string{"NUMBERS_BUDGET=200ms"},
			func(o options) bool { return o.svc.Budget == 300*time.Millisecond }},
		{"off", []string{"-cache-bytes", "off", "-max-stale", "off", "-coalesce=false"}, nil,
			func(o options) bool {
				return o.svc.Cache.Bytes == -1 && o.svc.Cache.MaxStale == -1 && o.svc.Cache.Coalesce == service.Off
			}},
		{"a switch turned on", []string{"-outlier-detection"}, nil,
			func(o options) bool { return o.svc.Outliers.Detection == service.On }},
		{"memory limit", nil, []string{"NUMBERS_MEMORY_LIMIT=512MiB"},
			func(o options) bool { return o.memoryLimit == 512<<20 }},
		{"redis", []string{"-redis", "redis://127.0.0.1:6379/0"}, nil,
			func(o options) bool { return o.svc.Redis.URL == "redis://127.0.0.1:6379/0" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseConfig(tt.args, env(tt.env...), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(o) {
				t.Fatalf("got %+v", o.svc)
			}
		})
	}
}

// TestConfigTuningFile: the tuning settings are read from the -tuning file,
// with the parsers of their kind, and are not flags.
func TestConfigTuningFile(t *testing.T) {
	path := file(t, `{"max-in-flight": 10, "queue-limit": "20ms", "busy-limit": 0.5, "kernel-arrival": "never",
		"background": "off", "outlier-failures": "off", "max-header-bytes": "16KiB", "calibrate": false}`)
	o, err := parseConfig([]string{"-tuning", path}, env(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	c := o.svc
	if c.Overload != (service.Overload{MaxInFlight: 10, QueueLimit: 20 * time.Millisecond, BusyLimit: 0.5, KernelArrival: "never"}) ||
		c.Cache.Background != -1 || c.Outliers.Failures != -1 || c.Server.MaxHeaderBytes != 16<<10 || c.Answer.Calibrate != service.Off {
		t.Fatalf("got %+v", c)
	}
	if _, err := parseConfig([]string{"-queue-limit", "20ms"}, env(), io.Discard); err == nil {
		t.Error("-queue-limit accepted on the command line; it is a tuning setting")
	}
	o, err = parseConfig(nil, env("NUMBERS_TUNING="+path), io.Discard)
	if err != nil || o.svc.Overload.MaxInFlight != 10 {
		t.Errorf("NUMBERS_TUNING: %+v, %v", o.svc.Overload, err)
	}
}

func TestConfigInvalid(t *testing.T) {
	tests := []struct {
		name      string
		args, env []string
		tuning    string
		want      string // in the error
	}{
		{"not a duration", []string{"-budget", "5"}, nil, "", "budget"},
		{"not a size", []string{"-cache-bytes", "lots"}, nil, "", "cache-bytes"},
		{"env not a duration", nil, []string{"NUMBERS_BUDGET=soon"}, "", "NUMBERS_BUDGET"},
		{"unknown flag", []string{"-nope"}, nil, "", "nope"},
		{"stray argument", []string{"extra"}, nil, "", "extra"},
		{"log format", []string{"-log-format", "xml"}, nil, "", "-log-format"},
		{"tuning not JSON", nil, nil, `max-in-flight: 3`, "-tuning"},
		{"tuning key unknown", nil, nil, `{"max-inflight": 3}`, "max-inflight"},
		{"tuning value bad", nil, nil, `{"queue-limit": "soon"}`, "queue-limit"},
		{"negative count", nil, nil, `{"max-in-flight": -2}`, "max-in-flight"},
		{"trace sample without tracing", []string{"-trace-sample", "0.5"}, nil, "", "-trace-sample"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if tt.tuning != "" {
				args = append(args, "-tuning", file(t, tt.tuning))
			}
			_, err := parseConfig(args, env(tt.env...), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("parseConfig = %v; want an error naming %s", err, tt.want)
			}
		})
	}
	if _, err := parseConfig([]string{"-tuning", filepath.Join(t.TempDir(), "none.json")}, env(), io.Discard); err == nil {
		t.Error("a missing -tuning file accepted")
	}
}

// TestConfigHelp: -h lists the flags in groups, with their defaults, and
// the tuning settings under a group of their own.
func TestConfigHelp(t *testing.T) {
	var out strings.Builder
	_, err := parseConfig([]string{"-h"}, env(), &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("parseConfig(-h) = %v; want flag.ErrHelp", err)
	}
	help := out.String()
	for _, want := range []string{"Listeners:\n", "Cache:\n", "Resilience:\n", "Tuning (keys of the -tuning file):\n",
		"  -budget duration\n", "(default 500ms)", "  -queue-limit value\n", "(default 50ms)", "NUMBERS_MAX_URLS"} {
		if !strings.Contains(help, want) {
			t.Errorf("-h does not say %q", want)
		}
	}
	if i, j := strings.Index(help, "  -budget "), strings.Index(help, "Tuning ("); i < 0 || j < i {
		t.Error("-budget is not among the flags before the tuning settings")
	}
}
