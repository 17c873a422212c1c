package jobs

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"numbers/outcome"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeSource is a Source whose upstreams settle when the test says so:
// instant ones at once, the others at settle. Abandon offers stale[url].
type fakeSource struct {
	instant map[string]answer
	stale   map[string][]int64

	mu    sync.Mutex
	calls map[string]call
	fetch chan string // when set, told every URL fetched
}

type answer struct {
	numbers []int64
	outcome outcome.Outcome
}

type call struct {
	ctx     context.Context
	deliver func([]int64, outcome.Outcome)
}

func newSource(instant map[string]answer) *fakeSource {
	return &fakeSource{instant: instant, calls: map[string]call{}}
}

func (s *fakeSource) Fetch(ctx context.Context, url string, deliver func([]int64, outcome.Outcome)) {
	s.mu.Lock()
	s.calls[url] = call{ctx, deliver}
	s.mu.Unlock()
	if s.fetch != nil {
		s.fetch <- url
	}
	if a, ok := s.instant[url]; ok {
		deliver(a.numbers, a.outcome)
	}
}

func (s *fakeSource) Abandon(url string) ([]int64, outcome.Outcome) {
	if nums, ok := s.stale[url]; ok {
		return nums, outcome.Stale
	}
	return nil, outcome.Timeout
}

// settle delivers url's result.
func (s *fakeSource) settle(t testing.TB, url string, nums []int64, o outcome.Outcome) {
	t.Helper()
	s.mu.Lock()
	c, ok := s.calls[url]
	s.mu.Unlock()
	if !ok {
		t.Fatalf("%s was not fetched", url)
	}
	c.deliver(nums, o)
}

// ctxOf returns the context url was fetched in.
func (s *fakeSource) ctxOf(url string) context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[url].ctx
}

// sseEvent is an event or a comment read from a stream.
type sseEvent struct {
	id      uint64
	typ     string
	data    string
	comment string
}

// readStream reads a response head (up to its blank line) and then SSE
// messages from r until EOF, sending each on out if set, and returns them.
func readStream(r io.Reader, out chan<- sseEvent) ([]sseEvent, error) {
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return nil, err
		}
		if line == "\r\n" || line == "\n" {
			break
		}
	}
	var evs []sseEvent
	var cur sseEvent
	for {
		line, err := br.ReadString('\n')
		if errors.Is(err, io.EOF) && line == "" {
			return evs, nil
		}
		if err != nil {
			return evs, err
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			evs = append(evs, cur)
			if out != nil {
				out <- cur
			}
			cur = sseEvent{}
		case strings.HasPrefix(line, ": "):
			cur.comment = line[2:]
		case strings.HasPrefix(line, "id: "):
			cur.id, err = strconv.ParseUint(line[4:], 10, 64)
			if err != nil {
				return evs, err
			}
		case strings.HasPrefix(line, "event: "):
			cur.typ = line[7:]
		case strings.HasPrefix(line, "data: "):
			cur.data = line[6:]
		default:
			return evs, errors.New("unexpected line " + strconv.Quote(line))
		}
	}
}

// pipe returns the two ends of an in-memory connection: the hub's and the
// client's. Writes block until read, so a client that does not read stalls
// the hub's writes at once.
func pipe() (server, client net.Conn) { return net.Pipe() }
