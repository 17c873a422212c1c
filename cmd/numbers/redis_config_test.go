package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestRedisFlags(t *testing.T) {
	cases := map[string]struct {
		args    []string
		env     map[string]string
		url     string
		lease   time.Duration
		wantErr bool
	}{
		"off by default":  {url: "", lease: 5 * time.Second},
		"flag":            {args: []string{"-redis", "redis://127.0.0.1:6379/0", "-job-lease", "2s"}, url: "redis://127.0.0.1:6379/0", lease: 2 * time.Second},
		"env twin":        {env: map[string]string{"NUMBERS_REDIS": "redis://r:6379", "NUMBERS_JOB_LEASE": "3s"}, url: "redis://r:6379", lease: 3 * time.Second},
		"flag wins":       {args: []string{"-redis", "redis://a:1"}, env: map[string]string{"NUMBERS_REDIS": "redis://b:2"}, url: "redis://a:1", lease: 5 * time.Second},
		"not a URL":       {args: []string{"-redis", "127.0.0.1:6379"}, wantErr: true},
		"other scheme":    {args: []string{"-redis", "http://127.0.0.1:6379"}, wantErr: true},
		"lease too short": {args: []string{"-redis", "redis://r:1", "-job-lease", "10ms"}, wantErr: true},
		"no look-up":      {args: []string{"-redis", "redis://r:1", "-redis-lookup", "0"}, wantErr: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			cfg, err := parseConfig(tc.args, func(k string) string { return tc.env[k] }, io.Discard)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v; want error %v", err, tc.wantErr)
			}
			if err == nil && (cfg.redis.url != tc.url || cfg.redis.jobLease != tc.lease) {
				t.Fatalf("redis %q, lease %v; want %q, %v", cfg.redis.url, cfg.redis.jobLease, tc.url, tc.lease)
			}
		})
	}
}

// TestRedisURLRedacted: the start-up log never shows the URL's password.
func TestRedisURLRedacted(t *testing.T) {
	c := redisConfig{url: "redis://user:secret@r:6379/0"}
	if got := c.LogValue().String(); got == "" || strings.Contains(got, "secret") {
		t.Fatalf("logged %q", got)
	}
}
