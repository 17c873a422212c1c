//go:build !unix

package loadshed

import "time"

// cpuTime is not measured here: only the scheduling latency signal is used.
func cpuTime() (time.Duration, bool) { return 0, false }
