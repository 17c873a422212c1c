// Package apitest checks HTTP responses against the service's OpenAPI
// document (package api), for tests: the handler's tests and the end-to-end
// tests of the binary pass the responses they get through a Checker, so the
// document cannot drift from what the service does.
//
// It uses github.com/pb33f/libopenapi-validator in strict mode: a status,
// header value or body the document does not describe is an error, and so is
// a header it does not declare (beyond the standard ones, such as Date,
// Content-Length and Server).
package apitest

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	verrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/helpers"
	"github.com/pb33f/libopenapi-validator/paths"
	"github.com/pb33f/libopenapi-validator/responses"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"

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

// Checker validates responses against the document. It is safe for
// concurrent use.
type Checker struct {
	model     *v3.Document
	validator validator.Validator
	options   []config.Option
	vopts     *config.ValidationOptions // options, applied
}

// New parses the document and validates it against the OpenAPI
// specification's own schema; the error lists every problem found.
func New() (*Checker, error) { return parse([]byte(api.OpenAPI())) }

// parse is New for any document.
func parse(document []byte) (*Checker, error) {
	doc, err := libopenapi.NewDocument(document)
	if err != nil {
		return nil, fmt.Errorf("apitest: parse: %w", err)
	}
	if v := doc.GetVersion(); !strings.HasPrefix(v, "3.1.") {
		return nil, fmt.Errorf("apitest: document is OpenAPI %q, want 3.1", v)
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		return nil, fmt.Errorf("apitest: build model: %w", err)
	}
	opts := []config.Option{
		config.WithStrictMode(),
		config.WithStrictIgnoredHeadersExtra("server"),
	}
	v, errs := validator.NewValidator(doc, opts...)
	if len(errs) > 0 {
		return nil, fmt.Errorf("apitest: validator: %w", errors.Join(errs...))
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		return nil, fmt.Errorf("apitest: document is not valid OpenAPI: %w", join(verrs))
	}
	return &Checker{model: &model.Model, validator: v, options: opts, vopts: config.NewValidationOptions(opts...)}, nil
}

// Paths returns the paths the document describes.
func (c *Checker) Paths() []string {
	var paths []string
	for p := range c.model.Paths.PathItems.KeysFromOldest() {
		paths = append(paths, p)
	}
	return paths
}

// Check returns how resp, the answer to req, departs from the document, or
// nil if it conforms. Only req's method and URL are used (a path such as
// /jobs/{id} matches its template). resp.Body is read and replaced by a
// reader of the same bytes.
func (c *Checker) Check(req *http.Request, resp *http.Response) error {
	item, _, _ := paths.FindPath(req, c.model, c.vopts)
	switch {
	case item == nil:
		return c.checkShared(req, resp, http.StatusNotFound)
	case helpers.ExtractOperation(req, item) == nil:
		return c.checkShared(req, resp, http.StatusMethodNotAllowed)
	}
	if ok, errs := c.validator.ValidateHttpResponse(req, resp); !ok {
		return fmt.Errorf("apitest: %s %s answered %d: %w", req.Method, req.URL.Path, resp.StatusCode, join(errs))
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
	shared := c.model.Components.Responses.GetOrZero(name)
	if shared == nil {
		return fmt.Errorf("apitest: the document has no components/responses/%s", name)
	}
	var errs []error
	if shared.Headers != nil {
		if ok, verrs := responses.ValidateResponseHeaders(req, resp, shared.Headers, req.URL.Path,
			strconv.Itoa(resp.StatusCode), c.options...); !ok {
			errs = append(errs, join(verrs))
		}
	}
	if req.Method != http.MethodHead {
		media := shared.Content.GetOrZero(resp.Header.Get("Content-Type"))
		if media == nil {
			errs = append(errs, fmt.Errorf("Content-Type %q is not described", resp.Header.Get("Content-Type")))
		} else if ok, verrs := responses.ValidateResponseSchema(&responses.ValidateResponseSchemaInput{
			Request: req, Response: resp, Schema: media.Schema.Schema(),
			Version: helpers.VersionToFloat(c.model.Version), Options: c.options,
		}); !ok {
			errs = append(errs, join(verrs))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("apitest: %s %s answered %d, not components/responses/%s: %w",
			req.Method, req.URL.Path, resp.StatusCode, name, err)
	}
	return nil
}

// join turns the validator's errors into one error, with the schema
// failures that explain each.
func join(verrs []*verrors.ValidationError) error {
	errs := make([]error, 0, len(verrs))
	for _, e := range verrs {
		errs = append(errs, e)
	}
	return errors.Join(errs...)
}
