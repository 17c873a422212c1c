package cache

import (
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// clock is a settable time source for Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func TestFreshAndStale(t *testing.T) {
	nums := []int64{1, 2, 3}
	tests := []struct {
		name     string
		cc       string
		maxStale time.Duration // Config.MaxStale
		second   bool          // offered twice: the first is refused (the doorkeeper)
		stored   bool
		at       time.Duration // lookup time - response time
		fresh    bool
		stale    bool
	}{
		{name: "fresh within max-age", cc: "max-age=60", stored: true, at: 59 * time.Second, fresh: true, stale: true},
		{name: "stale at max-age", cc: "max-age=60", stored: true, at: 60 * time.Second, stale: true},
		{name: "default max-stale 1h, inside", cc: "max-age=60", stored: true, at: 60*time.Second + time.Hour - 1, stale: true},
		{name: "default max-stale 1h, past", cc: "max-age=60", stored: true, at: 60*time.Second + time.Hour},
		{name: "max-stale setting", cc: "max-age=60", maxStale: 10 * time.Second, stored: true, at: 69 * time.Second, stale: true},
		{name: "max-stale setting past", cc: "max-age=60", maxStale: 10 * time.Second, stored: true, at: 70 * time.Second},
		{name: "max-stale disabled", cc: "max-age=60", maxStale: -1, stored: true, at: 61 * time.Second},
		{name: "stale-if-error beyond max-stale", cc: "max-age=60, stale-if-error=7200", stored: true, at: 60*time.Second + 90*time.Minute, stale: true},
		{name: "stale-if-error with max-stale disabled", cc: "max-age=60, stale-if-error=10", maxStale: -1, stored: true, at: 69 * time.Second, stale: true},
		{name: "stale-if-error with max-stale disabled, past", cc: "max-age=60, stale-if-error=10", maxStale: -1, stored: true, at: 70 * time.Second},
		{name: "max-stale beyond stale-if-error", cc: "max-age=60, stale-if-error=10", stored: true, at: 30 * time.Minute, stale: true},
		{name: "must-revalidate: fresh", cc: "max-age=60, must-revalidate", stored: true, at: 59 * time.Second, fresh: true, stale: true},
		{name: "must-revalidate: no stale", cc: "max-age=60, must-revalidate", stored: true, at: 60 * time.Second},
		{name: "s-maxage: no stale", cc: "s-maxage=60, stale-if-error=600", stored: true, at: 61 * time.Second},
		{name: "no freshness info: stale only, stored the second time", cc: "", second: true, stored: true, at: 0, stale: true},
		{name: "no freshness info, max-stale disabled: useless", cc: "", maxStale: -1},
		{name: "max-age=0: stale only, stored the second time", cc: "max-age=0", second: true, stored: true, at: 0, stale: true},
		{name: "no-cache: never usable, not stored", cc: "no-cache, max-age=60"},
		{name: "no-store", cc: "no-store, max-age=60"},
		{name: "private", cc: "private, max-age=60"},
		{name: "malformed", cc: "max-age=1x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock(t0)
			c := New(Config{MaxStale: tt.maxStale, Now: clk.Now})
			h := Header{CacheControl: tt.cc, Date: httpDate(t0)}
			if tt.second && c.Store("u", nums, h, t0, t0) {
				t.Fatal("a stale-only entry stored the first time its URL was offered")
			}
			if got := c.Store("u", nums, h, t0, t0); got != tt.stored {
				t.Fatalf("Store = %v, want %v", got, tt.stored)
			}
			clk.Set(t0.Add(tt.at))
			got, ok := c.Fresh("u")
			if ok != tt.fresh || (ok && !slices.Equal(got, nums)) {
				t.Errorf("Fresh = %v, %v; want fresh %v", got, ok, tt.fresh)
			}
			got, ok = c.Stale("u")
			if ok != tt.stale || (ok && !slices.Equal(got, nums)) {
				t.Errorf("Stale = %v, %v; want %v", got, ok, tt.stale)
			}
		})
	}
}

