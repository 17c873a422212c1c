package main

import (
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"numbers/overload"
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

func TestConfigOverload(t *testing.T) {
	tests := []struct {
		name        string
		args, env   []string
		maxInFlight int
		queueLimit  time.Duration
		busyLimit   float64
	}{
		{"defaults", nil, nil, overload.DefaultMaxInFlight, overload.DefaultQueueLimit, overload.DefaultBusyLimit},
		{"flags", []string{"-max-in-flight", "10", "-queue-limit", "20ms", "-busy-limit", "0.5"}, nil, 10, 20 * time.Millisecond, 0.5},
		{"env twins", nil, []string{"NUMBERS_QUEUE_LIMIT=2ms", "NUMBERS_BUSY_LIMIT=1"}, overload.DefaultMaxInFlight, 2 * time.Millisecond, 1},
		{"the flag wins over the env", []string{"-queue-limit", "3ms"}, []string{"NUMBERS_QUEUE_LIMIT=2ms"}, overload.DefaultMaxInFlight, 3 * time.Millisecond, overload.DefaultBusyLimit},
		{"off", []string{"-max-in-flight", "-1", "-queue-limit", "-1ns"}, nil, -1, -1, overload.DefaultBusyLimit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseConfig(tt.args, env(tt.env...), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if c.maxInFlight != tt.maxInFlight || c.queueLimit != tt.queueLimit || c.busyLimit != tt.busyLimit {
				t.Fatalf("max in flight %d, queue limit %v, busy limit %g; want %d, %v, %g",
					c.maxInFlight, c.queueLimit, c.busyLimit, tt.maxInFlight, tt.queueLimit, tt.busyLimit)
			}
		})
	}
}

func TestConfigKernelArrival(t *testing.T) {
	tests := []struct {
		args, env []string
		want      string
	}{
		{nil, nil, "busy"},
		{[]string{"-kernel-arrival=never"}, nil, "never"},
		{nil, []string{"NUMBERS_KERNEL_ARRIVAL=always"}, "always"},
		{[]string{"-kernel-arrival", "busy"}, []string{"NUMBERS_KERNEL_ARRIVAL=never"}, "busy"},
	}
	for _, tt := range tests {
		c, err := parseConfig(tt.args, env(tt.env...), io.Discard)
		if err != nil || c.kernelArrival != tt.want {
			t.Errorf("args %q env %q: kernel arrival %v, %v; want %v", tt.args, tt.env, c.kernelArrival, err, tt.want)
		}
	}
}

func TestConfigOverloadInvalid(t *testing.T) {
	tests := []struct {
		name      string
		args, env []string
		want      string // in the error
	}{
		{"no requests in flight", []string{"-max-in-flight", "0"}, nil, "-max-in-flight"},
		{"under -1 in flight", []string{"-max-in-flight", "-2"}, nil, "-max-in-flight"},
		{"zero queue limit", []string{"-queue-limit", "0"}, nil, "-queue-limit"},
		{"busy limit over 1", []string{"-busy-limit", "1.5"}, nil, "-busy-limit"},
		{"busy limit zero", []string{"-busy-limit", "0"}, nil, "-busy-limit"},
		{"zero caller delay", []string{"-max-caller-delay", "0"}, nil, "-max-caller-delay"},
		{"not a duration", []string{"-queue-limit", "5"}, nil, "queue-limit"},
		{"kernel arrival neither busy, always nor never", []string{"-kernel-arrival", "true"}, nil, "-kernel-arrival"},
		{"env not a duration", nil, []string{"NUMBERS_QUEUE_LIMIT=soon"}, "NUMBERS_QUEUE_LIMIT"},
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

func TestConfigHelpDocumentsOverload(t *testing.T) {
	var out strings.Builder
	_, err := parseConfig([]string{"-h"}, env(), &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("parseConfig(-h) = %v; want flag.ErrHelp", err)
	}
	for _, want := range []string{"  -queue-limit duration\n", "(default 50ms)", "  -busy-limit float\n", "(default 0.95)",
		"  -max-caller-delay duration\n", "(default 40ms)", "  -kernel-arrival string\n", "  -memory-limit value\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("-h does not say %q", want)
		}
	}
}

// TestConfigMemoryLimit: the limit is off unless given, and a given one
// is read as bytes.
func TestConfigMemoryLimit(t *testing.T) {
	c, err := parseConfig(nil, env(), io.Discard)
	if err != nil || c.memoryLimit != 0 {
		t.Fatalf("default memory limit %d, %v; want 0 (the runtime's own)", c.memoryLimit, err)
	}
	c, err = parseConfig(nil, env("NUMBERS_MEMORY_LIMIT=512MiB"), io.Discard)
	if err != nil || c.memoryLimit != 512<<20 {
		t.Fatalf("memory limit %d, %v; want 512MiB", c.memoryLimit, err)
	}
}
