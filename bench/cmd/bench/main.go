// Command bench is the numbers service's open-loop latency benchmark.
//
// With no arguments it builds the service (numbers/cmd/numbers) and runs two
// phases. First the service and the baseline (this binary re-run with
// -serve-baseline) run as child processes on free loopback ports, each pinned
// to a CPU of its own (-service-cpus), for the standard scenario set
// (bench.Standard, -scenarios); the upstream simulator (this binary re-run
// with -serve-simulator) runs beside the generator, on the other CPUs. Then
// fresh children share every CPU with the generator and a fresh simulator, as
// on a real host, for bench.StandardShared (-shared-scenarios); their targets
// are named service-shared and baseline-shared. The simulator is a process of
// its own so that the generator, the caller, shares no runtime (no garbage
// collector, no scheduler) with the upstreams: a real caller does not. It prints a table and
// writes summary.json, table.txt, PNG percentile plots and (with -profile) CPU
// profiles under results/<timestamp>/.
//
// With -target it runs one ad-hoc attack against any loopback URL.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"numbers/bench"
	"numbers/bench/baseline"
	"numbers/bench/simulator"
)

type options struct {
	scenarios, shared, out, target, admin, service string
	serveBaseline, serveSimulator                  string
	callerScenarios, callerServices, servePlain    string
	serveBare, bareBody                            string
	plainAt                                        []time.Duration
	callerSteps                                    []step
	rate, rampFrom                                 float64
	duration, ramp, budget, soak, callerSlack      time.Duration
	json, profile, withBaseline, quick, strict     bool
	distinct, off                                  bool
	serviceCPUs                                    int
	// set holds the names of the flags given on the command line.
	set map[string]bool
}