func TestStoreReplaces(t *testing.T) {
	clk := newClock(t0)
	c := New(Config{Now: clk.Now})
	fresh := Header{CacheControl: "max-age=60"}

	c.Store("u", []int64{1}, fresh, t0, t0)
	if !c.Store("u", []int64{2, 3}, fresh, t0.Add(time.Second), t0.Add(time.Second)) {
		t.Fatal("newer Store rejected")
	}
	if got, _ := c.Fresh("u"); !slices.Equal(got, []int64{2, 3}) {
		t.Errorf("after replace Fresh = %v, want [2 3]", got)
	}
	if want := int64(2*8 + 1 + entryOverhead); c.Bytes() != want || c.Len() != 1 {
		t.Errorf("after replace Bytes, Len = %d, %d; want %d, 1", c.Bytes(), c.Len(), want)
	}

	// An older response, finishing late, does not overwrite a newer one.
	if c.Store("u", []int64{9}, fresh, t0.Add(-time.Second), t0.Add(-time.Second)) {
		t.Error("older Store accepted")
	}
	if got, _ := c.Fresh("u"); !slices.Equal(got, []int64{2, 3}) {
		t.Errorf("after older Store Fresh = %v, want [2 3]", got)
	}

	// A newer response that may not be stored drops the old entry.
	if c.Store("u", []int64{4}, Header{CacheControl: "no-store"}, t0.Add(2*time.Second), t0.Add(2*time.Second)) {
		t.Error("no-store Store accepted")
	}
	if _, ok := c.Stale("u"); ok || c.Len() != 0 || c.Bytes() != 0 {
		t.Errorf("after no-store: Stale ok %v, Len %d, Bytes %d; want false, 0, 0", ok, c.Len(), c.Bytes())
	}
}

func TestExpiredDropped(t *testing.T) {
	clk := newClock(t0)
	c := New(Config{MaxStale: -1, Now: clk.Now})
	c.Store("u", []int64{1}, Header{CacheControl: "max-age=60"}, t0, t0)
	clk.Set(t0.Add(time.Minute))
	if _, ok := c.Fresh("u"); ok {
		t.Fatal("Fresh after max-age")
	}
	if c.Len() != 0 || c.Bytes() != 0 || c.Stats().Expired != 1 {
		t.Errorf("Len, Bytes, Expired = %d, %d, %d; want 0, 0, 1", c.Len(), c.Bytes(), c.Stats().Expired)
	}
}

func TestLRUEviction(t *testing.T) {
	clk := newClock(t0)
	const perEntry = 10*8 + 1 + entryOverhead // ten numbers, one-byte key
	c := New(Config{MaxBytes: 3 * perEntry, Now: clk.Now})
	h := Header{CacheControl: "max-age=600"}
	nums := make([]int64, 10)
	store := func(key string) {
		t.Helper()
		if !c.Store(key, nums, h, t0, t0) {
			t.Fatalf("Store(%q) rejected", key)
		}
		if c.Bytes() > 3*perEntry {
			t.Fatalf("Bytes %d above bound %d", c.Bytes(), 3*perEntry)
		}
	}
	store("a")
	store("b")
	store("c")
	if _, ok := c.Fresh("a"); !ok { // a is now the most recently used
		t.Fatal("a missing")
	}
	store("d") // evicts b, the least recently used
	if _, ok := c.Fresh("b"); ok {
		t.Error("b survived; want it evicted as least recently used")
	}
	for _, k := range []string{"a", "c", "d"} {
		if _, ok := c.Fresh(k); !ok {
			t.Errorf("%s evicted", k)
		}
	}
	if c.Len() != 3 || c.Bytes() != 3*perEntry || c.Stats().Evictions != 1 {
		t.Errorf("Len, Bytes, Evictions = %d, %d, %d; want 3, %d, 1", c.Len(), c.Bytes(), c.Stats().Evictions, 3*perEntry)
	}

	// A big entry evicts as many as it needs, least recently used first
	// (order now, oldest first: a, c, d).
	big := make([]int64, 25)
	if !c.Store("e", big, h, t0, t0) {
		t.Fatal("big Store rejected")
	}
	if c.Len() != 2 || c.Bytes() != perEntry+25*8+1+entryOverhead {
		t.Errorf("after big: Len %d, Bytes %d; want 2, %d", c.Len(), c.Bytes(), perEntry+25*8+1+entryOverhead)
	}
	for k, want := range map[string]bool{"c": false, "a": false, "d": true, "e": true} {
		if _, ok := c.Fresh(k); ok != want {
			t.Errorf("after big: %s present %v, want %v", k, ok, want)
		}
	}
}

func TestSizeLimits(t *testing.T) {
	h := Header{CacheControl: "max-age=60"}
	c := New(Config{MaxBytes: 1000})
	if c.Store("u", make([]int64, 200), h, time.Now(), time.Now()) {
		t.Error("entry larger than MaxBytes stored")
	}
	// Capacity, not length, is what the slice holds on to.
	if c.Store("u", make([]int64, 1, 200), h, time.Now(), time.Now()) {
		t.Error("entry with capacity larger than MaxBytes stored")
	}
	off := New(Config{MaxBytes: -1})
	if off.Store("u", []int64{1}, h, time.Now(), time.Now()) || off.Len() != 0 {
		t.Error("negative MaxBytes stored an entry")
	}
	if d := New(Config{}); d.maxBytes != DefaultMaxBytes || d.maxStale != DefaultMaxStale {
		t.Errorf("zero Config: maxBytes %d, maxStale %v", d.maxBytes, d.maxStale)
	}
}

