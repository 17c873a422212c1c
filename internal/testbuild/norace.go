//go:build !race

// Package testbuild is for tests that build the service's binary and run
// it: Flags builds it the way the test itself was built, so that a test run
// with the race detector runs a binary with it too, and the binary's
// packages come from the same build as the test's (one build, not two).
package testbuild

// Flags builds without the race detector, as the tests themselves are.
var Flags []string
