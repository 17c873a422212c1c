// Package plain is the plain fan-out the benchmark measures the service
// against under its plain caller (package caller): the shortest correct-ish
// answer to the problem on fasthttp, with no validation, cache, shedding or
// guard. Each u= is fetched in a goroutine of its own with
// fasthttp.Client.DoDeadline; the answer goes at a fixed time after the
// request was read, or as soon as every fetch is in, with what has arrived.
package plain

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/valyala/fasthttp"
)

// Handler answers GET /numbers at most answerAt after each request was read.
func Handler(answerAt time.Duration) fasthttp.RequestHandler {
	client := &fasthttp.Client{MaxConnsPerHost: 1 << 16}
	return func(ctx *fasthttp.RequestCtx) {
		deadline := ctx.Time().Add(answerAt)
		var urls []string
		for _, v := range ctx.QueryArgs().PeekMulti("u") {
			urls = append(urls, string(v))
		}
		results := make(chan []int64, len(urls)) // buffered: late fetches never block
		for _, u := range urls {
			go func() { results <- fetch(client, u, deadline) }()
		}
		all := []int64{}
		timer := time.NewTimer(time.Until(deadline))
		defer timer.Stop()
	collect:
		for range urls {
			select {
			case nums := <-results:
				all = append(all, nums...)
			case <-timer.C:
				break collect
			}
		}
		slices.Sort(all)
		body, _ := json.Marshal(map[string][]int64{"numbers": slices.Compact(all)})
		ctx.SetContentType("application/json")
		ctx.SetBody(body)
	}
}

// fetch gets one upstream's numbers, or nil.
func fetch(client *fasthttp.Client, url string, deadline time.Time) []int64 {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(url)
	if client.DoDeadline(req, resp, deadline) != nil || resp.StatusCode() != fasthttp.StatusOK {
		return nil
	}
	var body struct{ Numbers []int64 }
	if json.Unmarshal(resp.Body(), &body) != nil {
		return nil
	}
	return body.Numbers
}
