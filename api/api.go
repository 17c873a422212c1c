// Package api holds the OpenAPI 3.1 description of the service's public
// listener: every endpoint, parameter, header, status and error body. The
// document is the file openapi.json beside this one, embedded, so the binary
// serves exactly what the repository holds (GET /openapi.json), and package
// apitest checks real responses against it.
package api

import _ "embed"

//go:embed openapi.json
var document string

// OpenAPI returns the OpenAPI 3.1 document, JSON.
func OpenAPI() string { return document }
