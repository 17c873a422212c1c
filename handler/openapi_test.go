package handler

import (
	"bufio"
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"numbers/api"
	"numbers/api/apitest"
	"numbers/outcome"
	"numbers/overload"
)

// checker is built once: parsing and validating the document takes a while.
var checker = sync.OnceValues(apitest.New)

// conform fails t unless resp, the answer to req, is what the document says.
func conform(t *testing.T, req *http.Request, resp *http.Response) {
	t.Helper()
	c, err := checker()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Check(req, resp); err != nil {
		t.Error(err)
	}
}

// TestOpenAPIRoutes checks that the document describes exactly the paths
// Handle serves: the string cases of serve's switch and of routeJobs's,
// read from the source.
func TestOpenAPIRoutes(t *testing.T) {
	c, err := checker()
	if err != nil {
		t.Fatal(err)
	}
	served := handledPaths(t, "handler.go", "serve")
	jobRoutes := handledPaths(t, "jobs.go", "routeJobs")
	if len(served) == 0 || len(jobRoutes) == 0 {
		t.Fatal("found no case in serve's or routeJobs's switch")
	}
	served = append(served, jobRoutes...)
	described := c.Paths()
	slices.Sort(served)
	slices.Sort(described)
	if !slices.Equal(served, described) {
		t.Errorf("Handle serves %q; the document describes %q", served, described)
	}
}

// handledPaths returns the string literals of the case clauses in the
// switch of the Handler method named method in file.
func handledPaths(t *testing.T, file, method string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Name.Name != method || fn.Recv == nil {
			continue
		}
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			cc, ok := n.(*ast.CaseClause)
			if !ok {
				return true
			}
			for _, e := range cc.List {
				if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					p, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					paths = append(paths, p)
				}
			}
			return true
		})
	}
	return paths
}

// TestOpenAPIResponses sends the handler requests that reach every status
// and header it answers, over a real connection read by net/http, and checks
// each answer against the document.
func TestOpenAPIResponses(t *testing.T) {
	answers := map[string]canned{
		"http://a.test/": {numbers: []int64{3, 1, 2}},
		"http://b.test/": {numbers: []int64{4}, outcome: outcome.Cached},
		"http://c.test/": {outcome: outcome.Failed},
		"http://d.test/": {numbers: []int64{5}, outcome: outcome.Stale},
	}
	normal := serve(t, New(Config{Source: newFake(answers), MaxURLs: 4}))
	shedding := serve(t, New(Config{Source: newFake(answers), Overload: admitFunc(func(time.Duration, int64) overload.Reason { return overload.CPU })}))
	backedUp := serve(t, New(Config{Source: newFake(answers), Overload: admitFunc(func(time.Duration, int64) overload.Reason { return overload.Queue })}))
	noTime := serve(t, New(Config{Source: newFake(answers), Budget: 20 * time.Millisecond, Planner: plannerWith(50*time.Millisecond, 0)}))
	draining := New(Config{Source: newFake(answers)})
	draining.Drain()
	drained := serve(t, draining)
	long := "http://a.test/" + string(bytes.Repeat([]byte("a"), 16<<10))

	tests := []struct {
		name, method, uri string
		ln                *fasthttputil.InmemoryListener
		status            int
	}{
		{"complete", "GET", numbersURI("http://a.test/", "http://b.test/"), normal, 200},
		{"partial", "GET", numbersURI("http://a.test/", "http://c.test/", "http://d.test/", "ftp://x"), normal, 200},
		{"no u", "GET", numbersURI(), normal, 200},
		{"too many URLs", "GET", numbersURI("http://a.test/", "http://b.test/", "http://c.test/", "http://d.test/", "http://e.test/"), normal, 400},
		{"request too large", "GET", numbersURI(long), normal, 431},
		{"shed", "GET", numbersURI("http://a.test/"), shedding, 503},
		{"refused: backed up", "GET", numbersURI("http://a.test/"), backedUp, 503},
		{"refused: no time left", "GET", numbersURI("http://a.test/"), noTime, 503},
		{"unknown path", "GET", "/nope", normal, 404},
		{"POST numbers", "POST", numbersURI("http://a.test/"), normal, 405},
		{"DELETE healthz", "DELETE", "/healthz", normal, 405},
		{"healthz", "GET", "/healthz", normal, 200},
		{"readyz", "GET", "/readyz", normal, 200},
		{"readyz draining", "GET", "/readyz", drained, 503},
		{"openapi.json", "GET", "/openapi.json", normal, 200},
	}
	for _, tt := range tests {
		for _, method := range []string{tt.method, "HEAD"} {
			if method == "HEAD" && tt.method != "GET" {
				continue
			}
			t.Run(tt.name+" "+method, func(t *testing.T) {
				req, resp := exchange(t, tt.ln, method, tt.uri)
				if resp.StatusCode != tt.status {
					t.Fatalf("status %d; want %d", resp.StatusCode, tt.status)
				}
				conform(t, req, resp)
			})
		}
	}
}

// TestOpenAPIServed checks that GET /openapi.json serves the document as it
// is in the repository.
func TestOpenAPIServed(t *testing.T) {
	_, resp := exchange(t, serve(t, New(Config{Source: newFake(nil)})), "GET", "/openapi.json")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != api.OpenAPI() {
		t.Fatalf("GET /openapi.json: %d, %d bytes; want 200 and the %d bytes of api/openapi.json",
			resp.StatusCode, len(body), len(api.OpenAPI()))
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
}

// TestOpenAPIErrorHandler checks the answers HandleError gives before the
// path is known (TestHandleError checks their statuses; TestOpenAPIResponses
// sends a real request too large).
func TestOpenAPIErrorHandler(t *testing.T) {
	for _, reason := range []error{fasthttp.ErrBodyTooLarge, &timeoutErr{}, &fasthttp.ErrSmallBuffer{}} {
		var ctx fasthttp.RequestCtx
		HandleError(&ctx, reason)
		req, _ := http.NewRequest("GET", "http://numbers.test/numbers", nil)
		resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(ctx.Response.String())), req)
		if err != nil {
			t.Fatal(err)
		}
		conform(t, req, resp)
	}
}

// exchange sends method uri (a path, or a URL as numbersURI makes), with the
// headers given as name and value pairs, to ln over a fresh connection, as
// net/http writes it, and returns the request and the answer as net/http
// reads it.
func exchange(t *testing.T, ln *fasthttputil.InmemoryListener, method, uri string, header ...string) (*http.Request, *http.Response) {
	t.Helper()
	if uri[0] == '/' {
		uri = "http://numbers.test" + uri
	}
	req, err := http.NewRequest(method, uri, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	req.Close = true
	c, err := ln.Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := req.Write(c); err != nil {
		t.Fatal(err)
	}
	return req, readResponse(t, c, req)
}

// readResponse reads the answer to req from c, its body whole.
func readResponse(t *testing.T, c net.Conn, req *http.Request) *http.Response {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(c), req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp
}
