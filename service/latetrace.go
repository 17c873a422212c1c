package service

import (
	"time"

	"numbers/forensics"
	"numbers/handler"
)

// startLateTrace starts the flight recorder that LateTrace asks for and
// returns the handler's Observer, which feeds it late answers; with
// LateTrace off, the Observer is the metrics alone.
func (s *Service) startLateTrace() (handler.Observer, error) {
	c := s.cfg.LateTrace
	if !c.On {
		return s.metrics, nil
	}
	rec, err := forensics.Start(forensics.Config{Window: c.Window, MaxBytes: c.MaxBytes, Interval: c.Interval})
	if err != nil {
		return nil, err
	}
	s.lateTrace = rec
	s.stops = append(s.stops, rec.Stop)
	s.metrics.WatchLateTraces(&rec.Stats)
	return lateTracing{Observer: s.metrics, rec: rec}, nil
}

// lateTracing is the handler's Observer while late answers are traced: every
// call reaches the metrics, and a late answer also asks rec for a trace.
type lateTracing struct {
	handler.Observer
	rec *forensics.Recorder
}

// Answered records the answer, then asks for a trace if it was late.
func (o lateTracing) Answered(elapsed time.Duration, partial, late bool) {
	o.Observer.Answered(elapsed, partial, late)
	if late {
		o.rec.Late(elapsed)
	}
}
