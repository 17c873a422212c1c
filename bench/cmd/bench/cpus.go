package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
)

// cpuSplit keeps the generator and the service off each other's CPUs, so
// that the generator never throttles itself and the service's figures are per
// core: the bench process (the generator) and the simulator run on the first
// CPUs, each other child on the last n. It pins with taskset when it is installed
// (util-linux); without it, only GOMAXPROCS divides the CPUs.
type cpuSplit struct {
	n       int    // CPUs for each child; 0 means no split
	taskset string // path of taskset, or "" when absent
	list    string // the children's CPU list, for taskset
}

// newCPUSplit returns the split for n child CPUs and pins this process to the
// others. With n <= 0 or too few CPUs it splits nothing.
func newCPUSplit(n int) (cpuSplit, error) {
	total := runtime.NumCPU()
	if n <= 0 || n >= total {
		return cpuSplit{}, nil
	}
	s := cpuSplit{n: n, list: fmt.Sprintf("%d-%d", total-n, total-1)}
	runtime.GOMAXPROCS(total - n)
	if path, err := exec.LookPath("taskset"); err == nil {
		s.taskset = path
		// -a pins every thread; threads started later inherit the mask.
		self := exec.Command(path, "-a", "-cp", fmt.Sprintf("0-%d", total-n-1), fmt.Sprint(os.Getpid()))
		if out, err := self.CombinedOutput(); err != nil {
			return cpuSplit{}, fmt.Errorf("pin the bench to its CPUs: %v: %s", err, out)
		}
	}
	return s, nil
}

// release undoes newCPUSplit's pinning of this process: every CPU again, and
// the runtime's default GOMAXPROCS.
func (s cpuSplit) release() error {
	if s.n == 0 {
		return nil
	}
	if s.taskset != "" {
		self := exec.Command(s.taskset, "-a", "-cp", fmt.Sprintf("0-%d", runtime.NumCPU()-1), fmt.Sprint(os.Getpid()))
		if out, err := self.CombinedOutput(); err != nil {
			return fmt.Errorf("unpin the bench: %v: %s", err, out)
		}
	}
	runtime.SetDefaultGOMAXPROCS()
	return nil
}

// command returns the program and arguments that run bin with args on the
// children's CPUs, and the environment to run it with.
func (s cpuSplit) command(bin string, args []string) (string, []string, []string) {
	return s.on(s.list, s.n, bin, args)
}

// besideBench returns the program and arguments that run bin with args on
// this process's CPUs (the generator's), and the environment to run it with.
func (s cpuSplit) besideBench(bin string, args []string) (string, []string, []string) {
	own := runtime.NumCPU() - s.n
	return s.on(fmt.Sprintf("0-%d", own-1), own, bin, args)
}

// on returns what runs bin with args pinned to the CPUs of list (taskset's
// syntax) with GOMAXPROCS procs, or anywhere when s splits nothing.
func (s cpuSplit) on(list string, procs int, bin string, args []string) (string, []string, []string) {
	env := os.Environ()
	if s.n == 0 {
		return bin, args, env
	}
	env = append(env, fmt.Sprintf("GOMAXPROCS=%d", procs))
	if s.taskset == "" {
		return bin, args, env
	}
	return s.taskset, append([]string{"-c", list, bin}, args...), env
}

// String describes the split for the log.
func (s cpuSplit) String() string {
	switch {
	case s.n == 0:
		return "no CPU split: generator, simulator and children share every CPU"
	case s.taskset == "":
		return fmt.Sprintf("children GOMAXPROCS=%d, bench GOMAXPROCS=%d (taskset not found: not pinned)", s.n, runtime.GOMAXPROCS(0))
	default:
		return fmt.Sprintf("children pinned to CPU %s with GOMAXPROCS=%d; generator and simulator on the other %d", s.list, s.n, runtime.GOMAXPROCS(0))
	}
}
