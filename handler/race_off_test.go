//go:build !race

package handler

// raceEnabled reports whether the race detector, which slows encoding tenfold, is on.
const raceEnabled = false
