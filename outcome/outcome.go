// Package outcome names how one upstream of a request fared. It is the
// vocabulary shared by the layers of the request path: the fetcher and the
// source produce outcomes, the handler reports them to callers in the
// X-Numbers-Outcomes header, and telemetry counts them.
package outcome

// Outcome is how one upstream of a request fared.
type Outcome uint8

// The outcomes, in the order they are reported. New outcomes go at the end,
// so that parsers of the earlier keys of X-Numbers-Outcomes keep working.
const (
	OK      Outcome = iota // fetched live and contributed
	Cached                 // served from a fresh cache entry, not fetched
	Stale                  // the live fetch failed or was late; a stale entry was served
	Failed                 // status, transport, body or size failure
	Denied                 // refused by the SSRF policy
	Timeout                // not settled by the deadline
	Invalid                // the URL itself is invalid; never fetched
	Ejected                // the upstream's host is ejected by passive health; not asked
	Count                  // the number of outcomes, not an outcome
)

var names = [Count]string{"ok", "cached", "stale", "failed", "denied", "timeout", "invalid", "ejected"}

// String returns the outcome's lower-case label.
func (o Outcome) String() string {
	if o < Count {
		return names[o]
	}
	return "unknown"
}

// Contributed reports whether an upstream with this outcome added its numbers.
func (o Outcome) Contributed() bool { return o == OK || o == Cached || o == Stale }
