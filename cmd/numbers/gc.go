package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"runtime/debug"

	"numbers/gcpace"
)

// Defaults of -gc-percent and -memory-limit.
//
// Every garbage collection makes all of the process's threads meet at a
// safe point a few times. On a machine whose CPUs are shared with other busy
// processes, the operating system may have preempted one of them, and the
// whole process waits for it: in an execution trace of the hostile soak,
// dozens of goroutines sat 10 ms in a mark assist at the end of each mark
// phase, and flush timers fired 12-23 ms late, nearly all during a
// collection. A collection every 400 % of heap growth instead of Go's 100 %
// has a quarter of those stalls. On the shared bench (with two smaller
// changes), classic-distinct at 3,000 req/s went from a median of 5 late
// answers and 899 refusals to none; the soak's rare late answers
// at the caller were not fewer. The cost is memory (RSS about 980 MiB
// instead of 400 in the soak), bounded by the soft limit: past it the
// runtime collects as often as it must to stay under it.
const (
	defaultGCPercent   = 400
	defaultMemoryLimit = 1 << 30
)

// gcConfig is how the service tunes Go's garbage collector. A setting
// applies unless the operator left its flag (and twin) alone and set Go's
// own variable instead (GOGC, GOMEMLIMIT), which then stands.
type gcConfig struct {
	percent      int
	limit        byteSize
	announce     bool
	applyPercent bool
	applyLimit   bool
}

func addGCFlags(fs *flag.FlagSet, c *gcConfig) {
	c.limit = defaultMemoryLimit
	fs.IntVar(&c.percent, "gc-percent", defaultGCPercent, "garbage collection target, as GOGC: collect when the heap has grown by this percent since the last collection; fewer collections mean fewer stalls of the whole process on a busy machine; -1 collects only at -memory-limit; GOGC, if set, stands unless this is given")
	fs.BoolVar(&c.announce, "gc-announce", true, "start each garbage collection from the service, paced for -gc-percent, and announce it, so that answers due to be written while it runs are written a little earlier than planned, in time; false leaves the collections to the runtime")
	fs.Var(&c.limit, "memory-limit", "soft memory limit, as GOMEMLIMIT: past it the runtime collects as often as needed to stay under it (bytes, or with KiB/MiB/GiB); 0 means none; GOMEMLIMIT, if set, stands unless this is given")
}

// resolve decides which settings apply, once flags and twins are parsed:
// given says whether a flag was given, on the command line or as its twin.
func (c *gcConfig) resolve(given func(name string) bool, getenv func(string) string) error {
	c.applyPercent = given("gc-percent") || getenv("GOGC") == ""
	c.applyLimit = given("memory-limit") || getenv("GOMEMLIMIT") == ""
	switch {
	case c.percent < -1:
		return fmt.Errorf("-gc-percent must be -1 (off) or more, got %d", c.percent)
	case c.limit < 0:
		return errors.New("-memory-limit must not be negative")
	case c.applyPercent && c.applyLimit && c.percent < 0 && c.limit == 0:
		return errors.New("-gc-percent -1 needs a -memory-limit: the heap would grow without bound")
	}
	return nil
}

// apply sets the runtime's memory limit and collection target, for those
// settings that apply. With -gc-announce and a target, it returns the
// Pacer that starts the collections from then on; stop it to give them
// back to the runtime. Otherwise it returns nil.
func (c gcConfig) apply() *gcpace.Pacer {
	if c.applyLimit {
		limit := int64(c.limit)
		if limit == 0 {
			limit = math.MaxInt64
		}
		debug.SetMemoryLimit(limit)
	}
	if !c.applyPercent {
		return nil
	}
	debug.SetGCPercent(c.percent)
	if !c.announce || c.percent < 0 {
		return nil
	}
	return gcpace.Start(gcpace.Config{Percent: c.percent})
}

// LogValue logs the settings as applied, or the Go variable that stands.
func (c gcConfig) LogValue() slog.Value {
	percent, limit := slog.StringValue("GOGC"), slog.StringValue("GOMEMLIMIT")
	if c.applyPercent {
		percent = slog.IntValue(c.percent)
	}
	if c.applyLimit {
		limit = slog.IntValue(int(c.limit))
	}
	return slog.GroupValue(slog.Attr{Key: "percent", Value: percent}, slog.Attr{Key: "memory_limit", Value: limit})
}
