package handler

import (
	"hash/maphash"
	"sync/atomic"
)

// canonicalMemo remembers the canonical form of the u values seen lately,
// so that a URL asked for again and again (the cached path: the same few
// upstreams on every request) is parsed once, not on every request: parsing
// and canonicalising took 9 % of the CPU of a cached answer. It is a table
// of slots, each holding the last value that hashed to it; a value whose
// slot holds another is parsed and takes the slot. Values that differ on
// every request only ever miss, at the cost of a hash and an entry each.
type canonicalMemo struct {
	seed  maphash.Seed
	slots [canonicalSlots]atomic.Pointer[canonicalEntry]
}

// canonicalSlots is the table's size: a few thousand upstream URLs.
const canonicalSlots = 1 << 12

// canonicalEntry is one u value and what canonicalURL made of it.
type canonicalEntry struct {
	raw, canonical string
	ok             bool
}

func newCanonicalMemo() *canonicalMemo { return &canonicalMemo{seed: maphash.MakeSeed()} }

// canonical returns canonicalURL(raw), from the table when raw is there.
func (m *canonicalMemo) canonical(raw []byte) (string, bool) {
	slot := &m.slots[maphash.Bytes(m.seed, raw)%canonicalSlots]
	if e := slot.Load(); e != nil && e.raw == string(raw) {
		return e.canonical, e.ok
	}
	u, ok := canonicalURL(raw)
	e := &canonicalEntry{raw: u, canonical: u, ok: ok}
	if !ok || u != string(raw) { // most values are canonical already: one string for both
		e.raw = string(raw)
	}
	slot.Store(e)
	return u, ok
}
