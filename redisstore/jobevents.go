// jobevents.go reads a job's event log from its Stream, and follows it for
// the hub: one XREAD BLOCK per job followed, shared by its watchers.

package redisstore

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/rueidis"

	"numbers/jobs"
)

// Events implements jobs.Store: the events after after (XRANGE), and while
// the job runs a channel closed when its log may have grown, which a
// follower of the log closes (XREAD BLOCK): when an event arrives, and at
// least every Block (the caller then asks again, which keeps the follower
// going; one not asked again for a Block stops).
func (st *JobStore) Events(id string, after uint64) ([]jobs.Event, <-chan struct{}, error) {
	ctx, cancel := st.c.withTimeout()
	defer cancel()
	rc := st.c.client()
	if rc == nil {
		st.c.report(OpJobRead, 0, ErrDown)
		return nil, nil, unavailable(ErrDown)
	}
	start := time.Now()
	res := rc.DoMulti(ctx,
		rc.B().Xrange().Key(st.logKey(id)).Start("(0-"+strconv.FormatUint(after, 10)).End("+").Build(),
		rc.B().Hget().Key(st.jobKey(id)).Field("state").Build())
	entries, err := res[0].AsXRange()
	state, serr := res[1].ToString()
	if err == nil && !rueidis.IsRedisNil(serr) {
		err = serr
	}
	st.c.report(OpJobRead, time.Since(start), errors.Join(res[0].NonRedisError(), res[1].NonRedisError()))
	switch {
	case rueidis.IsRedisNil(serr):
		return nil, nil, jobs.ErrNotFound
	case err != nil:
		return nil, nil, unavailable(err)
	}
	evs, last, err := toEvents(entries, after)
	if err != nil {
		return nil, nil, err
	}
	if state != jobs.Running.String() {
		return evs, nil, nil // its done event is in the log: the log has ended
	}
	return evs, st.wait(id, last), nil
}

// toEvents converts stream entries to events, and returns the last id.
func toEvents(entries []rueidis.XRangeEntry, last uint64) ([]jobs.Event, uint64, error) {
	var evs []jobs.Event
	for _, e := range entries {
		seq, ok := strings.CutPrefix(e.ID, "0-")
		id, err := strconv.ParseUint(seq, 10, 64)
		if !ok || err != nil {
			return nil, 0, errFormat
		}
		evs = append(evs, jobs.Event{ID: id, Type: e.FieldValues["t"], Data: []byte(e.FieldValues["d"])})
		last = id
	}
	return evs, last, nil
}

// follower follows one log with XREAD BLOCK, for the callers of Events.
type follower struct {
	ch     chan struct{} // closed at the end of each round
	last   uint64        // the last id a caller has: read after it
	wanted bool          // a caller asked during this round
}

// wait returns a channel closed when job id's log may have grown past
// last, starting a follower of the log unless one runs.
func (st *JobStore) wait(id string, last uint64) <-chan struct{} {
	st.mu.Lock()
	defer st.mu.Unlock()
	f := st.follows[id]
	if f == nil {
		f = &follower{ch: make(chan struct{})}
		st.follows[id] = f
		st.wg.Add(1)
		go st.follow(id, f)
	}
	f.last, f.wanted = last, true
	return f.ch
}

// follow runs rounds of XREAD BLOCK on id's log after the last id a caller
// has, closing the channel at the end of each, until a round passes with no
// caller asking, or the store closes. A caller that asked before the round
// began has the round's channel, so no event is missed: XREAD returns at
// once when the log already holds one past last.
func (st *JobStore) follow(id string, f *follower) {
	defer st.wg.Done()
	for {
		st.mu.Lock()
		last := f.last
		f.wanted = false
		st.mu.Unlock()
		ctx, cancel := context.WithTimeout(st.ctx, st.block+st.c.timeout)
		err := st.c.do(ctx, OpJobWatch, func(rc rueidis.Client) rueidis.Completed {
			return rc.B().Xread().Count(1).Block(st.block.Milliseconds()).Streams().
				Key(st.logKey(id)).Id("0-" + strconv.FormatUint(last, 10)).Build()
		}).Error()
		cancel()
		if err != nil && !rueidis.IsRedisNil(err) && st.ctx.Err() == nil {
			// Redis out of reach: the caller reads again after a pause.
			select {
			case <-st.ctx.Done():
			case <-time.After(st.block):
			}
		}
		st.mu.Lock()
		close(f.ch)
		f.ch = make(chan struct{})
		if !f.wanted || st.ctx.Err() != nil {
			delete(st.follows, id)
			st.mu.Unlock()
			return
		}
		st.mu.Unlock()
	}
}
