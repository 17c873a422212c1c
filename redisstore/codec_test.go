package redisstore

import (
	"math"
	"slices"
	"testing"
	"time"

	"numbers/cache"
	"numbers/jobs"
	"numbers/outcome"
)

func TestEntryRoundTrip(t *testing.T) {
	now := time.Unix(1800000000, 123456789)
	for name, nums := range map[string][]int64{
		"empty":   nil,
		"small":   {1, 2, 3, 5, 8},
		"extreme": {math.MinInt64, -1, 0, 1, math.MaxInt64},
	} {
		t.Run(name, func(t *testing.T) {
			e := cache.Entry{Numbers: nums, ResponseTime: now, FreshUntil: now.Add(time.Minute), StaleUntil: now.Add(time.Hour)}
			got, err := decodeEntry(encodeEntry(e))
			if err != nil || !slices.Equal(got.Numbers, nums) || !got.ResponseTime.Equal(e.ResponseTime) ||
				!got.FreshUntil.Equal(e.FreshUntil) || !got.StaleUntil.Equal(e.StaleUntil) {
				t.Fatalf("got %+v, %v; want %+v", got, err, e)
			}
		})
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	s := &jobs.Snapshot{ID: jobs.NewID(), State: jobs.Failed, Created: time.Unix(1800000000, 5e6),
		Deadline: time.Unix(1800000030, 5e6), Total: 3, Settled: 2, Numbers: []int64{-4, 7, 1 << 40}, Error: "why"}
	s.Outcomes[outcome.OK], s.Outcomes[outcome.Invalid] = 2, 1
	got, err := decodeSnapshot(encodeSnapshot(s))
	if err != nil {
		t.Fatal(err)
	}
	if string(jobs.AppendJSON(nil, got)) != string(jobs.AppendJSON(nil, s)) {
		t.Fatalf("got %s\nwant %s", jobs.AppendJSON(nil, got), jobs.AppendJSON(nil, s))
	}
}

// TestDecodeMalformed: truncated or foreign values are errors, never panics.
func TestDecodeMalformed(t *testing.T) {
	e := encodeEntry(cache.Entry{Numbers: []int64{1, 2, 3}})
	s := encodeSnapshot(&jobs.Snapshot{ID: "x", Numbers: []int64{1}})
	for i := range len(e) {
		if _, err := decodeEntry(e[:i]); err == nil {
			t.Fatalf("entry cut at %d decoded", i)
		}
	}
	for i := range len(s) {
		if _, err := decodeSnapshot(s[:i]); err == nil {
			t.Fatalf("snapshot cut at %d decoded", i)
		}
	}
	for _, b := range [][]byte{{}, {2}, {formatV1, 0xff}, []byte("hello")} {
		decodeEntry(b)    //nolint:errcheck // must not panic
		decodeSnapshot(b) //nolint:errcheck // must not panic
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(encodeEntry(cache.Entry{Numbers: []int64{1, 5}}))
	f.Add(encodeSnapshot(&jobs.Snapshot{ID: "id", Numbers: []int64{2}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		if e, err := decodeEntry(b); err == nil {
			again, err := decodeEntry(encodeEntry(e))
			if err != nil || !slices.Equal(again.Numbers, e.Numbers) || !again.StaleUntil.Equal(e.StaleUntil) {
				t.Fatalf("entry %x does not survive a round trip: %v", b, err)
			}
		}
		decodeSnapshot(b) //nolint:errcheck // must not panic
	})
}
