// Package redisstore keeps in Redis what the replicas of the service share:
// the second level of the upstream cache ([Cache], a cache.Level) and the
// jobs ([JobStore], a jobs.Store: a hash per job for its document, a Stream
// per job for its event log, a sorted set of the running jobs' leases).
//
// The client is rueidis: its commands to one Redis are pipelined on a few
// shared connections, so thousands of concurrent cache look-ups need no
// pool and wait for no free connection; a command whose context ends before
// its reply returns at once and leaves the connection in use (the late reply
// is discarded), where a pooled client would close it and dial again just
// when Redis is slow; and blocking commands (XREAD BLOCK) get connections of
// their own, so that following job logs never delays a look-up.
//
// Redis being down never stops the service: [Open] returns at once and
// connects in the background, the client reconnects by itself, and every
// operation's failure is an error for the caller to count (a cache miss, a
// job request answered 503). Observe sees every command's duration and error.
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"
)

// Config configures a Client.
type Config struct {
	// URL names the Redis: redis://[user:password@]host:port[/db]; required.
	URL string
	// Timeout bounds each command off the request path (job store, cache
	// writes, leases); zero means 1s.
	Timeout time.Duration
	// Prefix starts every key; zero means "numbers:".
	Prefix string
	// Observe, when set, is told each command's operation (OpCacheGet...),
	// how long it took and its error (nil, or a failure to reach Redis).
	Observe func(op string, took time.Duration, err error)
}

// The operations reported to Config.Observe.
const (
	OpCacheGet = "cache_get" // a cache look-up on the request path
	OpCachePut = "cache_put" // a cache write, in the background
	OpJobRead  = "job_read"  // GET /jobs/{id}, a stream's replay
	OpJobWrite = "job_write" // a job created, an event published, a job ended
	OpJobWatch = "job_watch" // XREAD BLOCK following a log (errors only)
	OpLease    = "lease"     // lease renewals and the sweep of expired leases
)

// ErrDown is returned while no connection to Redis could be made yet.
var ErrDown = errors.New("redisstore: not connected to Redis")

// Client is a connection to one Redis, made in the background. It is safe
// for concurrent use. Close it to stop its goroutines.
type Client struct {
	opt     rueidis.ClientOption
	timeout time.Duration
	prefix  string
	observe func(string, time.Duration, error)

	c    atomic.Pointer[rueidis.Client] // nil until connected
	up   atomic.Bool                    // the last command reached Redis
	ctx  context.Context                // cancelled by Close
	stop context.CancelFunc
	wg   sync.WaitGroup
}

// Open returns a Client for cfg. It fails only on a malformed URL: a Redis
// that cannot be reached yet is connected to in the background, once a
// second, until it can.
func Open(cfg Config) (*Client, error) {
	opt, err := rueidis.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("redisstore: %w", err)
	}
	opt.DisableCache = true // the in-process cache is the first level
	// Always pipelined, even one command at a time: a pipelined command
	// returns when its context ends and leaves the connection open, where
	// rueidis's one-at-a-time mode would close it, and a command would wait
	// behind another's (a lease sweep's) in that mode beyond its own deadline.
	opt.AlwaysPipelining = true
	opt.Dialer.Timeout = time.Second
	opt.ConnWriteTimeout = 5 * time.Second // a silent Redis is given up on within this
	opt.ForceSingleClient = true
	c := &Client{opt: opt, timeout: cfg.Timeout, prefix: cfg.Prefix, observe: cfg.Observe}
	if c.timeout <= 0 {
		c.timeout = time.Second
	}
	if c.prefix == "" {
		c.prefix = "numbers:"
	}
	c.ctx, c.stop = context.WithCancel(context.Background())
	if !c.connect() {
		c.wg.Add(1)
		go c.reconnect()
	}
	return c, nil
}

// connect tries once to make the rueidis client.
func (c *Client) connect() bool {
	rc, err := rueidis.NewClient(c.opt)
	if err != nil {
		return false
	}
	c.c.Store(&rc)
	c.up.Store(true)
	return true
}

// reconnect tries to connect once a second until it does or Close is called.
func (c *Client) reconnect() {
	defer c.wg.Done()
	every(c.ctx, time.Second, c.connect)
}

// every calls f every d until f returns true or ctx ends.
func every(ctx context.Context, d time.Duration, f func() bool) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if f() {
				return
			}
		}
	}
}

// Close stops the client's goroutines, then closes its connections.
func (c *Client) Close() {
	c.stop()
	c.wg.Wait()
	if rc := c.c.Load(); rc != nil {
		(*rc).Close()
	}
}

// Up reports whether the last command reached Redis.
func (c *Client) Up() bool { return c.up.Load() }

// client returns the rueidis client, or nil while not connected.
func (c *Client) client() rueidis.Client {
	if rc := c.c.Load(); rc != nil {
		return *rc
	}
	return nil
}

// key returns the key of name, prefixed.
func (c *Client) key(name string) string { return c.prefix + name }

// do runs one command built by build, as op, and reports it.
func (c *Client) do(ctx context.Context, op string, build func(rueidis.Client) rueidis.Completed) rueidis.RedisResult {
	rc := c.client()
	if rc == nil {
		c.report(op, 0, ErrDown)
		return rueidis.NewErrorResult(ErrDown)
	}
	start := time.Now()
	r := rc.Do(ctx, build(rc))
	c.report(op, time.Since(start), r.NonRedisError())
	return r
}

// exec runs script with keys and args, as op, and reports it.
func (c *Client) exec(ctx context.Context, op string, script *rueidis.Lua, keys, args []string) rueidis.RedisResult {
	rc := c.client()
	if rc == nil {
		c.report(op, 0, ErrDown)
		return rueidis.NewErrorResult(ErrDown)
	}
	start := time.Now()
	r := script.Exec(ctx, rc, keys, args)
	c.report(op, time.Since(start), r.NonRedisError())
	return r
}

// report tells Observe about one command; err is nil or a failure to reach
// Redis (a reply such as nil or a script's error is not one).
func (c *Client) report(op string, took time.Duration, err error) {
	c.up.Store(err == nil)
	if c.observe != nil {
		c.observe(op, took, err)
	}
}

// withTimeout returns a context for one command off the request path.
func (c *Client) withTimeout() (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.ctx, c.timeout)
}
