package handler

import (
	"strconv"

	json "github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"numbers/outcome"
	"numbers/overload"
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

// refusalBodies are the 503 bodies, by overload.Reason, built once:
// refusing copies one into the response's buffer and allocates nothing.
var refusalBodies = func() (b [overload.ReasonCount][]byte) {
	for _, r := range overload.Reasons {
		b[r] = errorBody(r.Message())
	}
	return b
}()

// writeRefusal answers 503 with Retry-After: 1 and r's message.
func writeRefusal(ctx *fasthttp.RequestCtx, r overload.Reason) {
	ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
	ctx.SetContentType(contentTypeJSON)
	ctx.Response.Header.Set("Retry-After", "1")
	ctx.SetBody(refusalBodies[r])
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
