package aggregate

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSetAdd(t *testing.T) {
	for _, tt := range mergeCases {
		t.Run(tt.name, func(t *testing.T) {
			var s Set
			s.Add(tt.a)
			s.Add(tt.b)
			want := oracleUnion(tt.a, tt.b)
			if !slices.Equal(s.Numbers(), want) || s.Len() != len(want) {
				t.Fatalf("Set{%v + %v} = %v (Len %d), want %v", tt.a, tt.b, s.Numbers(), s.Len(), want)
			}
		})
	}
}

func TestSetZeroValue(t *testing.T) {
	var s Set
	if s.Len() != 0 || len(s.Numbers()) != 0 {
		t.Fatalf("zero Set has %v", s.Numbers())
	}
	s.Reset()
	if s.Len() != 0 {
		t.Fatal("Reset of zero Set is not empty")
	}
}

func TestSetDoesNotRetainInput(t *testing.T) {
	in := []int64{1, 2, 3}
	var s Set
	s.Add(in) // first Add takes the append path
	in[0] = 100
	s.Add([]int64{5, 6}) // append path again
	in2 := []int64{0, 4}
	s.Add(in2) // merge path
	in2[0] = 100
	if want := []int64{0, 1, 2, 3, 4, 5, 6}; !slices.Equal(s.Numbers(), want) {
		t.Fatalf("Numbers = %v, want %v", s.Numbers(), want)
	}
}

func TestSetAddSelf(t *testing.T) {
	var s Set
	s.Add([]int64{1, 2, 3})
	s.Add(s.Numbers())
	s.Add(s.Numbers()[1:2])
	if want := []int64{1, 2, 3}; !slices.Equal(s.Numbers(), want) {
		t.Fatalf("Numbers = %v, want %v", s.Numbers(), want)
	}
}

func TestSetResetKeepsBuffers(t *testing.T) {
	var s Set
	add := func() {
		s.Add([]int64{1, 3, 5, 7})
		s.Add([]int64{2, 4, 6, 8})
		s.Add([]int64{0, 9})
	}
	add()
	s.Reset()
	if s.Len() != 0 {
		t.Fatalf("after Reset Len = %d", s.Len())
	}
	if n := testing.AllocsPerRun(100, func() { s.Reset(); add() }); n != 0 {
		t.Fatalf("warm Set allocated %v times per run, want 0", n)
	}
	if want := []int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}; !slices.Equal(s.Numbers(), want) {
		t.Fatalf("Numbers = %v, want %v", s.Numbers(), want)
	}
}

func TestSetResetDropsHugeBuffers(t *testing.T) {
	var s Set
	big := make([]int64, maxRetainedSetCap+1)
	for i := range big {
		big[i] = int64(2 * i)
	}
	s.Add(big)
	s.Add([]int64{1})
	s.Reset()
	if cap(s.cur) > maxRetainedSetCap {
		t.Fatalf("Reset kept a buffer of cap %d", cap(s.cur))
	}
	s.Add([]int64{1, 2})
	if want := []int64{1, 2}; !slices.Equal(s.Numbers(), want) {
		t.Fatalf("Numbers after drop = %v, want %v", s.Numbers(), want)
	}
}

func TestSetManyRandomLists(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var s Set
	var lists [][]int64
	for range 50 {
		l := sortedUniques(r, r.IntN(200), -500, 500)
		lists = append(lists, l)
		s.Add(l)
	}
	if want := oracleUnion(lists...); !slices.Equal(s.Numbers(), want) {
		t.Fatalf("Set of %d lists differs from oracle", len(lists))
	}
}

func TestAcquireReleaseSet(t *testing.T) {
	s := AcquireSet()
	s.Add([]int64{1, 2})
	ReleaseSet(s)
	ReleaseSet(nil)
	s = AcquireSet()
	defer ReleaseSet(s)
	if s.Len() != 0 {
		t.Fatalf("acquired Set holds %v", s.Numbers())
	}
}
