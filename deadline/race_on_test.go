//go:build race

package deadline

// raceEnabled reports whether the race detector, which slows encoding tenfold, is on.
const raceEnabled = true
