package testwait

import (
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// fatal records Fatalf instead of ending the test.
type fatal struct{ msg string }

func (f *fatal) Helper() {}

func (f *fatal) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	panic(f)
}

func TestEventuallyReturnsOnceTheConditionHolds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int64
		go func() {
			time.Sleep(time.Second) // fake time, inside the bubble
			n.Store(1)
		}()
		start := time.Now()
		Eventually(t, "n to be set", func() bool { return n.Load() == 1 })
		if took := time.Since(start); took < time.Second || took > time.Second+20*time.Millisecond {
			t.Errorf("returned after %v; want just after the 1s the condition took", took)
		}
	})
}

func TestEventuallyFailsAfterTheBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fatal{}
		start := time.Now()
		func() {
			defer func() {
				if r := recover(); r != f {
					t.Fatalf("recovered %v; want the test failed", r)
				}
			}()
			Eventually(f, "what never happens", func() bool { return false })
		}()
		if took := time.Since(start); took < Bound {
			t.Errorf("gave up after %v; want at least %v", took, Bound)
		}
		if want := "gave up after 10s waiting for what never happens"; f.msg != want {
			t.Errorf("message %q; want %q", f.msg, want)
		}
	})
}
