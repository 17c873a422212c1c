// pending.go is a job that runs before it is stored: GET /numbers with
// Prefer: respond-async, which becomes a job only when its answer is partial.

package jobs

import (
	"numbers/outcome"
)

// Pending is a job started by Prepare and not stored yet.
type Pending struct{ j *job }

// Progress is a Pending job's state at one moment.
type Progress struct {
	Numbers []int64            // merged so far; shared, never modified
	Counts  [outcome.Count]int // outcomes of the settled upstreams (not the invalid ones)
	Pending []string           // the URLs not settled yet
	Changed <-chan struct{}    // closed at the next settled upstream
}

// ID returns the job's id.
func (p *Pending) ID() string { return p.j.snap.ID }

// Progress returns what the job has so far.
func (p *Pending) Progress() Progress {
	j := p.j
	j.mu.Lock()
	defer j.mu.Unlock()
	pr := Progress{Numbers: j.snap.Numbers, Counts: j.snap.Outcomes, Changed: j.changed}
	pr.Counts[outcome.Invalid] = 0
	for i, done := range j.settled {
		if !done {
			pr.Pending = append(pr.Pending, j.urls[i])
		}
	}
	return pr
}

// Commit stores the job with every event it has had so far; it runs on to
// its deadline. On ErrFull the job is left running: Discard it.
func (p *Pending) Commit() (*Snapshot, error) {
	j := p.j
	j.mu.Lock()
	defer j.mu.Unlock()
	snap := j.snap
	if err := j.r.store.Create(&snap, j.log); err != nil {
		return nil, err
	}
	j.stored, j.log = true, nil
	j.r.remember(snap.ID)
	j.r.mu.Lock()
	if _, running := j.r.running[j]; running {
		j.r.byID[snap.ID] = j
	}
	j.r.mu.Unlock()
	return &snap, nil
}

// Discard cancels the fetches of a job that was not committed and waits
// for its goroutine.
func (p *Pending) Discard() {
	p.j.stopOnce.Do(func() { close(p.j.stop) })
	<-p.j.ended
}
