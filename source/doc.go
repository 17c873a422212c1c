// Package source obtains the numbers of one upstream URL for the handler and
// the jobs. It is the head of the chain that every upstream URL of a request
// goes through, each link a package with one small interface:
//
//	handler, jobs            Fetch(ctx, url, deliver), Abandon   jobs.Source
//	    │
//	    ▼
//	cache.Cache              Fresh, Shared, Stale, Store          memory (RFC 9111, LRU), then
//	    │                                                         a second level shared by replicas
//	    │                                                         (cache.Level: redisstore.Cache)
//	    ▼
//	source.Source            coalescing, background completion    this package
//	    │                                                         (Config.Cache, Config.Upstream)
//	    ▼
//	resilience.Link          Admit, Fetch                         outlier detection, hedges,
//	    │                                                         retries, the retry budget
//	    ▼
//	fetcher.Client           Fetch(ctx, url)                      one HTTP GET, the body decoded
//	    │
//	    ▼
//	guard.Dialer             DialTimeout, AllowHost               which hosts and addresses may
//	                                                              be dialled (SSRF)
//
// and back: the numbers and the outcome go up the same way, by callback.
//
// One /numbers request, file by file (twelve files; what each calls further
// down, such as the run encoder or the outlier detector, is a leaf a reader
// may skip):
//
//	handler/handler.go          Handle: the route
//	handler/request.go          the URLs, canonical, and the budget
//	overload/overload.go        Admit: served or refused, at arrival
//	deadline/deadline.go        Plan: the deadline and the flush time
//	handler/numbers.go          gather the URLs, merge, flush, write
//	source/source.go            Fetch: cache, coalescing, background
//	cache/cache.go              Fresh, Shared, Store, Stale
//	resilience/resilience.go    Admit, Fetch: ejection, hedge, retry
//	fetcher/fetcher.go          one GET within the deadline
//	guard/dial.go               the dial, to allowed addresses only
//	wire/wire.go                Decode the upstream, AppendJSON the answer
//	aggregate/aggregate.go      Normalize each list, merge it into the Set
//
// In order, for one URL:
//
//   - the cache: a fresh entry answers at once, and a stale one stands in
//     when the live fetch fails, is late, or its host is ejected;
//   - coalescing: concurrent requests for one URL share one upstream fetch,
//     each request still waiting only until its own deadline;
//   - the second level of the cache, shared with other replicas: a flight
//     that misses the first looks there, briefly, before it fetches live;
//   - background completion: a fetch still running when its request gave up
//     may go on for Background more, so that its result lands in the cache
//     for the next request. A semaphore bounds how many may do so;
//   - resilience: a URL whose host is ejected is answered at once, a fetch
//     still pending after its host's 95th-percentile latency is hedged with
//     a second request, and a fast failure is retried once, hedges and
//     retries paid from one budget.
//
// Results are delivered by callback rather than returned: a request never
// parks a goroutine per upstream, and a fetch shared by hundreds of requests
// hands each its result directly. (A first version used singleflight's
// DoChan, which needs a goroutine per waiting caller; under coalesced load on
// one CPU the profile of scheduling delays was 99% the wake-ups of those
// goroutines, which starved the network poller and delayed answers by up
// to 20ms.)
package source
