package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"numbers/bench"
	"numbers/bench/caller"
	"numbers/bench/plain"
)

// The plain caller's scenarios (-caller-scenarios).
const (
	// callerDistinct: the classic upstreams, a distinct query per request,
	// below, at and past capacity.
	callerDistinct = "caller-distinct"
	// callerCPU: four instant upstreams of 20,000 numbers, the same URLs
	// every request, at 1, 4 and 8 times a CPU-bound capacity.
	callerCPU = "caller-cpu-overload"
)

var callerStandard = []string{callerDistinct, callerCPU}

// step is one rate held for a while.
type step struct {
	rate float64
	d    time.Duration
}

// callerSteps are the loads of each scenario, in order.
var callerSteps = map[string][]step{
	callerDistinct: {{800, 30 * time.Second}, {1000, 5 * time.Second}, {1200, 30 * time.Second}, {1500, 60 * time.Second}, {2000, 5 * time.Second}},
	callerCPU:      {{100, 4 * time.Second}, {400, 4 * time.Second}, {800, 4 * time.Second}},
}

// callerTarget is one implementation the plain caller measures: started
// afresh for every step, so that no step inherits another's heap.
type callerTarget struct {
	name string
	path string
	args func(addr string) []string
}

// callerRun is one step against one target.
type callerRun struct {
	Scenario string         `json:"scenario"`
	Target   string         `json:"target"`
	Result   *caller.Result `json:"result"`
	// RSSMiB is the target's resident memory at the end of the step;
	// PeakRSSMiB, its peak (VmHWM).
	RSSMiB     float64 `json:"rss_mib"`
	PeakRSSMiB float64 `json:"peak_rss_mib"`
	// CPUPressure is the machine's CPU pressure over the step: the share
	// of the time some task waited for a CPU (Linux PSI, "some"); -1 when
	// the kernel does not say.
	CPUPressure float64 `json:"cpu_pressure"`
}

// runCaller runs the plain caller's scenarios against every service binary
// (on its defaults) and the plain fan-out at each answer time, alternating
// targets within each step, and writes caller.json and caller.txt in dir.
func runCaller(ctx context.Context, o options, dir string, services []string, names []string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	var targets []callerTarget
	for _, s := range services {
		name, bin := "numbers", s
		if k, v, ok := strings.Cut(s, "="); ok {
			name, bin = k, v
		}
		targets = append(targets, callerTarget{name: name, path: bin, args: func(addr string) []string {
			return []string{"-addr", addr, "-admin", "127.0.0.1:0"}
		}})
	}
	for _, at := range o.plainAt {
		targets = append(targets, callerTarget{name: "plain@" + at.String(), path: self, args: func(addr string) []string {
			return []string{"-serve-plain", addr, "-plain-at", at.String()}
		}})
	}
	ups, err := caller.StartUpstreams()
	if err != nil {
		return err
	}
	defer ups.Close()
	var runs []callerRun
	for _, name := range names {
		paths, universe, distinct := caller.Classic, ups.ClassicUniverse, true
		if name == callerCPU {
			paths, universe, distinct = caller.BigPaths, ups.BigUniverse, false
		}
		steps := callerSteps[name]
		if o.callerSteps != nil {
			steps = o.callerSteps
		}
		for _, st := range steps {
			if o.quick {
				st.d = time.Second
			}
			for _, t := range targets {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				run, err := callerStep(ctx, dir, t, ups.URL, paths, caller.Load{Rate: st.rate, Duration: st.d, Distinct: distinct, Budget: o.budget, Universe: universe})
				if err != nil {
					return err
				}
				run.Scenario = name
				fmt.Fprintf(os.Stderr, "bench: %s@%g %s: %s, RSS %.0f MiB (peak %.0f), PSI %.2f\n", name, st.rate, t.name, run.Result, run.RSSMiB, run.PeakRSSMiB, run.CPUPressure)
				runs = append(runs, run)
			}
		}
	}
	return writeCaller(dir, runs)
}

// callerStep starts t, sends it one load and stops it.
func callerStep(ctx context.Context, dir string, t callerTarget, upstream string, paths []string, l caller.Load) (callerRun, error) {
	addr, err := bench.FreeAddr()
	if err != nil {
		return callerRun{}, err
	}
	p, err := startChild(ctx, dir, t.name, t.path, t.args(addr), nil, addr)
	if err != nil {
		return callerRun{}, err
	}
	q := url.Values{}
	for _, path := range paths {
		q.Add("u", upstream+path)
	}
	l.URL = "http://" + addr + "/numbers?" + q.Encode()
	psi0, t0 := cpuStall(), time.Now()
	res, err := caller.Run(ctx, l)
	pressure := -1.0
	if psi1 := cpuStall(); psi0 >= 0 && psi1 >= 0 {
		pressure = float64(psi1-psi0) / float64(time.Since(t0))
	}
	rss, peak := residentMiB(p.Pid())
	stopChild(t.name, p)
	if err != nil {
		return callerRun{}, err
	}
	return callerRun{Target: t.name, Result: res, RSSMiB: rss, PeakRSSMiB: peak, CPUPressure: pressure}, nil
}

