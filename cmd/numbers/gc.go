package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"runtime/debug"
)

// Defaults of -gc-percent and -memory-limit.
//
// Every garbage collection makes all of the process's threads stop at a
// safe point a few times (at its start, at the end of marking). On a
// machine whose CPUs are shared with other busy processes, the operating
// system may have preempted one of those threads: the whole process then
// waits for it, up to a scheduling period, and the flush timers of answers
// due then fire late. In the hostile soak, answers timed at their flush
// came out 10-25 ms late a few times a minute, nearly all during a
// collection; fewer collections, fewer such stalls. A collection every
// 400 % of heap growth instead of Go's 100 % makes them a quarter as
// frequent: answers over 490 ms fell from 11 to 3 (medians of 3 runs of
// 30 s), and refusals by two thirds. The cost is memory, bounded by the
// soft limit: past it the runtime collects as often as it must to stay
// under it.
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
	applyPercent bool
	applyLimit   bool
}

func addGCFlags(fs *flag.FlagSet, c *gcConfig) {
	c.limit = defaultMemoryLimit
	fs.IntVar(&c.percent, "gc-percent", defaultGCPercent, "garbage collection target, as GOGC: collect when the heap has grown by this percent since the last collection; fewer collections mean fewer stalls of the whole process on a busy machine; -1 collects only at -memory-limit (default unless GOGC is set)")
	fs.Var(&c.limit, "memory-limit", "soft memory limit, as GOMEMLIMIT: past it the runtime collects as often as needed to stay under it (bytes, or with KiB/MiB/GiB); 0 means none (default 1GiB unless GOMEMLIMIT is set)")
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

// apply sets the runtime's collection target and memory limit, for those
// settings that apply.
func (c gcConfig) apply() {
	if c.applyPercent {
		debug.SetGCPercent(c.percent)
	}
	if c.applyLimit {
		limit := int64(c.limit)
		if limit == 0 {
			limit = math.MaxInt64
		}
		debug.SetMemoryLimit(limit)
	}
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
