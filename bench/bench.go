// Package bench is an open-loop HTTP load generator for the numbers service, in
// the manner of wrk2 and vegeta.
//
// A Pacer decides when each request is due, whatever the responses do. Run hands
// every due tick to a pool of workers and measures each request's latency from
// its intended send time, so a stall in the service shows up as latency and is
// never hidden by the generator waiting (coordinated omission). Every outcome,
// failures included, is recorded in one place into HDR histograms, and a Result
// reports percentiles, throughput, errors by kind, status counts, late responses
// and the completeness the service announces in its X-Numbers-* headers. The
// generator also reports when it fell behind its own schedule.
//
// Suite runs the scenarios (capacity, classic, long tail, hostile, big,
// overload; classic with a distinct query per request, a CPU-bound overload
// and a hostile soak) against the service and, for ratios, against the
// baseline implementation in bench/baseline, and checks the project's
// performance targets. Attack.Distinct gives every request upstream URLs of
// its own, so that the service's cache and coalescing cannot fold them. Report, WriteTable and Plot turn results into a table, JSON and PNG
// percentile plots. The package never logs and never reads flags:
// bench/cmd/bench does that.
package bench

import "time"

const (
	// DefaultBudget is the service's response budget: a response slower than this is late.
	DefaultBudget = 500 * time.Millisecond
	// DefaultTimeout is how long the generator waits for one response before counting a timeout.
	DefaultTimeout = 5 * time.Second
)
