package jobs

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"numbers/outcome"
)

func snapshot(id string) *Snapshot {
	return &Snapshot{ID: id, State: Running, Total: 1}
}

func TestMemStoreCreateGet(t *testing.T) {
	s := NewMemStore(MemConfig{})
	if _, err := s.Get("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get unknown: %v; want ErrNotFound", err)
	}
	if err := s.Create(snapshot("a"), nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get("a")
	if err != nil || got.ID != "a" {
		t.Fatalf("Get: %v, %v", got, err)
	}
	if _, _, err := s.Events("nope", 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Events unknown: %v; want ErrNotFound", err)
	}
	if err := s.Publish("nope", snapshot("nope"), Event{ID: 1}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Publish unknown: %v; want ErrNotFound", err)
	}
}

func TestMemStoreEvents(t *testing.T) {
	s := NewMemStore(MemConfig{})
	if err := s.Create(snapshot("a"), []Event{{ID: 1, Type: EventUpstream, Data: []byte("{}")}}); err != nil {
		t.Fatal(err)
	}
	evs, more, err := s.Events("a", 0)
	if err != nil || len(evs) != 1 || more == nil {
		t.Fatalf("Events(0) = %v, %v, %v", evs, more, err)
	}
	if err := s.Publish("a", snapshot("a"), Event{ID: 2, Type: EventUpstream}); err != nil {
		t.Fatal(err)
	}
	<-more // closed by the publish
	evs, more, _ = s.Events("a", 1)
	if len(evs) != 1 || evs[0].ID != 2 {
		t.Fatalf("Events(1) = %v; want event 2", evs)
	}
	done := snapshot("a")
	done.State = Done
	if err := s.Publish("a", done, Event{ID: 3, Type: EventDone}); err != nil {
		t.Fatal(err)
	}
	<-more
	evs, more, _ = s.Events("a", 2)
	if len(evs) != 1 || evs[0].Type != EventDone || more != nil {
		t.Fatalf("Events(2) after done = %v, %v; want done and a nil channel", evs, more)
	}
	if evs, more, _ := s.Events("a", 99); len(evs) != 0 || more != nil {
		t.Fatalf("Events past the end = %v, %v", evs, more)
	}
	if st := s.Stats(); st.Jobs[Done] != 1 || st.Jobs[Running] != 0 {
		t.Fatalf("Stats %+v; want one done job", st)
	}
}

func TestMemStoreBounds(t *testing.T) {
	t.Run("max jobs", func(t *testing.T) {
		s := NewMemStore(MemConfig{MaxJobs: 2})
		for _, id := range []string{"a", "b"} {
			if err := s.Create(snapshot(id), nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Create(snapshot("c"), nil); !errors.Is(err, ErrFull) {
			t.Fatalf("third job: %v; want ErrFull", err)
		}
		if _, err := s.Get("a"); err != nil {
			t.Fatalf("a full store disturbed a job: %v", err)
		}
	})
	t.Run("max bytes", func(t *testing.T) {
		s := NewMemStore(MemConfig{MaxBytes: 1100})
		big := snapshot("a")
		big.Numbers = make([]int64, 100) // 800 bytes, and 201 of bookkeeping
		if err := s.Create(big, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.Create(snapshot("b"), nil); !errors.Is(err, ErrFull) {
			t.Fatalf("over the byte bound: %v; want ErrFull", err)
		}
	})
	t.Run("ttl", func(t *testing.T) {
		var now atomic.Int64 // the clock, in nanoseconds
		s := NewMemStore(MemConfig{MaxJobs: 2, TTL: time.Hour, Now: func() time.Time { return time.Unix(0, now.Load()) }})
		for _, id := range []string{"run", "fin"} {
			if err := s.Create(snapshot(id), nil); err != nil {
				t.Fatal(err)
			}
		}
		fin := snapshot("fin")
		fin.State = Done
		if err := s.Publish("fin", fin, Event{ID: 1, Type: EventDone}); err != nil {
			t.Fatal(err)
		}
		now.Add(int64(time.Hour - time.Nanosecond))
		if err := s.Create(snapshot("c"), nil); !errors.Is(err, ErrFull) {
			t.Fatalf("before the ttl: %v; want ErrFull", err)
		}
		if _, err := s.Get("fin"); err != nil {
			t.Fatalf("finished job gone before its ttl: %v", err)
		}
		now.Add(1)
		if _, err := s.Get("fin"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("finished job after its ttl: %v; want ErrNotFound", err)
		}
		if err := s.Create(snapshot("c"), nil); err != nil {
			t.Fatalf("after the ttl: %v", err)
		}
		now.Add(int64(24 * time.Hour))
		if _, err := s.Get("run"); err != nil {
			t.Fatalf("a running job expired: %v", err)
		}
		if st := s.Stats(); st.Jobs[Running] != 2 || st.Jobs[Done] != 0 || st.Bytes <= 0 {
			t.Fatalf("Stats %+v; want two running jobs", st)
		}
	})
}

func TestIDs(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewID()
		b, err := base64.RawURLEncoding.DecodeString(id)
		if err != nil || len(b) != 16 || !ValidID(id) {
			t.Fatalf("id %q: %d bytes, %v, valid %v", id, len(b), err, ValidID(id))
		}
		if seen[id] {
			t.Fatalf("id %q twice", id)
		}
		seen[id] = true
	}
	for _, bad := range []string{"", "short", "aaaaaaaaaaaaaaaaaaaaa=", "aaaaaaaaaaaaaaaaaaaaa/", "aaaaaaaaaaaaaaaaaaaaaaa"} {
		if ValidID(bad) {
			t.Errorf("ValidID(%q) = true", bad)
		}
	}
}

func TestAppendJSON(t *testing.T) {
	s := &Snapshot{
		ID: "abc", State: Done, Total: 2, Settled: 2,
		Created:  time.Date(2026, 11, 21, 14, 31, 7, 123456789, time.UTC),
		Deadline: time.Date(2026, 11, 21, 14, 31, 37, 123456789, time.FixedZone("x", 3600)),
		Numbers:  []int64{-1, 2, 3},
	}
	s.Outcomes[outcome.OK] = 1
	s.Outcomes[outcome.Cached] = 1
	s.Outcomes[outcome.Invalid] = 3
	want := `{"id":"abc","status":"done","created":"2026-11-21T14:31:07.123Z","deadline":"2026-11-21T13:31:37.123Z",` +
		`"upstreams":{"total":2,"settled":2},"outcomes":{"ok":1,"cached":1,"stale":0,"failed":0,"denied":0,"timeout":0,"invalid":3,"ejected":0},` +
		`"complete":true,"numbers":[-1,2,3]}`
	if got := string(AppendJSON(nil, s)); got != want {
		t.Fatalf("AppendJSON\n got %s\nwant %s", got, want)
	}
	s.State, s.Numbers = Running, nil
	var doc map[string]any
	if err := json.Unmarshal(AppendJSON(nil, s), &doc); err != nil || doc["complete"] != false || doc["status"] != "running" {
		t.Fatalf("running document %v: %v", doc, err)
	}
	data := upstreamData(`http://a.test/?q="x"\`, outcome.Stale, 4)
	var up struct {
		URL     string `json:"url"`
		Outcome string `json:"outcome"`
		Count   int    `json:"count"`
	}
	if err := json.Unmarshal(data, &up); err != nil || up.URL != `http://a.test/?q="x"\` || up.Outcome != "stale" || up.Count != 4 {
		t.Fatalf("upstream data %s: %+v, %v", data, up, err)
	}
}