func main() {
	var o options
	flag.StringVar(&o.scenarios, "scenarios", "standard", "scenarios run with the service and the baseline pinned (-service-cpus): comma-separated ("+
		strings.Join(bench.All, ",")+"), standard ("+strings.Join(bench.Standard, ",")+"), all or none; naming scenarios here alone skips the shared phase")
	flag.StringVar(&o.shared, "shared-scenarios", "standard", "scenarios run next with every CPU shared by the service, the baseline, the generator and the simulator: comma-separated, standard ("+
		strings.Join(bench.StandardShared, ",")+"), all or none; naming scenarios here alone skips the pinned phase")
	flag.DurationVar(&o.soak, "soak", 0, "length of the soak scenario; 0 means 60s (5s with -quick)")
	flag.StringVar(&o.out, "out", "results", "parent folder of the results folder")
	flag.BoolVar(&o.json, "json", false, "print the summary as JSON instead of the table")
	flag.BoolVar(&o.profile, "profile", false, "capture CPU profiles from the service's admin pprof endpoint during the runs, and a heap profile half-way through the soak")
	flag.BoolVar(&o.withBaseline, "baseline", true, "also run every scenario against the baseline implementation, for ratios")
	flag.BoolVar(&o.off, "off", false, "also run every scenario against the service with -outlier-detection=false -hedge=false -retry=false (target service-off): the figures without outlier detection, hedging and retries, from the same binary in the same run")
	flag.BoolVar(&o.quick, "quick", false, "very short runs, a smoke test for CI")
	flag.BoolVar(&o.strict, "strict", false, "exit 1 when a target is missed")
	flag.DurationVar(&o.budget, "budget", bench.DefaultBudget, "the service's budget: responses slower than this are late")
	flag.DurationVar(&o.callerSlack, "caller-slack", 0, "when positive, every request carries the generator's own deadline (grpc-timeout: the budget left since its intended send time, less this)")
	flag.StringVar(&o.service, "service", "", "prebuilt service binary (default: go build numbers/cmd/numbers)")
	flag.StringVar(&o.target, "target", "", "ad-hoc run: URL to attack (loopback only)")
	flag.Float64Var(&o.rate, "rate", 1000, "ad-hoc run: requests per second")
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "ad-hoc run: length")
	flag.DurationVar(&o.ramp, "ramp", 0, "ad-hoc run: ramp linearly from -ramp-from to -rate over this long")
	flag.Float64Var(&o.rampFrom, "ramp-from", 0, "ad-hoc run: rate at the start of the ramp")
	flag.StringVar(&o.admin, "admin", "", "ad-hoc run: the target's admin base URL, for -profile")
	flag.BoolVar(&o.distinct, "distinct", false, "ad-hoc run: give every request upstream URLs of its own (nonce=<tag>-<n> added to each u= value)")
	flag.IntVar(&o.serviceCPUs, "service-cpus", 1, "CPUs given to the service and to the baseline in the pinned phase (each pinned there with taskset, GOMAXPROCS set); the generator and simulator get the rest; 0 shares every CPU, and the shared scenarios then run in the same, single phase")
	flag.StringVar(&o.callerScenarios, "caller-scenarios", "standard", "scenarios run last by the plain caller (net/http, in a process that also serves the upstreams on net/http, nothing pinned) against each -caller-services binary on its defaults and the plain fan-out at each -plain-at: comma-separated ("+strings.Join(callerStandard, ",")+"), standard or none")
	flag.StringVar(&o.callerServices, "caller-services", "", "service binaries the plain caller measures, comma-separated, each optionally name=path (default: the service measured by the other phases, as numbers)")
	flag.Func("plain-at", "answer times of the plain fan-out the plain caller measures, comma-separated, or none (default 470ms,485ms)", func(v string) error {
		o.plainAt = []time.Duration{}
		if v == "none" {
			return nil
		}
		for d := range strings.SplitSeq(v, ",") {
			at, err := time.ParseDuration(d)
			if err != nil {
				return err
			}
			o.plainAt = append(o.plainAt, at)
		}
		return nil
	})
	flag.Func("caller-steps", "the plain caller's loads instead of each scenario's own: rate:duration pairs, comma-separated, as 1200:30s,1500:60s", func(v string) (err error) {
		o.callerSteps, err = parseSteps(v)
		return err
	})
	flag.StringVar(&o.servePlain, "serve-plain", "", "internal: serve the plain fan-out on this address, answering at -plain-at")
	flag.StringVar(&o.serveBare, "serve-bare", "", "internal: serve -bare-body, as it is, to every request on this address (bench/cached-path.sh)")
	flag.StringVar(&o.bareBody, "bare-body", "", "internal: the file -serve-bare answers with")
	flag.StringVar(&o.serveBaseline, "serve-baseline", "", "internal: serve the baseline on this address")
	flag.StringVar(&o.serveSimulator, "serve-simulator", "", "internal: serve the upstream simulator on this address")
	flag.Parse()
	if o.plainAt == nil {
		o.plainAt = []time.Duration{470 * time.Millisecond, 485 * time.Millisecond}
	}
	o.set = map[string]bool{}
	flag.Visit(func(f *flag.Flag) { o.set[f.Name] = true })

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch {
	case o.serveBaseline != "":
		err = serveBaseline(ctx, o)
	case o.serveBare != "":
		err = serveBare(ctx, o.serveBare, o.bareBody)
	case o.servePlain != "":
		err = servePlain(ctx, o.servePlain, o.plainAt[0])
	case o.serveSimulator != "":
		err = serveSimulator(ctx, o.serveSimulator)
	case o.target != "":
		err = adHoc(ctx, o)
	default:
		err = standard(ctx, o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// serveBaseline runs the baseline until SIGTERM.
func serveBaseline(ctx context.Context, o options) error {
	ln, err := net.Listen("tcp", o.serveBaseline)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: baseline.New(baseline.Config{Budget: o.budget}), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// serveSimulator runs the upstream simulator on addr until SIGTERM.
func serveSimulator(ctx context.Context, addr string) error {
	sim, _, err := simulator.Start(simulator.Config{}, addr)
	if err != nil {
		return err
	}
	<-ctx.Done()
	sim.Shutdown()
	return nil
}

// progress prints a one-line progress report on stderr, overwritten in place.
func progress(p bench.Progress) {
	fmt.Fprintf(os.Stderr, "\r\033[K%-16s %5.1fs  %7.0f/s  sent %d  done %d  failed %d  late %d  workers %d  max lag %.1fms",
		p.Name, p.Elapsed.Seconds(), p.ScheduledRate, p.Sent, p.Done, p.Failed, p.Late, p.Workers, float64(p.MaxLag)/1e6)
}

func adHoc(ctx context.Context, o options) error {
	dir, err := resultsDir(o.out)
	if err != nil {
		return err
	}
	var p bench.Pacer = bench.ConstantPacer{Freq: o.rate}
	if o.ramp > 0 {
		p = bench.LinearPacer{From: o.rampFrom, To: o.rate, Over: o.ramp}
	}
	suite := &bench.Suite{Budget: o.budget}
	if o.profile && o.admin != "" {
		suite.ProfileDir = dir
	}
	rec := bench.Record{Scenario: "adhoc", Target: "target"}
	done := make(chan error, 1)
	if suite.ProfileDir != "" {
		rec.Profile = filepath.Join(dir, "cpu.pprof")
		go func() { done <- bench.CaptureProfile(ctx, o.admin, int(o.duration.Seconds()+0.5), rec.Profile) }()
	} else {
		done <- nil
	}
	res, err := bench.Run(ctx, bench.Attack{Name: "adhoc", URL: o.target, Pacer: p, Duration: o.duration, Distinct: o.distinct, Budget: o.budget, CallerSlack: o.callerSlack, Progress: progress})
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return err
	}
	if err := <-done; err != nil {
		fmt.Fprintln(os.Stderr, "bench: profile:", err)
		rec.Profile = ""
	}
	rec.Result = res
	sum := &bench.Summary{Started: time.Now().Add(-time.Duration(res.ElapsedS * float64(time.Second))), Runs: []bench.Record{rec}}
	return output(dir, o, sum)
}

func standard(ctx context.Context, o options) error {
	pinned, shared, callers, err := phases(o)
	if err != nil {
		return err
	}
	dir, err := resultsDir(o.out)
	if err != nil {
		return err
	}
	bin := o.service
	if bin == "" {
		tmp, err := os.MkdirTemp("", "numbers-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		fmt.Fprintln(os.Stderr, "bench: building numbers/cmd/numbers")
		if bin, err = bench.BuildService(ctx, tmp, os.Stderr); err != nil {
			return err
		}
	}
	// Beside the simulator of each phase (runPhase), two more upstream
	// hosts, in this process, on ports of their own: one always down (the
	// dead host), one taken down and back by the healing scenario. Neither
	// serves much: the dead host answers nothing, the flaky one serves the
	// healing scenario alone.
	dead, deadURL, err := simulator.Start(simulator.Config{}, "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer dead.Shutdown()
	dead.SetDown(true)
	flaky, flakyURL, err := simulator.Start(simulator.Config{}, "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer flaky.Shutdown()
	hosts := upstreams{dead: deadURL, flaky: flakyURL, setFlakyDown: flaky.SetDown}

	sum := &bench.Summary{Started: time.Now(), Capacity: map[string]float64{}}
	start := time.Now()
	if len(pinned) > 0 {
		split, serr := newCPUSplit(o.serviceCPUs)
		if serr != nil {
			return serr
		}
		if split.n == 0 { // nothing pinned: one phase
			pinned, shared = append(pinned, shared...), nil
		}
		err = runPhase(ctx, o, dir, bin, hosts, split, pinned, sum)
		if rerr := split.release(); rerr != nil && err == nil {
			err = rerr
		}
	}
	if len(shared) > 0 && err == nil {
		err = runPhase(ctx, o, dir, bin, hosts, cpuSplit{}, shared, sum)
	}
	if len(callers) > 0 && err == nil {
		services := []string{"numbers=" + bin}
		if o.callerServices != "" {
			services = strings.Split(o.callerServices, ",")
		}
		err = runCaller(ctx, o, dir, services, callers)
		if len(pinned)+len(shared) == 0 {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "\r\033[Kbench: scenarios took %.1fs\n", time.Since(start).Seconds())
	if len(sum.Runs) == 0 && err != nil {
		return err
	}
	if oerr := output(dir, o, sum); oerr != nil && err == nil {
		err = oerr
	}
	if o.strict && err == nil {
		for _, c := range sum.Checks {
			if !c.Pass {
				err = fmt.Errorf("target missed: %s", c.Name)
			}
		}
	}
	return err
}
