package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunFlags(t *testing.T) {
	dir := t.TempDir()
	badConfig := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(badConfig, []byte(`{"/x": "n=oops"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		env  map[string]string
		code int
		out  string // substring of stdout (code 0) or stderr
	}{
		{"help", []string{"-h"}, nil, 0, "Usage: simulator"},
		{"unknown flag", []string{"-bogus"}, nil, 2, "flag provided but not defined"},
		{"stray argument", []string{"x"}, nil, 2, "unexpected argument"},
		{"bad seed", []string{"-seed", "x"}, nil, 2, "-seed"},
		{"bad seed from env", nil, map[string]string{"UPSTREAM_SEED": "1.5"}, 2, "-seed"},
		{"missing config", []string{"-config", filepath.Join(dir, "none.json")}, nil, 2, "-config"},
		{"bad config", []string{"-config", badConfig}, nil, 2, "n="},
		{"bad addr", []string{"-addr", "127.0.0.1:99999"}, nil, 1, "listen"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, func(k string) string { return tc.env[k] }, &stdout, &stderr)
			out := stderr.String()
			if code == 0 {
				out = stdout.String()
			}
			if code != tc.code || !strings.Contains(out, tc.out) {
				t.Errorf("code %d, output %q; want %d containing %q", code, out, tc.code, tc.out)
			}
			if code == 2 && strings.Count(strings.TrimSpace(out), "\n") != 0 {
				t.Errorf("want a one-line reason, got %q", out)
			}
		})
	}
}

func TestUsageDocumentsEverything(t *testing.T) {
	for _, s := range []string{"-addr", "UPSTREAM_ADDR", "-seed", "UPSTREAM_SEED", "-config", "UPSTREAM_CONFIG",
		"/primes", "/fibo", "/odd", "/rand", "/numbers", "/stats", "/stats/reset",
		"n=", "min=", "max=", "dup=", "order=", "pretty=", "key=", "seed=", "delay=", "dist=", "lo=", "hi=",
		"p50=", "p99=", "fail=", "status=", "mode=", "p=", "every=", "types=", "size=", "hops=",
		"reset", "hang", "trickle", "truncate", "malformed", "wrongtype", "huge", "redirect", "loop", "html",
		"cc=", "expires=", "age=", "date=", "nonce="} {
		if !strings.Contains(usage, s) {
			t.Errorf("usage does not mention %q", s)
		}
	}
}
