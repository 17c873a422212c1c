// phase.go runs one phase of the standard sets (pinned or shared CPUs): the
// service, its upstreams and the load, each a child process.

package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"time"

	"numbers/bench"
)

// upstreams are the simulated upstream hosts: the simulator (started by
// each phase), and the dead and flaky hosts of the health scenarios.
type upstreams struct {
	sim, dead, flaky string
	setFlakyDown     func(bool)
}

// runPhase starts the service and (with -baseline) the baseline under split,
// runs the scenarios names against them, stops them and adds the runs,
// capacities, checks and notes to sum. The targets are named service and
// baseline, with "-shared" when split pins nothing; with -off a second
// service, service-off, runs with outlier detection, hedging and retries off.
func runPhase(ctx context.Context, o options, dir, bin string, hosts upstreams, split cpuSplit, names []string, sum *bench.Summary) error {
	suffix := ""
	if split.n == 0 {
		suffix = "-shared"
	}
	svcName, baseName := "service"+suffix, "baseline"+suffix
	fmt.Fprintln(os.Stderr, "bench:", split)
	who := svcName
	if o.withBaseline {
		who += ", " + baseName
	}
	sum.Notes = append(sum.Notes, fmt.Sprintf("%s: %s", who, split))
	self, err := os.Executable()
	if err != nil {
		return err
	}
	simAddr, err := bench.FreeAddr()
	if err != nil {
		return err
	}
	simPath, simArgs, simEnv := split.besideBench(self, []string{"-serve-simulator", simAddr})
	sim, err := startChild(ctx, dir, "simulator"+suffix, simPath, simArgs, simEnv, simAddr)
	if err != nil {
		return err
	}
	defer stopChild("simulator"+suffix, sim)
	hosts.sim = "http://" + simAddr
	var targets []bench.Target
	svc, target, err := startService(ctx, o, dir, svcName, split, bin)
	if err != nil {
		return err
	}
	defer stopChild(svcName, svc)
	targets = append(targets, target)
	if o.withBaseline {
		baseAddr, err := bench.FreeAddr()
		if err != nil {
			return err
		}
		path, args, env := split.command(self, []string{"-serve-baseline", baseAddr, "-budget", o.budget.String()})
		base, err := startChild(ctx, dir, baseName, path, args, env, baseAddr)
		if err != nil {
			return err
		}
		defer stopChild(baseName, base)
		targets = append(targets, bench.Target{Name: baseName, URL: "http://" + baseAddr})
	}
	if o.off {
		offName := "service-off" + suffix
		off, target, err := startService(ctx, o, dir, offName, split, bin, "-outlier-detection=false", "-hedge=false", "-retry=false")
		if err != nil {
			return err
		}
		defer stopChild(offName, off)
		targets = append(targets, target)
	}
	suite := &bench.Suite{Targets: targets, Upstream: hosts.sim, DeadHost: hosts.dead, Flaky: hosts.flaky,
		SetFlakyDown: hosts.setFlakyDown, Scenarios: names, Quick: o.quick, SoakDuration: o.soak,
		Budget: o.budget, CallerSlack: o.callerSlack, Progress: progress}
	if o.profile {
		suite.ProfileDir = dir
	}
	part, err := suite.Run(ctx)
	if part != nil {
		sum.Runs = append(sum.Runs, part.Runs...)
		sum.Checks = append(sum.Checks, part.Checks...)
		sum.Notes = append(sum.Notes, part.Notes...)
		maps.Copy(sum.Capacity, part.Capacity)
	}
	return err
}

// startService starts the service bin as child name, on free addresses for
// its public and admin listeners, with extra flags, and returns it with its
// Target.
func startService(ctx context.Context, o options, dir, name string, split cpuSplit, bin string, extra ...string) (*bench.Process, bench.Target, error) {
	addr, err := bench.FreeAddr()
	if err != nil {
		return nil, bench.Target{}, err
	}
	admin, err := bench.FreeAddr()
	if err != nil {
		return nil, bench.Target{}, err
	}
	args := append([]string{"-addr", addr, "-admin", admin, "-budget", o.budget.String()}, extra...)
	path, args, env := split.command(bin, args)
	p, err := startChild(ctx, dir, name, path, args, env, addr)
	if err != nil {
		return nil, bench.Target{}, err
	}
	return p, bench.Target{Name: name, URL: "http://" + addr, Admin: "http://" + admin}, nil
}

// startChild runs path with args and env as child name, its output in
// <dir>/<name>.log, and waits until it listens on addr.
func startChild(ctx context.Context, dir, name, path string, args, env []string, addr string) (*bench.Process, error) {
	log, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, err
	}
	p, err := bench.StartProcess(ctx, path, args, env, log, addr, 20*time.Second)
	if err != nil {
		log.Close()
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "bench: %s pid %d on %s\n", name, p.Pid(), addr)
	return p, nil
}

func stopChild(name string, p *bench.Process) {
	if err := p.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "bench: stop %s: %v\n", name, err)
	}
}

// phases returns the scenarios of the pinned, the shared and the plain
// caller's phase, from -scenarios, -shared-scenarios and -caller-scenarios.
// Each defaults to its standard set; naming scenarios in some of the flags
// only runs only those.
func phases(o options) (pinned, shared, callers []string, err error) {
	if pinned, err = scenarioList(o.scenarios, bench.Standard); err != nil {
		return nil, nil, nil, err
	}
	if shared, err = scenarioList(o.shared, bench.StandardShared); err != nil {
		return nil, nil, nil, err
	}
	if callers, err = callerList(o.callerScenarios); err != nil {
		return nil, nil, nil, err
	}
	if o.set["scenarios"] || o.set["shared-scenarios"] || o.set["caller-scenarios"] {
		if !o.set["scenarios"] {
			pinned = nil
		}
		if !o.set["shared-scenarios"] {
			shared = nil
		}
		if !o.set["caller-scenarios"] {
			callers = nil
		}
	}
	if len(pinned)+len(shared)+len(callers) == 0 {
		return nil, nil, nil, errors.New("no scenario to run")
	}
	return pinned, shared, callers, nil
}

// callerList parses -caller-scenarios: standard, none or names.
func callerList(v string) ([]string, error) {
	switch v {
	case "standard":
		return callerStandard, nil
	case "none", "":
		return nil, nil
	}
	names := strings.Split(v, ",")
	for _, n := range names {
		if _, ok := callerSteps[n]; !ok {
			return nil, fmt.Errorf("unknown caller scenario %q (known: %s)", n, strings.Join(callerStandard, ", "))
		}
	}
	return names, nil
}

// scenarioList parses a scenarios flag: standard (std), all, none or names.
func scenarioList(v string, std []string) ([]string, error) {
	switch v {
	case "standard":
		return std, nil
	case "all":
		return bench.All, nil
	case "health":
		return bench.Health, nil
	case "none", "":
		return nil, nil
	}
	names := strings.Split(v, ",")
	return names, bench.CheckNames(names)
}
