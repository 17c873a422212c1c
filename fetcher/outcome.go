package fetcher

import (
	"errors"

	"numbers/outcome"
)

// OutcomeOf classifies the error of Fetch: nil is OK.
func OutcomeOf(err error) outcome.Outcome {
	switch {
	case err == nil:
		return outcome.OK
	case errors.Is(err, ErrTimeout):
		return outcome.Timeout
	case errors.Is(err, ErrDenied):
		return outcome.Denied
	default:
		return outcome.Failed
	}
}
