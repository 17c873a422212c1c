// Package source obtains the numbers of one upstream URL for the handler:
// from the live fetcher now, and is where caching and coalescing of upstream
// fetches live.
package source

import (
	"context"

	"numbers/fetcher"
)

// Source obtains upstream numbers. It is safe for concurrent use.
type Source struct {
	client *fetcher.Client
}

// New returns a Source that fetches with client.
func New(client *fetcher.Client) *Source {
	return &Source{client: client}
}

// Fetch returns the sorted unique numbers of url and how the upstream fared,
// by the deadline of ctx.
func (s *Source) Fetch(ctx context.Context, url string) ([]int64, fetcher.Outcome) {
	r, err := s.client.Fetch(ctx, url)
	return r.Numbers, fetcher.OutcomeOf(err)
}