// cpuStall returns the machine's total CPU stall ("some" total of
// /proc/pressure/cpu) as a duration, or -1 where there is none.
func cpuStall() time.Duration {
	b, err := os.ReadFile("/proc/pressure/cpu")
	if err != nil {
		return -1
	}
	line, _, _ := strings.Cut(string(b), "\n")
	_, total, ok := strings.Cut(line, "total=")
	us, err := strconv.ParseInt(strings.TrimSpace(total), 10, 64)
	if !ok || err != nil {
		return -1
	}
	return time.Duration(us) * time.Microsecond
}

// residentMiB reads VmRSS and VmHWM of pid, in MiB; zero where unknown.
func residentMiB(pid int) (rss, peak float64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
		if err != nil {
			continue
		}
		switch k {
		case "VmRSS":
			rss = kb / 1024
		case "VmHWM":
			peak = kb / 1024
		}
	}
	return rss, peak
}

// writeCaller writes the runs as caller.json and as the table caller.txt,
// which it also prints.
func writeCaller(dir string, runs []callerRun) error {
	b, err := json.MarshalIndent(runs, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "caller.json"), b, 0o644); err != nil {
		return err
	}
	var t strings.Builder
	writeCallerTable(&t, runs)
	fmt.Print(t.String())
	return os.WriteFile(filepath.Join(dir, "caller.txt"), []byte(t.String()), 0o644)
}

// writeCallerTable renders runs, a line each.
func writeCallerTable(w io.Writer, runs []callerRun) {
	fmt.Fprintf(w, "%-28s %-18s %7s %6s %6s %7s %7s %6s %8s %6s %6s %7s %7s %5s\n",
		"scenario@rate", "target", "req", "late", "lateS", "late%", "refused", "failed", "on-time/s", "compl", "p99", "max", "RSS MiB", "PSI")
	for _, r := range runs {
		res := r.Result
		fmt.Fprintf(w, "%-28s %-18s %7d %6d %6d %7.3f %7d %6d %8.0f %6.3f %6.0f %7.0f %7.0f %5.2f\n",
			fmt.Sprintf("%s@%g", r.Scenario, res.Rate), r.Target, res.Requests, res.Late, res.LateSent,
			100*float64(res.Late)/float64(max(1, res.Requests)), res.Refused, res.Failed,
			float64(res.OnTime)/res.DurationS, res.Completeness, res.P99Ms, res.MaxMs, r.RSSMiB, r.CPUPressure)
	}
}

// parseSteps parses -caller-steps: rate:duration pairs, comma-separated.
func parseSteps(v string) ([]step, error) {
	var steps []step
	for p := range strings.SplitSeq(v, ",") {
		r, d, ok := strings.Cut(p, ":")
		rate, err := strconv.ParseFloat(r, 64)
		if !ok || err != nil || rate <= 0 {
			return nil, fmt.Errorf("bad step %q: want rate:duration, as 1200:30s", p)
		}
		dur, err := time.ParseDuration(d)
		if err != nil || dur <= 0 {
			return nil, fmt.Errorf("bad step %q: want rate:duration, as 1200:30s", p)
		}
		steps = append(steps, step{rate, dur})
	}
	return steps, nil
}

// servePlain runs the plain fan-out on addr until ctx ends.
func servePlain(ctx context.Context, addr string, at time.Duration) error {
	return serveUntil(ctx, addr, plain.Handler(at))
}

// serveBare answers every request on addr with the JSON body in the file
// path, as it is, until ctx ends: the least a server can do.
func serveBare(ctx context.Context, addr, path string) error {
	body, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return serveUntil(ctx, addr, func(c *fasthttp.RequestCtx) {
		c.SetContentType("application/json")
		c.SetBody(body)
	})
}

// serveUntil serves h with fasthttp on addr until ctx ends.
func serveUntil(ctx context.Context, addr string, h fasthttp.RequestHandler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &fasthttp.Server{Handler: h}
	go func() {
		<-ctx.Done()
		srv.Shutdown() //nolint:errcheck // Serve returns
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}
