package apitest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"numbers/api"
)

const (
	outcomes = "ok=1,cached=0,stale=0,failed=0,denied=0,timeout=0,invalid=0,ejected=0"
	timing   = "wait;dur=1.000, encode;dur=0.001, total;dur=1.001"
)

// answer is a response as the service would send it.
func answer(status int, body string, headers ...string) *http.Response {
	resp := &http.Response{StatusCode: status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body))}
	if body != "" {
		resp.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		resp.Header.Set(headers[i], headers[i+1])
	}
	return resp
}

func TestDocumentIsValidOpenAPI31(t *testing.T) {
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	got := c.Paths()
	slices.Sort(got)
	if want := []string{"/healthz", "/jobs", "/jobs/{id}", "/jobs/{id}/events", "/numbers", "/openapi.json", "/readyz"}; !slices.Equal(got, want) {
		t.Errorf("paths %q; want %q", got, want)
	}
}

// TestInvalidDocument shows that New would refuse a document that breaks
// the OpenAPI specification.
func TestInvalidDocument(t *testing.T) {
	for name, doc := range map[string]string{
		"OpenAPI 3.0": strings.Replace(api.OpenAPI(), `"openapi": "3.1.0"`, `"openapi": "3.0.3"`, 1),
		"no info":     strings.Replace(api.OpenAPI(), `"info": {`, `"infox": {`, 1),
		"bad status":  strings.Replace(api.OpenAPI(), `"431": {`, `"43x": {`, 1),
		"not JSON":    api.OpenAPI()[:100],
	} {
		t.Run(name, func(t *testing.T) {
			if doc == api.OpenAPI() {
				t.Fatal("the replacement changed nothing")
			}
			if _, err := parse([]byte(doc)); err == nil {
				t.Error("accepted")
			}
		})
	}
}

// TestCheck shows that the checker accepts the service's answers and refuses
// answers that depart from the document, so that a passing test means
// something.
func TestCheck(t *testing.T) {
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, method, path string
		resp               *http.Response
		ok                 bool
	}{
		{"numbers", "GET", "/numbers?u=http://a/", answer(200, `{"numbers":[1,2]}`,
			"X-Numbers-Complete", "true", "X-Numbers-Outcomes", outcomes, "Server-Timing", timing, "Server", "numbers"), true},
		{"numbers with a later outcome", "GET", "/numbers", answer(200, `{"numbers":[]}`,
			"X-Numbers-Complete", "false", "X-Numbers-Outcomes", outcomes+",ejected=1", "Server-Timing", timing), true},
		{"numbers HEAD", "HEAD", "/numbers", answer(200, "",
			"X-Numbers-Complete", "true", "X-Numbers-Outcomes", outcomes, "Server-Timing", timing), true},
		{"overloaded", "GET", "/numbers", answer(503, `{"error":"overloaded"}`, "Retry-After", "1"), true},
		{"not found", "GET", "/nope", answer(404, `{"error":"no such endpoint"}`), true},
		{"not allowed", "POST", "/numbers", answer(405, `{"error":"use GET"}`, "Allow", "GET, HEAD"), true},
		{"too large anywhere", "GET", "/nope", answer(431, `{"error":"too large"}`), true},
		{"draining", "GET", "/readyz", answer(503, `{"status":"draining"}`), true},

		{"numbers not an array", "GET", "/numbers", answer(200, `{"numbers":"1,2"}`,
			"X-Numbers-Complete", "true", "X-Numbers-Outcomes", outcomes, "Server-Timing", timing), false},
		{"numbers repeated", "GET", "/numbers", answer(200, `{"numbers":[1,1]}`,
			"X-Numbers-Complete", "true", "X-Numbers-Outcomes", outcomes, "Server-Timing", timing), false},
		{"numbers extra key", "GET", "/numbers", answer(200, `{"numbers":[],"n":0}`,
			"X-Numbers-Complete", "true", "X-Numbers-Outcomes", outcomes, "Server-Timing", timing), false},
		{"outcomes missing", "GET", "/numbers", answer(200, `{"numbers":[]}`,
			"X-Numbers-Complete", "true", "Server-Timing", timing), false},
		{"outcomes reordered", "GET", "/numbers", answer(200, `{"numbers":[]}`,
			"X-Numbers-Complete", "true", "X-Numbers-Outcomes", "cached=0,ok=1,stale=0,failed=0,denied=0,timeout=0,invalid=0,ejected=0", "Server-Timing", timing), false},
		{"outcomes without ejected", "GET", "/numbers", answer(200, `{"numbers":[]}`,
			"X-Numbers-Complete", "true", "X-Numbers-Outcomes", "ok=1,cached=0,stale=0,failed=0,denied=0,timeout=0,invalid=0", "Server-Timing", timing), false},
		{"complete not a boolean", "GET", "/numbers", answer(200, `{"numbers":[]}`,
			"X-Numbers-Complete", "yes", "X-Numbers-Outcomes", outcomes, "Server-Timing", timing), false},
		{"undeclared header", "GET", "/numbers", answer(200, `{"numbers":[]}`,
			"X-Numbers-Complete", "true", "X-Numbers-Outcomes", outcomes, "Server-Timing", timing, "X-Debug", "1"), false},
		{"undescribed status", "GET", "/numbers", answer(500, `{"error":"boom"}`), false},
		{"overloaded without Retry-After", "GET", "/numbers", answer(503, `{"error":"overloaded"}`), false},
		{"error not JSON", "GET", "/numbers", answer(400, `too many`), false},
		{"not allowed without Allow", "POST", "/numbers", answer(405, `{"error":"use GET"}`), false},
		{"404 on a described path", "GET", "/numbers", answer(404, `{"error":"no"}`), false},
		{"405 on an unknown path", "POST", "/nope", answer(405, `{"error":"use GET"}`, "Allow", "GET, HEAD"), false},
		{"200 on an unknown path", "GET", "/nope", answer(200, `{"numbers":[]}`), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.Check(httptest.NewRequest(tt.method, tt.path, nil), tt.resp)
			if (err == nil) != tt.ok {
				t.Errorf("Check = %v; want ok %v", err, tt.ok)
			}
		})
	}
}
