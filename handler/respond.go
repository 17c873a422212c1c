package handler

import (
	"strconv"

	json "github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"numbers/outcome"
	"numbers/wire"
)

const contentTypeJSON = "application/json"

// writeError answers status with {"error":msg}.
func writeError(ctx *fasthttp.RequestCtx, status int, msg string) {
	ctx.SetStatusCode(status)
	ctx.SetContentType(contentTypeJSON)
	ctx.SetBody(errorBody(msg))
}

// errorBody returns {"error":msg}.
func errorBody(msg string) []byte {
	b, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{msg}) // a struct of one string cannot fail to encode
	return b
}

// refusal is a reason to refuse a /numbers request with 503 before any work
// starts, and its body, built once: refusing copies it into the response's
// buffer and allocates nothing.
type refusal struct {
	reason string // as told to Observer.Refused
	body   []byte
}

// The reasons a /numbers request is refused with 503 and Retry-After, as told
// to Observer.Refused, in the order they are checked.
const (
	// RefusedQueue: the service is backed up (CoDel, see package admission)
	// and the request waited too long before the handler picked it up.
	RefusedQueue = "queue"
	// RefusedDeadline: too little of the request's budget is left, once the
	// margin is kept back, to fetch anything.
	RefusedDeadline = "deadline"
	// RefusedInFlight: MaxInFlight requests are being served.
	RefusedInFlight = "in_flight"
	// RefusedCPU: the load shedder (Config.Shed) said so.
	RefusedCPU = "cpu"
)

var (
	refusedQueue    = refusal{RefusedQueue, errorBody("overloaded: requests wait too long to be served, retry later")}
	refusedDeadline = refusal{RefusedDeadline, errorBody("overloaded: too little of the budget is left to answer in time, retry later")}
	refusedInFlight = refusal{RefusedInFlight, errorBody("overloaded: too many requests in flight, retry later")}
	refusedCPU      = refusal{RefusedCPU, errorBody("overloaded: the service is shedding load, retry later")}
)

// writeRefusal answers 503 with Retry-After: 1 and r's body.
func writeRefusal(ctx *fasthttp.RequestCtx, r *refusal) {
	ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
	ctx.SetContentType(contentTypeJSON)
	ctx.Response.Header.Set("Retry-After", "1")
	ctx.SetBody(r.body)
}

// writeStatus answers status with a fixed JSON body.
func writeStatus(ctx *fasthttp.RequestCtx, status int, body string) {
	ctx.SetStatusCode(status)
	ctx.SetContentType(contentTypeJSON)
	ctx.SetBodyString(body)
}

// writeNumbers answers 200 with {"numbers":[...]}, encoding straight into the
// response's own body buffer, so the body is neither copied nor allocated once
// fasthttp's buffer pool is warm.
func writeNumbers(ctx *fasthttp.RequestCtx, nums []int64) {
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentType(contentTypeJSON)
	buf := ctx.Response.SwapBody(nil)
	ctx.Response.SwapBody(wire.AppendJSON(buf[:0], nums))
}

// outcomesHeader is the header with the count of upstreams per outcome.
const outcomesHeader = "X-Numbers-Outcomes"

// appendOutcomes renders counts as "ok=3,cached=0,...".
func appendOutcomes(dst []byte, counts *[outcome.Count]int) []byte {
	for o := outcome.Outcome(0); o < outcome.Count; o++ {
		if o > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, o.String()...)
		dst = append(dst, '=')
		dst = strconv.AppendInt(dst, int64(counts[o]), 10)
	}
	return dst
}

// appendServerTiming renders the W3C Server-Timing value for the phases.
func appendServerTiming(dst []byte, wait, encode, total float64) []byte {
	dst = append(dst, "wait;dur="...)
	dst = strconv.AppendFloat(dst, wait, 'f', 3, 64)
	dst = append(dst, ", encode;dur="...)
	dst = strconv.AppendFloat(dst, encode, 'f', 3, 64)
	dst = append(dst, ", total;dur="...)
	return strconv.AppendFloat(dst, total, 'f', 3, 64)
}