func TestReturnedSliceIsClipped(t *testing.T) {
	c := New(Config{})
	backing := make([]int64, 3, 10)
	c.Store("u", backing, Header{CacheControl: "max-age=60"}, time.Now(), time.Now())
	got, _ := c.Fresh("u")
	_ = append(got, 42) // must reallocate, not write into the shared array
	if backing[:4][3] != 0 {
		t.Error("append to a returned slice wrote into the stored array")
	}
}

func TestStats(t *testing.T) {
	clk := newClock(t0)
	c := New(Config{Now: clk.Now})
	c.Store("a", []int64{1}, Header{CacheControl: "max-age=60"}, t0, t0)
	c.Store("b", []int64{1}, Header{CacheControl: "no-store"}, t0, t0)
	c.Fresh("a")
	c.Fresh("b")
	c.Stale("b")
	clk.Set(t0.Add(2 * time.Minute))
	c.Stale("a")
	want := Stats{Hits: 1, Misses: 1, StaleHits: 1, StaleMiss: 1, Stores: 1, Rejected: 1}
	if got := c.Stats(); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
}

func TestConcurrent(t *testing.T) {
	clk := newClock(t0)
	const maxBytes = 20 * (16*8 + 3 + entryOverhead)
	c := New(Config{MaxBytes: maxBytes, Now: clk.Now})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				key := "k" + strconv.Itoa((g*7+i)%50)
				switch i % 4 {
				case 0:
					nums := make([]int64, i%16)
					c.Store(key, nums, Header{CacheControl: fmt.Sprintf("max-age=%d", i%5)}, t0, t0.Add(time.Duration(i)))
				case 1:
					c.Fresh(key)
				case 2:
					c.Stale(key)
				default:
					if b := c.Bytes(); b > maxBytes {
						t.Errorf("Bytes %d above %d", b, maxBytes)
					}
					clk.Set(t0.Add(time.Duration(i) * time.Millisecond))
				}
			}
		})
	}
	wg.Wait()
	s := c.Stats()
	if s.Stores+s.Rejected != 8*500 || s.Hits+s.Misses != 8*500 || s.StaleHits+s.StaleMiss != 8*500 {
		t.Errorf("Stats %+v do not add up to the calls made", s)
	}
	if c.Bytes() > maxBytes || c.Len() > 50 {
		t.Errorf("Bytes %d, Len %d out of bounds", c.Bytes(), c.Len())
	}
}

// TestDoorkeeper: an entry without freshness is stored the second time its
// URL is offered, not the first; one with freshness is stored at once; and
// once a URL is held, a newer stale-only response replaces it at once.
func TestDoorkeeper(t *testing.T) {
	clk := newClock(t0)
	c := New(Config{Now: clk.Now})
	staleOnly := Header{Date: httpDate(t0)}
	if c.Store("a", []int64{1}, staleOnly, t0, t0) {
		t.Fatal("a: stored the first time")
	}
	if _, ok := c.Stale("a"); ok {
		t.Fatal("a: usable stale after the first offer")
	}
	if !c.Store("a", []int64{1}, staleOnly, t0, t0) {
		t.Fatal("a: not stored the second time")
	}
	if got, ok := c.Stale("a"); !ok || !slices.Equal(got, []int64{1}) {
		t.Fatalf("a: Stale = %v, %v; want [1]", got, ok)
	}
	if !c.Store("a", []int64{2}, staleOnly, t0, t0.Add(time.Second)) {
		t.Fatal("a: a newer response for a held URL not stored")
	}
	if !c.Store("b", []int64{3}, Header{CacheControl: "max-age=60", Date: httpDate(t0)}, t0, t0) {
		t.Fatal("b: an entry with freshness not stored the first time")
	}
	// Distinct URLs, each offered once, leave nothing behind.
	for i := range 1000 {
		c.Store(fmt.Sprintf("distinct-%d", i), []int64{int64(i)}, staleOnly, t0, t0)
	}
	if c.Len() != 2 {
		t.Fatalf("%d entries after 1,000 URLs offered once; want the 2 stored before", c.Len())
	}
}
