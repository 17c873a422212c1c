// This file holds the cache's counters and sizes, which telemetry reads.

package cache

// Stats are the cache's counters, a snapshot of monotonically increasing
// values.
type Stats struct {
	Hits      uint64 // Fresh calls that returned an entry
	Misses    uint64 // Fresh calls that did not
	StaleHits uint64 // Stale calls that returned an entry
	StaleMiss uint64 // Stale calls that did not
	Stores    uint64 // Store calls that stored
	Rejected  uint64 // Store calls that did not (forbidden, useless, too large, older)
	Evictions uint64 // entries evicted to stay within MaxBytes
	Expired   uint64 // entries dropped on lookup because no longer usable at all
	// SharedHits are Shared calls answered by a fresh entry of the second
	// level.
	SharedHits uint64
}

// Len returns the number of entries, including stale ones not yet dropped.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// Bytes returns the accounted size of all entries, never above MaxBytes.
func (c *Cache) Bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}

// MaxBytes returns the bound on the accounted size of all entries: the
// configured one, or DefaultMaxBytes. Negative means the cache is disabled.
func (c *Cache) MaxBytes() int64 { return c.maxBytes }

// Stats returns a snapshot of the counters. Each counter is read
// atomically, but not all of them at the same instant.
func (c *Cache) Stats() Stats {
	return Stats{
		Hits:      c.hits.Load(),
		Misses:    c.misses.Load(),
		StaleHits: c.staleHits.Load(),
		StaleMiss: c.staleMiss.Load(),
		Stores:    c.stores.Load(),
		Rejected:  c.rejected.Load(),
		Evictions: c.evictions.Load(),
		Expired:   c.expired.Load(),

		SharedHits: c.sharedHits.Load(),
	}
}
