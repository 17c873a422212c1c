package fetcher

import "errors"

// Outcome is how one upstream of a request fared. Outcomes are reported to
// callers in the X-Numbers-Outcomes header and counted in metrics.
type Outcome uint8

// The outcomes, in the order they are reported.
const (
	OK      Outcome = iota // fetched live and contributed
	Cached                 // served from a fresh cache entry, not fetched
	Stale                  // the live fetch failed or was late; a stale entry was served
	Failed                 // status, transport, body or size failure
	Denied                 // refused by the SSRF policy
	Timeout                // not settled by the deadline
	Invalid                // the URL itself is invalid; never fetched
	NumOutcomes
)

var outcomeNames = [NumOutcomes]string{"ok", "cached", "stale", "failed", "denied", "timeout", "invalid"}

// String returns the outcome's lower-case label.
func (o Outcome) String() string {
	if o < NumOutcomes {
		return outcomeNames[o]
	}
	return "unknown"
}

// Contributed reports whether an upstream with this outcome added its numbers.
func (o Outcome) Contributed() bool { return o == OK || o == Cached || o == Stale }

// OutcomeOf classifies the error of Fetch: nil is OK.
func OutcomeOf(err error) Outcome {
	switch {
	case err == nil:
		return OK
	case errors.Is(err, ErrTimeout):
		return Timeout
	case errors.Is(err, ErrDenied):
		return Denied
	default:
		return Failed
	}
}
