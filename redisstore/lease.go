// lease.go keeps the ownership of running jobs: the process running a job
// renews its lease (a score in a sorted set: the instant it expires), and
// every process sweeps the leases that expired, ending those jobs with
// state failed, so that a job whose process died never stays running.

package redisstore

import (
	"errors"

	"github.com/redis/rueidis"

	"numbers/jobs"
)

// ReasonOwnerLost is the Error of a job ended because the process running
// it stopped renewing its lease.
const ReasonOwnerLost = "the replica running this job stopped before it finished (its lease expired): start the job again"

// sweepBatch is the most expired leases one sweep ends.
const sweepBatch = 64

// maintain runs Maintain every interval until the store closes.
func (st *JobStore) maintain() {
	defer st.wg.Done()
	every(st.ctx, st.interval, func() bool { st.Maintain(); return false })
}

// Maintain does one round of the store's upkeep: it publishes the events
// that could not be published, renews the leases of the jobs this process
// runs (telling Lost of those it no longer owns), and ends the jobs whose
// lease expired. The store calls it every Interval; tests call it by hand.
func (st *JobStore) Maintain() {
	st.mu.Lock()
	ids := make([]string, 0, len(st.owned))
	var retry []*owned
	var retryIDs []string
	for id, o := range st.owned {
		ids = append(ids, id)
		retry = append(retry, o)
		retryIDs = append(retryIDs, id)
	}
	st.mu.Unlock()
	for i, o := range retry {
		o.mu.Lock()
		st.flush(retryIDs[i], o) //nolint:errcheck // still pending: the next round tries again
		o.mu.Unlock()
	}
	st.renew(ids)
	st.Sweep()
}

// renew renews the leases of ids and tells Lost of those no longer ours.
func (st *JobStore) renew(ids []string) {
	if len(ids) == 0 {
		return
	}
	args := append([]string{st.owner, ms(st.now().Add(st.lease)), st.c.prefix}, ids...)
	ctx, cancel := st.c.withTimeout()
	defer cancel()
	lost, err := st.c.exec(ctx, OpLease, renewScript, []string{st.leaseKey()}, args).AsStrSlice()
	if err != nil {
		return // out of reach: the leases may expire, and the sweep decides
	}
	for _, id := range lost {
		st.disown(id)
		if st.lost != nil {
			st.lost(id)
		}
	}
}

// Sweep ends, with state failed, the running jobs whose lease expired
// before now: their process stopped renewing it. It returns how many.
func (st *JobStore) Sweep() int {
	now := st.now()
	ctx, cancel := st.c.withTimeout()
	defer cancel()
	ids, err := st.c.do(ctx, OpLease, func(rc rueidis.Client) rueidis.Completed {
		return rc.B().Zrange().Key(st.leaseKey()).Min("-inf").Max("("+ms(now)).Byscore().
			Limit(0, sweepBatch).Build()
	}).AsStrSlice()
	if err != nil {
		return 0
	}
	n := 0
	for _, id := range ids {
		s, err := st.end(id, jobs.Failed, ReasonOwnerLost, ms(now))
		switch {
		case err == nil && s.State == jobs.Failed:
			n++
		case errors.Is(err, jobs.ErrNotFound):
			// Its keys expired: forget the lease.
			ctx, cancel := st.c.withTimeout()
			st.c.do(ctx, OpLease, func(rc rueidis.Client) rueidis.Completed {
				return rc.B().Zrem().Key(st.leaseKey()).Member(id).Build()
			})
			cancel()
		}
	}
	return n
}
