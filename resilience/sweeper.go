// sweeper.go is outlier detection's one background goroutine: it ages the
// hosts' counts, a batch of hosts at a time.

package resilience

import (
	"time"
)

// Start runs the sweeper, one goroutine with one ticker for every host,
// until Stop.
func (r *Detector) Start() {
	r.done = make(chan struct{})
	r.swept.Add(1)
	go func() {
		defer r.swept.Done()
		t := time.NewTicker(r.cfg.SweepInterval)
		defer t.Stop()
		for {
			select {
			case <-r.done:
				return
			case <-t.C:
				r.sweep()
			}
		}
	}()
}

// Stop ends the sweeper that Start runs and waits for it; it may be called
// more than once.
func (r *Detector) Stop() {
	r.stopOnce.Do(func() {
		if r.done != nil {
			close(r.done)
		}
	})
	r.swept.Wait()
}

// sweepBatch is how many hosts the sweeper ages under one hold of the lock,
// so that fetches never wait for a whole sweep of a full registry.
const sweepBatch = 256

// sweep ages every host: each half-window the failure counts move on (the
// previous half is dropped), the latency estimate decays, and the ejection
// count of a host healthy for a whole Window falls by one.
func (r *Detector) sweep() {
	now := r.now()
	r.mu.Lock()
	rotate := now.Sub(r.rotated) >= r.cfg.Window/2
	if rotate {
		r.rotated = now
	}
	keys := r.hosts.Keys()
	r.mu.Unlock()
	for len(keys) > 0 {
		batch := keys[:min(sweepBatch, len(keys))]
		keys = keys[len(batch):]
		r.mu.Lock()
		for _, k := range batch {
			h, ok := r.hosts.Peek(k)
			if !ok {
				continue
			}
			h.lat.decay()
			if rotate {
				h.ok = [2]uint32{0, h.ok[0]}
				h.bad = [2]uint32{0, h.bad[0]}
			}
			if !h.ejected && h.ejections > 0 && now.Sub(h.calmSince) >= r.cfg.Window {
				h.ejections--
				h.calmSince = now
			}
		}
		r.mu.Unlock()
	}
}
