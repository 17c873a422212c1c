// Package integration holds tests only: the service's parts and its binary
// against the upstream simulator, with real connections on loopback. They
// live beside the simulator in the bench module, so that the service's module
// does not depend on it; they use only what the service's packages export.
package integration
