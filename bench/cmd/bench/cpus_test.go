package main

import (
	"fmt"
	"runtime"
	"slices"
	"testing"
)

// TestCPUSplitCommands: a split runs the children on its CPU list and the
// simulator on the generator's CPUs (those before the list), each with
// GOMAXPROCS to match; with no split, both run as they are.
func TestCPUSplitCommands(t *testing.T) {
	s := cpuSplit{n: 1, taskset: "/usr/bin/taskset", list: "7-7"}
	check := func(name, path string, args, env []string, wantArgs []string, procs int) {
		t.Helper()
		if path != s.taskset || !slices.Equal(args, wantArgs) || !slices.Contains(env, fmt.Sprintf("GOMAXPROCS=%d", procs)) {
			t.Errorf("%s: %s %v (GOMAXPROCS=%d set: %v); want %s %v", name, path, args, procs,
				slices.Contains(env, fmt.Sprintf("GOMAXPROCS=%d", procs)), s.taskset, wantArgs)
		}
	}
	path, args, env := s.command("svc", []string{"-a"})
	check("command", path, args, env, []string{"-c", "7-7", "svc", "-a"}, 1)
	own := runtime.NumCPU() - 1
	path, args, env = s.besideBench("sim", []string{"-serve-simulator", "x"})
	check("besideBench", path, args, env, []string{"-c", fmt.Sprintf("0-%d", own-1), "sim", "-serve-simulator", "x"}, own)

	var none cpuSplit
	for name, f := range map[string]func(string, []string) (string, []string, []string){"command": none.command, "besideBench": none.besideBench} {
		if path, args, _ := f("bin", []string{"-x"}); path != "bin" || !slices.Equal(args, []string{"-x"}) {
			t.Errorf("no split, %s: %s %v; want bin [-x]", name, path, args)
		}
	}
}
