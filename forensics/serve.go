package forensics

import (
	"bytes"
	"net/http"
	"time"
)

// ServeHTTP serves the latest snapshot to GET and HEAD: the trace as
// application/octet-stream, as a download named for when it was taken, with
// X-Late-Trace-Taken (RFC 3339, UTC) and X-Late-Trace-Elapsed (how long the
// late answer took, as a Go duration) headers. Before the first snapshot it
// answers 404 with a JSON error.
func (r *Recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		jsonError(w, http.StatusMethodNotAllowed, "method not allowed: use GET or HEAD")
		return
	}
	s, ok := r.Latest()
	if !ok {
		jsonError(w, http.StatusNotFound, "no late answer has been traced yet")
		return
	}
	taken := s.Taken.UTC()
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", `attachment; filename="late-trace-`+taken.Format("20060102T150405.000Z")+`.trace"`)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Late-Trace-Taken", taken.Format(time.RFC3339Nano))
	h.Set("X-Late-Trace-Elapsed", s.Elapsed.String())
	http.ServeContent(w, req, "", s.Taken, bytes.NewReader(s.Trace))
}

// jsonError answers status with {"error": msg}; msg holds no quotes.
func jsonError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write([]byte(`{"error":"` + msg + `"}` + "\n")) //nolint:errcheck // the client may be gone
}
