//go:build race

package testbuild

// Flags builds with the race detector, as the tests themselves are.
var Flags = []string{"-race"}
