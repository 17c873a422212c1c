package tracing

import "github.com/valyala/fasthttp"

// RequestHeader carries a trace context in fasthttp's request headers:
// Extract reads a caller's from a request, Inject writes one into an
// upstream request. It implements propagation.TextMapCarrier, and being
// one pointer, is passed as one without allocating.
type RequestHeader struct{ Header *fasthttp.RequestHeader }

// Get returns the value of the header key (a copy), or "".
func (c RequestHeader) Get(key string) string {
	v := c.Header.Peek(key)
	if len(v) == 0 {
		return ""
	}
	return string(v)
}

// Set sets the header key to value, replacing any.
func (c RequestHeader) Set(key, value string) { c.Header.Set(key, value) }

// Keys returns the names of the headers.
func (c RequestHeader) Keys() []string {
	var keys []string
	for k := range c.Header.All() {
		keys = append(keys, string(k))
	}
	return keys
}
