// state.go names what outlier detection says of a host: its State, the
// Verdict on a fetch, and the Key that names the host of a URL.

package resilience

import (
	"strings"
)

// State is the health of one host.
type State uint8

// The states of a host.
const (
	Healthy  State = iota // asked as usual
	Ejected               // answered without being asked, within its ejection time
	HalfOpen              // ejected, past its ejection time: one trial request per ProbeInterval
)

var stateNames = [...]string{"healthy", "ejected", "half-open"}

// String returns the state's lower-case label.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

// Verdict is what Admit decides for one fetch.
type Verdict uint8

// The verdicts.
const (
	Allow  Verdict = iota // fetch as usual
	Reject                // the host is ejected: answer without asking it
	Trial                 // the host is ejected, but this fetch is its trial: send it, and answer without waiting for it
)

// Key returns the host of a canonical URL (as the handler makes them: scheme
// and host lower case, no user-info, no default port): its scheme, host and
// port, "http://example.com:8080". It allocates nothing: the key is a prefix
// of url. A URL without "://" is its own key.
func Key(url string) string {
	i := strings.Index(url, "://")
	if i < 0 {
		return url
	}
	end := i + 3
	for end < len(url) && url[end] != '/' && url[end] != '?' && url[end] != '#' {
		end++
	}
	return url[:end]
}
