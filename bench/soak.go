// soak.go is the hostile soak, and reads the service's memory from its admin
// /metrics around it.

package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The soak: the hostile mix at soakRate for Suite.SoakDuration (by default
// soakDuration, 5 s when quick), then waits (Suite.settle) for the
// service's background fetches to end before the last memory sample.
const (
	soakRate     = 1500
	soakDuration = 60 * time.Second
)

// settleTime is how long Suite.settle waits: past the service's background completion
// (5 s by default), so that the background fetches of the runs before have
// ended.
const settleTime = 6 * time.Second

// settle waits settleTime (1 s when quick), or until ctx ends.
func (s *Suite) settle(ctx context.Context) error {
	d := settleTime
	if s.Quick {
		d = time.Second
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ErrMetrics reports a /metrics page that could not be read or lacks a gauge.
var ErrMetrics = errors.New("bench: metrics")

// Sample is a service's resident memory and goroutines at one moment.
type Sample struct {
	// AtS is when it was taken, in seconds from the start of the attack.
	AtS float64 `json:"at_s"`
	// RSSBytes is process_resident_memory_bytes; Goroutines is go_goroutines.
	RSSBytes   float64 `json:"rss_bytes"`
	Goroutines float64 `json:"goroutines"`
	// HeapBytes is go_memstats_heap_inuse_bytes, and HealthHosts the upstream
	// hosts the service's health registry tracks (numbers_health_hosts
	// summed over states), when the page has them.
	HeapBytes   float64 `json:"heap_bytes,omitempty"`
	HealthHosts float64 `json:"health_hosts,omitempty"`
}

// Memory is a service's memory and goroutines around one run: flat memory
// means End close to Mid, once the first half has filled caches and pools.
type Memory struct {
	// Start is taken before the first request, Mid half-way, End after the
	// last response and Settled a few seconds later, when background
	// fetches are over.
	Start   Sample `json:"start"`
	Mid     Sample `json:"mid"`
	End     Sample `json:"end"`
	Settled Sample `json:"settled"`
}

func (m *Memory) samples() [4]Sample { return [4]Sample{m.Start, m.Mid, m.End, m.Settled} }

// rss renders the four RSS figures in MiB: "40.1 / 80.2 / 81.0 / 79.9".
func (m *Memory) rss() string {
	var f [4]string
	for i, smp := range m.samples() {
		f[i] = strconv.FormatFloat(smp.RSSBytes/(1<<20), 'f', 1, 64)
	}
	return strings.Join(f[:], " / ")
}

// goroutines renders the four goroutine counts: "20 / 900 / 35 / 22".
func (m *Memory) goroutines() string {
	var f [4]string
	for i, smp := range m.samples() {
		f[i] = strconv.FormatFloat(smp.Goroutines, 'f', 0, 64)
	}
	return strings.Join(f[:], " / ")
}

// ReadSample reads process_resident_memory_bytes and go_goroutines from the
// Prometheus text page at admin+"/metrics" (admin is a base URL such as
// "http://127.0.0.1:6060"). Errors wrap ErrMetrics.
func ReadSample(ctx context.Context, admin string) (Sample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, admin+"/metrics", nil)
	if err != nil {
		return Sample{}, fmt.Errorf("%w: %w", ErrMetrics, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Sample{}, fmt.Errorf("%w: %w", ErrMetrics, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Sample{}, fmt.Errorf("%w: %s/metrics answered %d", ErrMetrics, admin, resp.StatusCode)
	}
	var smp Sample
	found := 0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		var dst *float64
		switch {
		case !ok:
			continue
		case name == "process_resident_memory_bytes":
			dst = &smp.RSSBytes
		case name == "go_goroutines":
			dst = &smp.Goroutines
		case name == "go_memstats_heap_inuse_bytes", strings.HasPrefix(name, "numbers_health_hosts{"):
			v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
			if err != nil {
				return Sample{}, fmt.Errorf("%w: %s: %w", ErrMetrics, name, err)
			}
			if name == "go_memstats_heap_inuse_bytes" {
				smp.HeapBytes = v
			} else {
				smp.HealthHosts += v
			}
			continue
		default:
			continue
		}
		if *dst, err = strconv.ParseFloat(strings.TrimSpace(value), 64); err != nil {
			return Sample{}, fmt.Errorf("%w: %s: %w", ErrMetrics, name, err)
		}
		found++
	}
	if err := sc.Err(); err != nil {
		return Sample{}, fmt.Errorf("%w: %w", ErrMetrics, err)
	}
	if found != 2 {
		return Sample{}, fmt.Errorf("%w: %s/metrics lacks process_resident_memory_bytes or go_goroutines", ErrMetrics, admin)
	}
	return smp, nil
}

// soak runs soak@1500 and, when t has an Admin URL, samples its memory
// before, half-way, after, and settled (Suite.settle) after, into the run's
// Record; with a ProfileDir, it also saves a heap profile half-way.
func (s *Suite) soak(ctx context.Context, t Target, sum *Summary, run runFunc) error {
	d := soakDuration
	if s.Quick {
		d = 5 * time.Second
	}
	d = cmpOr(s.SoakDuration, d)
	if t.Admin == "" {
		sum.Notes = append(sum.Notes, fmt.Sprintf("%s soak: no admin URL, memory not sampled", t.Name))
		_, err := run(fmt.Sprintf("soak@%d", soakRate), ConstantPacer{Freq: soakRate}, d)
		return err
	}
	var mem Memory
	errs := make([]error, 4)
	start := time.Now()
	sample := func(dst *Sample, i int) {
		smp, err := ReadSample(ctx, t.Admin)
		smp.AtS = time.Since(start).Seconds()
		*dst, errs[i] = smp, err
	}
	sample(&mem.Start, 0)
	// The half-way sample is taken while the attack runs; stop ends its
	// wait when the attack returns early.
	stop := make(chan struct{})
	mid := make(chan struct{})
	go func() {
		defer close(mid)
		timer := time.NewTimer(d / 2)
		defer timer.Stop()
		select {
		case <-timer.C:
			sample(&mem.Mid, 1)
			if s.ProfileDir != "" {
				heap := filepath.Join(s.ProfileDir, fileName(t.Name+"-soak")+".heap.pprof")
				if err := CaptureHeap(ctx, t.Admin, heap); err != nil {
					errs[1] = errors.Join(errs[1], err)
				}
			}
		case <-stop:
			errs[1] = errors.New("the attack ended before half-way")
		}
	}()
	_, err := run(fmt.Sprintf("soak@%d", soakRate), ConstantPacer{Freq: soakRate}, d)
	close(stop)
	<-mid
	if err != nil {
		return err
	}
	sample(&mem.End, 2)
	if errs[3] = s.settle(ctx); errs[3] == nil {
		sample(&mem.Settled, 3)
	}
	if err := errors.Join(errs...); err != nil {
		sum.Notes = append(sum.Notes, fmt.Sprintf("%s soak: memory not sampled: %v", t.Name, err))
		return nil
	}
	// run appended the soak's Record last.
	sum.Runs[len(sum.Runs)-1].Memory = &mem
	return nil
}
