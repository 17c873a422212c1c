package admission_test

import (
	"fmt"
	"time"

	"numbers/admission"
)

func ExampleCoDel() {
	c := admission.New(admission.Config{Target: 5 * time.Millisecond, Interval: 100 * time.Millisecond})
	start := time.Now()
	// Every request of the first 100ms waited 20ms or more: a queue is standing.
	for i := range 10 {
		c.Admit(start.Add(time.Duration(i)*10*time.Millisecond), 20*time.Millisecond)
	}
	next := start.Add(100 * time.Millisecond)
	fmt.Println("waited 30ms:", c.Admit(next, 30*time.Millisecond))
	fmt.Println("waited 2ms:", c.Admit(next, 2*time.Millisecond))
	fmt.Println("standing queue:", c.Sojourn())
	// Output:
	// waited 30ms: false
	// waited 2ms: true
	// standing queue: 20ms
}
