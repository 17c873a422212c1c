package main

import (
	"errors"
	"flag"
	"io"
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
