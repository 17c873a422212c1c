// Package apitest checks HTTP responses against the service's OpenAPI
// document (package api), for tests: the handler's tests and the end-to-end
// tests of the binary pass the responses they get through a Checker, so the
// document cannot drift from what the service does.
//
// It uses github.com/getkin/kin-openapi, strictly: a status, header value or
// body the document does not describe is an error, and so is a header it
// does not declare (beyond the standard ones in standardHeaders).
package apitest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"numbers/api"
)

// anyRequest names, by status, the shared responses that a request can get
// whatever its path or method (the document's description lists them): the
// handler's 404 and 405, and the answers fasthttp's error handler gives
// before the path is known.
var anyRequest = map[int]string{
	http.StatusBadRequest:                  "BadRequest",
	http.StatusNotFound:                    "NotFound",
	http.StatusMethodNotAllowed:            "MethodNotAllowed",
	http.StatusRequestTimeout:              "RequestTimeout",
	http.StatusRequestHeaderFieldsTooLarge: "RequestHeaderFieldsTooLarge",
}

// standardHeaders are the response headers any answer may carry without
// the document declaring them.
var standardHeaders = []string{"Connection", "Content-Length", "Content-Type", "Date", "Keep-Alive", "Server", "Transfer-Encoding"}

// An event stream's body is checked as text (its schema is a string).
func init() { openapi3filter.RegisterBodyDecoder("text/event-stream", openapi3filter.PlainBodyDecoder) }

// Checker validates responses against the document. It is safe for
// concurrent use.
type Checker struct {
	doc    *openapi3.T
	router routers.Router
}

// New parses the document and validates it against the OpenAPI
// specification; the error says what is wrong.
func New() (*Checker, error) { return parse([]byte(api.OpenAPI())) }

// parse is New for any document.
func parse(document []byte) (*Checker, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(document)
	if err != nil {
		return nil, fmt.Errorf("apitest: parse: %w", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		return nil, fmt.Errorf("apitest: document is OpenAPI %q, want 3.1", doc.OpenAPI)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("apitest: document is not valid OpenAPI: %w", err)
	}
	if err := statusKeys(doc); err != nil {
		return nil, fmt.Errorf("apitest: document is not valid OpenAPI: %w", err)
	}
	doc.Servers = nil // match any host: tests call loopback addresses
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("apitest: routes: %w", err)
	}
	return &Checker{doc: doc, router: router}, nil
}

// statusKey is what the specification allows as a key of an operation's
// responses.
var statusKey = regexp.MustCompile(`^([1-5][0-9][0-9]|[1-5]XX|default)$`)

// statusKeys checks the keys of every operation's responses, which
// kin-openapi's Validate leaves unchecked.
func statusKeys(doc *openapi3.T) error {
	var errs []error
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			for key := range op.Responses.Map() {
				if !statusKey.MatchString(key) {
					errs = append(errs, fmt.Errorf("%s %s: response key %q is not a status", method, path, key))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// Paths returns the paths the document describes.
func (c *Checker) Paths() []string { return c.doc.Paths.InMatchingOrder() }

// Check returns how resp, the answer to req, departs from the document, or
// nil if it conforms. Only req's method and URL are used (a path such as
// /jobs/{id} matches its template). resp.Body is read and replaced by a
// reader of the same bytes.
func (c *Checker) Check(req *http.Request, resp *http.Response) error {
	route, params, err := c.router.FindRoute(req)
	switch {
	case errors.Is(err, routers.ErrPathNotFound):
		return c.checkShared(req, resp, http.StatusNotFound)
	case errors.Is(err, routers.ErrMethodNotAllowed):
		return c.checkShared(req, resp, http.StatusMethodNotAllowed)
	case err != nil:
		return fmt.Errorf("apitest: %s %s: %w", req.Method, req.URL.Path, err)
	}
	if err := c.validate(req, resp, route, params); err != nil {
		return fmt.Errorf("apitest: %s %s answered %d: %w", req.Method, req.URL.Path, resp.StatusCode, err)
	}
	return nil
}

// checkShared checks the answer to a request that no operation describes: it
// must be the shared response for its status, and that status must be want
// or one that any request can get before its path is known.
func (c *Checker) checkShared(req *http.Request, resp *http.Response, want int) error {
	name, ok := anyRequest[resp.StatusCode]
	if !ok || resp.StatusCode != want && (resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed) {
		return fmt.Errorf("apitest: %s %s answered %d; the document describes no such operation, so want %d",
			req.Method, req.URL.Path, resp.StatusCode, want)
	}
	shared := c.doc.Components.Responses[name]
	if shared == nil {
		return fmt.Errorf("apitest: the document has no components/responses/%s", name)
	}
	// An operation that answers only the shared response.
	op := openapi3.NewOperation()
	op.Responses = openapi3.NewResponses(openapi3.WithStatus(resp.StatusCode, shared))
	route := &routers.Route{Spec: c.doc, Path: req.URL.Path, Method: req.Method, Operation: op}
	if err := c.validate(req, resp, route, nil); err != nil {
		return fmt.Errorf("apitest: %s %s answered %d, not components/responses/%s: %w",
			req.Method, req.URL.Path, resp.StatusCode, name, err)
	}
	return nil
}

// validate checks resp against route's operation: a described status, its
// headers (declared ones only, each as its schema says) and its body.
func (c *Checker) validate(req *http.Request, resp *http.Response, route *routers.Route, params map[string]string) error {
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}
	if req.Method == http.MethodHead {
		// kin-openapi checks nothing of a HEAD answer: check its headers as
		// a GET's, without the body.
		req = req.Clone(req.Context())
		req.Method = http.MethodGet
		opts.ExcludeResponseBody = true
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Options:                opts,
	}
	input.SetBodyBytes(body)
	var errs []error
	if err := openapi3filter.ValidateResponse(context.Background(), input); err != nil {
		errs = append(errs, err)
	}
	if ref := route.Operation.Responses.Status(resp.StatusCode); ref != nil && ref.Value != nil {
		for name := range resp.Header {
			if !slices.Contains(standardHeaders, name) && !declared(ref.Value.Headers, name) {
				errs = append(errs, fmt.Errorf("header %s is not declared", name))
			}
		}
	}
	return errors.Join(errs...)
}

// declared reports whether headers names header, in any case.
func declared(headers openapi3.Headers, header string) bool {
	for name := range headers {
		if strings.EqualFold(name, header) {
			return true
		}
	}
	return false
}
