// Command simulator runs the upstream simulator: a fasthttp server that plays every kind of
// upstream the numbers service meets (slow, failing, hanging, trickling, lying, huge, redirecting).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"numbers/bench/simulator"
)

const usage = `Usage: simulator [flags]

Runs the upstream simulator, an HTTP server that plays every kind of upstream the numbers
service meets: slow, failing, resetting, hanging, trickling, truncated, malformed, wrongly typed,
huge, redirecting. Only listen on loopback addresses.

Flags (each has an environment twin; a flag given on the command line wins):
  -addr ADDR     listen address (env UPSTREAM_ADDR, default 127.0.0.1:8090)
  -seed N        non-zero: deterministic payloads, delays and failures (env UPSTREAM_SEED,
                 default 0 = seeded from the clock); a request's seed=N overrides it
  -config FILE   JSON object of extra endpoints, path -> default query string (env UPSTREAM_CONFIG),
                 e.g. {"/slow": "dist=lognormal&p50=100ms&p99=900ms", "/flaky": "fail=0.3&status=500"}
  -h             this help

Routes:
  /primes /fibo /odd /rand   the original challenge's test server: uniform 0-550ms delay, 503 one
                             time in ten, a fixed list under the key "Numbers" (n, min, max or dup
                             switch to a generated list)
  /numbers                   generic: instant, never failing, 20 numbers in 0..1000, key "numbers"
  /<configured>              endpoints from -config (start from the /numbers defaults)
  /stats                     {"paths":{"/primes":12,...},"total":N,"notFound":N} request counts
  /stats/reset               zero the counts (GET or POST)
  anything else              404 {"error":"..."}; a bad or unknown parameter is 400 {"error":"..."}

Query parameters (every numbers route; durations in Go syntax: 250ms, 1.5s; at most 1h):
  payload   n=20          how many numbers (0..10000000)
            min=0 max=1000 value range (int64)
            dup=0         fraction 0..1 of entries that repeat earlier ones
            order=random  asc | desc | random
            pretty=0      1: indented JSON
            key=numbers   the JSON key
            seed=N        per-request deterministic payload, delay and failure draws
  latency   delay=D       fixed delay
            dist=uniform&lo=D&hi=D
            dist=lognormal&p50=D&p99=D   long tail from a median and a 99th percentile
            dist=pareto&p50=D&p99=D      heavier tail, same inputs
  failure   fail=0        probability 0..1 of answering status instead of numbers
            status=503    the status used by fail (100..599)
            mode=M        always (or with probability p=0..1) misbehave after the delay:
              reset       close the connection with a TCP RST, no response
              hang        read the request, never answer (until the client leaves or shutdown)
              trickle     headers, then one body byte every every=50ms
              truncate    Content-Length larger than the body, then close
              malformed   invalid JSON (a trailing comma)
              wrongtype   types=string|float|null|overflow|object instead of integers
              huge        a valid JSON array of size=50MB (KB/MB/GB, KiB/MiB/GiB), streamed
              redirect    a chain of hops=1 302s ending at the numbers
              loop        302 to itself forever
              html        an HTML error page with status 200
              stall       hold the answer back stall=2s, then answer as usual
  caching   cc=VALUE      Cache-Control, verbatim
            expires=D     Expires header at now+D (may be negative)
            age=N         Age header in seconds
            date=D        shift the Date header by D (may be negative)
  other     nonce=X       ignored: makes a URL distinct for caches and coalescing without changing
                          the answer (unlike seed, it fixes nothing)

Examples:
  curl 'http://127.0.0.1:8090/primes?delay=0&fail=0'
  curl 'http://127.0.0.1:8090/numbers?n=5&order=asc&seed=7'
  curl 'http://127.0.0.1:8090/numbers?dist=lognormal&p50=100ms&p99=900ms&fail=0.1&status=500'
  curl 'http://127.0.0.1:8090/numbers?mode=huge&size=100MB' -o /dev/null
`

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run parses flags and serves until SIGINT or SIGTERM; it returns the exit code.
func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("simulator", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	addr := fs.String("addr", envOr(getenv, "UPSTREAM_ADDR", "127.0.0.1:8090"), "listen address")
	seedText := fs.String("seed", envOr(getenv, "UPSTREAM_SEED", "0"), "seed")
	config := fs.String("config", getenv("UPSTREAM_CONFIG"), "endpoints config file")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return 0
		}
		fmt.Fprintf(stderr, "simulator: %v (see -h)\n", err)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "simulator: unexpected argument %q (see -h)\n", fs.Arg(0))
		return 2
	}
	seed, err := strconv.ParseInt(*seedText, 10, 64)
	if err != nil {
		fmt.Fprintf(stderr, "simulator: -seed %q: want an integer (see -h)\n", *seedText)
		return 2
	}
	cfg := simulator.Config{Seed: seed}
	if *config != "" {
		data, err := os.ReadFile(*config)
		if err != nil {
			fmt.Fprintf(stderr, "simulator: -config: %v\n", err)
			return 2
		}
		if cfg.Endpoints, err = simulator.ParseEndpoints(data); err != nil {
			fmt.Fprintf(stderr, "simulator: -config %s: %v\n", *config, err)
			return 2
		}
	}
	srv, url, err := simulator.Start(cfg, *addr)
	if err != nil {
		fmt.Fprintf(stderr, "simulator: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "simulator: serving %s (routes: %v)\n", url, srv.Paths())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	signal.Stop(sig)
	fmt.Fprintln(stderr, "simulator: shutting down")
	if err := srv.Shutdown(); err != nil {
		fmt.Fprintf(stderr, "simulator: %v\n", err)
		return 1
	}
	return 0
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}
