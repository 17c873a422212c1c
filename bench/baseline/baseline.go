// Package baseline is the straightforward implementation of the numbers
// contract that a typical submission would be: a net/http server, a new
// http.Client per fetch on the default transport, every result collected and
// sorted at the end, encoding/json both ways. It is the bench's yardstick, not a
// strawman: its answers are correct (valid URLs only, de-duplicated, sorted,
// failed upstreams contribute nothing, bodies capped) and it meets the deadline
// with a context. It sets the same X-Numbers-* headers as the service so that
// the bench can compare completeness.
package baseline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Config configures the handler.
type Config struct {
	// Budget is the hard response time; zero means 500ms.
	Budget time.Duration
	// Margin is kept back from Budget to encode and write; zero means 5ms.
	Margin time.Duration
	// MaxURLs is the most distinct valid URLs per request; zero means 64.
	MaxURLs int
	// MaxBody is the largest upstream body accepted; zero means 8 MiB.
	MaxBody int64
}

// errTooLarge marks a body over MaxBody.
var errTooLarge = errors.New("baseline: upstream body too large")

// New returns the handler for GET /numbers and /healthz.
func New(cfg Config) http.Handler {
	if cfg.Budget <= 0 {
		cfg.Budget = 500 * time.Millisecond
	}
	if cfg.Margin <= 0 {
		cfg.Margin = 5 * time.Millisecond
	}
	if cfg.MaxURLs <= 0 {
		cfg.MaxURLs = 64
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 8 << 20
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /numbers", func(w http.ResponseWriter, r *http.Request) { serve(cfg, w, r) })
	return mux
}

type result struct {
	numbers []int64
	err     error
}

func serve(cfg Config, w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), cfg.Budget-cfg.Margin)
	defer cancel()
	var urls []string
	invalid := 0
	for _, raw := range r.URL.Query()["u"] {
		u, err := url.Parse(raw)
		if err != nil || (!strings.EqualFold(u.Scheme, "http") && !strings.EqualFold(u.Scheme, "https")) || u.Hostname() == "" {
			invalid++
			continue
		}
		u.Fragment = ""
		if s := u.String(); !slices.Contains(urls, s) {
			urls = append(urls, s)
		}
	}
	if len(urls) > cfg.MaxURLs {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": fmt.Sprintf("too many urls: %d, at most %d", len(urls), cfg.MaxURLs)})
		return
	}
	results := make(chan result, len(urls)) // buffered: late fetches never block
	for _, u := range urls {
		go func() {
			n, err := fetch(ctx, u, cfg.MaxBody)
			results <- result{n, err}
		}()
	}
	var all []int64
	ok, failed, timeout := 0, 0, 0
collect:
	for range urls {
		select {
		case res := <-results:
			if res.err != nil {
				failed++
				continue
			}
			ok++
			all = append(all, res.numbers...)
		case <-ctx.Done():
			break collect
		}
	}
	timeout = len(urls) - ok - failed
	slices.Sort(all)
	all = slices.Compact(all)
	if all == nil {
		all = []int64{}
	}
	body, _ := json.Marshal(map[string][]int64{"numbers": all}) // []int64 always encodes
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Numbers-Complete", fmt.Sprint(ok == len(urls)))
	h.Set("X-Numbers-Outcomes", fmt.Sprintf("ok=%d,failed=%d,timeout=%d,invalid=%d", ok, failed, timeout, invalid))
	_, _ = w.Write(body)
}

// fetch gets one upstream with a fresh client on the default transport.
func fetch(ctx context.Context, u string, maxBody int64) ([]int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	client := &http.Client{}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("baseline: fetch: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fmt.Errorf("baseline: status %d", resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("baseline: read: %w", err)
	}
	if int64(len(data)) > maxBody {
		return nil, errTooLarge
	}
	var payload struct {
		Numbers *[]int64 `json:"numbers"`
	}
	if err := json.Unmarshal(data, &payload); err != nil {
		return nil, fmt.Errorf("baseline: decode: %w", err)
	}
	if payload.Numbers == nil {
		return nil, fmt.Errorf("baseline: no numbers")
	}
	return *payload.Numbers, nil
}
