// Package jobs runs long aggregations ("jobs") and streams their progress.
// A job fetches a set of upstream URLs through the same source as GET
// /numbers (so the cache and coalescing serve both), with a longer budget,
// and merges their numbers as they arrive. Every settled upstream appends one
// event to the job's log, and a final done event closes it, so the log is
// bounded by construction: one event per upstream plus done.
//
// Three parts, each in its own file:
//
//   - [Store] keeps jobs: a status document ([Snapshot]) and an event log
//     with ids 1, 2, 3..., read from any id on. [MemStore] is the embedded,
//     bounded default; the interface fits a shared store such as Redis (a
//     hash for the document, a stream for the log).
//   - [Runner] runs jobs in this process: it fetches, merges, publishes an
//     event per settled upstream and the done event, and cancels.
//   - [Hub] streams job logs to watchers as Server-Sent Events over raw
//     connections, replaying the log from any id, so that a watcher that
//     joins at any moment sees every event once, in order.
package jobs

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strconv"
	"time"

	"numbers/outcome"
	"numbers/wire"
)

// ErrNotFound is returned for an id that names no job held: unknown, or
// finished and expired.
var ErrNotFound = errors.New("jobs: no such job")

// ErrFull is returned by Store.Create when the store is at its bounds.
var ErrFull = errors.New("jobs: the job store is full")

// ErrClosed is returned by a Runner that was closed.
var ErrClosed = errors.New("jobs: shutting down")

// ErrUnavailable is returned (wrapped) by a shared Store that cannot reach
// its backend (Redis down or slow): asking again later may succeed.
var ErrUnavailable = errors.New("jobs: the job store is out of reach")

// State is where a job is in its life.
type State uint8

// The states of a job.
const (
	Running   State = iota // fetches under way
	Done                   // every upstream settled, or the job's deadline passed
	Cancelled              // cancelled before every upstream settled
	Failed                 // ended by the service before every upstream settled: Snapshot.Error says why
)

var stateNames = [...]string{"running", "done", "cancelled", "failed"}

// String returns the state's name in the status document.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

// Snapshot is a job's status document at one moment. A published Snapshot
// is never modified: its Numbers may be shared by readers.
type Snapshot struct {
	ID       string
	State    State
	Created  time.Time // when the job's clock started (for respond-async, when the request was read)
	Deadline time.Time // when fetches still running are given up
	Total    int       // distinct valid upstream URLs
	Settled  int       // of them, how many have an outcome
	// Outcomes counts the upstreams per outcome, invalid URLs included, as in
	// the X-Numbers-Outcomes header.
	Outcomes [outcome.Count]int
	// Numbers is what has been merged so far: sorted, unique; final once the
	// job is no longer running.
	Numbers []int64
	// Error says why a Failed job ended; empty otherwise.
	Error string
}

// Complete reports whether the job is done and every valid upstream
// contributed fresh data (ok or cached), as X-Numbers-Complete says.
func (s *Snapshot) Complete() bool {
	return s.State == Done && s.Outcomes[outcome.OK]+s.Outcomes[outcome.Cached] == s.Total
}

// bytes is what the store accounts for the snapshot.
func (s *Snapshot) bytes() int64 {
	return int64(8*cap(s.Numbers)) + int64(len(s.ID)) + int64(len(s.Error)) + 200
}

// The event types of a job's log.
const (
	EventUpstream = "upstream" // one upstream settled: {"url","outcome","count"}
	EventDone     = "done"     // the job ended; data is the final status document
)

// Event is one entry of a job's log. IDs count from 1 with no gap.
type Event struct {
	ID   uint64
	Type string // EventUpstream or EventDone
	Data []byte // JSON, one line
}

func (e Event) bytes() int64 { return int64(len(e.Data)+len(e.Type)) + 32 }

// Store keeps jobs: each a status document and an append-only event log. It
// is safe for concurrent use. A job is written by one Runner only; any
// number of readers may read it.
type Store interface {
	// Create adds a job with its document and the events it already has
	// (IDs 1..n). It returns ErrFull when the store is at its bounds.
	Create(s *Snapshot, log []Event) error
	// Get returns the job's latest document, or ErrNotFound.
	Get(id string) (*Snapshot, error)
	// Publish appends ev, whose ID is one more than the last, to the job's
	// log and replaces its document with s, as one step: a reader sees both
	// or neither. A done event ends the log.
	Publish(id string, s *Snapshot, ev Event) error
	// Events returns the job's events with IDs above after, in order, and a
	// channel that is closed when another is published; the channel is nil
	// once the log has ended (its done event is published). The events must
	// not be modified.
	Events(id string, after uint64) ([]Event, <-chan struct{}, error)
	// Stats counts the jobs held, by state, and the bytes they take.
	Stats() StoreStats
}

