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
	b, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{msg}) // a struct of one string cannot fail to encode
	ctx.SetBody(b)
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