// Ender is a Store shared by several processes, whose jobs any of them may
// end, not only the one running them: Runner.Cancel ends through it a job
// that another process runs. End publishes the done event of a running job
// with state (Cancelled or Failed, with reason as its Error) and returns the
// final document; a job no longer running is left as it is.
type Ender interface {
	End(id string, state State, reason string) (*Snapshot, error)
}

// Source is what the /numbers handler and the jobs need from the layer
// below (package source, the head of the upstream chain). Fetch starts
// obtaining the numbers of one upstream for a request whose context is ctx
// (its deadline bounds the fetch, its cancellation ends it) and calls
// deliver once, from any goroutine, with them (sorted ascending and unique)
// and how the upstream fared; deliver never blocks, and the numbers are
// neither modified nor retained. Abandon returns what stands in for an
// upstream whose fetch is still running when its caller stops waiting: a
// stale entry, or a timeout.
type Source interface {
	Fetch(ctx context.Context, url string, deliver func([]int64, outcome.Outcome))
	Abandon(url string) ([]int64, outcome.Outcome)
}

// StoreStats is what a Store holds.
type StoreStats struct {
	Jobs  [len(stateNames)]int // by State
	Bytes int64
}

// NewID returns a new job id: 128 random bits, URL-safe base64 without
// padding (22 characters). A job URL is a capability: ids are unguessable.
func NewID() string {
	var b [16]byte
	rand.Read(b[:]) //nolint:errcheck // crypto/rand.Read never fails (it crashes the program instead)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// ValidID reports whether id has the form NewID returns, so that malformed
// ids are refused before any store lookup.
func ValidID(id string) bool {
	if len(id) != 22 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// timeLayout is RFC 3339 with milliseconds, in UTC.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// AppendJSON appends the status document of s to dst:
//
//	{"id":..,"status":..,"created":..,"deadline":..,"upstreams":{"total":..,"settled":..},
//	 "outcomes":{"ok":..,...},"complete":..,"numbers":[...]}
//
// compact, on one line; a failed job has "error":"why" after numbers.
func AppendJSON(dst []byte, s *Snapshot) []byte {
	dst = append(dst, `{"id":`...)
	dst = appendString(dst, s.ID)
	dst = append(dst, `,"status":"`...)
	dst = append(dst, s.State.String()...)
	dst = append(dst, `","created":"`...)
	dst = s.Created.UTC().AppendFormat(dst, timeLayout)
	dst = append(dst, `","deadline":"`...)
	dst = s.Deadline.UTC().AppendFormat(dst, timeLayout)
	dst = append(dst, `","upstreams":{"total":`...)
	dst = strconv.AppendInt(dst, int64(s.Total), 10)
	dst = append(dst, `,"settled":`...)
	dst = strconv.AppendInt(dst, int64(s.Settled), 10)
	dst = append(dst, `},"outcomes":{`...)
	for o := range outcome.Count {
		if o > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, o.String()...)
		dst = append(dst, `":`...)
		dst = strconv.AppendInt(dst, int64(s.Outcomes[o]), 10)
	}
	dst = append(dst, `},"complete":`...)
	dst = strconv.AppendBool(dst, s.Complete())
	dst = append(dst, ',')
	// wire writes the whole object {"numbers":[...]}: drop its opening brace.
	at := len(dst)
	dst = wire.AppendJSON(dst, s.Numbers)
	dst = append(dst[:at], dst[at+1:]...)
	if s.Error == "" {
		return dst
	}
	dst = append(dst[:len(dst)-1], `,"error":`...)
	dst = appendString(dst, s.Error)
	return append(dst, '}')
}

// upstreamData is the data of an upstream event.
func upstreamData(url string, o outcome.Outcome, count int) []byte {
	b := make([]byte, 0, len(url)+48)
	b = append(b, `{"url":`...)
	b = appendString(b, url)
	b = append(b, `,"outcome":"`...)
	b = append(b, o.String()...)
	b = append(b, `","count":`...)
	b = strconv.AppendInt(b, int64(count), 10)
	return append(b, '}')
}

// appendString appends s as a JSON string. Upstream URLs are printable
// ASCII (the handler refuses the rest), but quote and backslash may occur.
func appendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}
