# numbers: build, run, test, benchmark. The tools (upstream simulator, load
# generator, baseline, plots) are a module of their own in bench/, so that the
# service's go.mod holds only what the service needs: every Go target covers
# both modules, the service's first.
GO       ?= go
BIN      := bin
ADDR     ?= :8080
SIM_ADDR ?= 127.0.0.1:8090
FUZZTIME ?= 10s
BENCHFLAGS ?=

.PHONY: build run cluster test screenshots bench gobench jobbench fuzz lint clean

## build: compile the service, the upstream simulator and the bench into bin/
build:
	$(GO) build -o $(BIN)/numbers ./cmd/numbers
	$(GO) -C bench build -o ../$(BIN)/simulator ./cmd/simulator
	$(GO) -C bench build -o ../$(BIN)/bench ./cmd/bench

## run: start the upstream simulator and the service; Ctrl-C stops both
run: build
	@trap 'kill $$sim $$svc 2>/dev/null; wait' INT TERM EXIT; \
	$(BIN)/simulator -addr $(SIM_ADDR) & sim=$$!; \
	$(BIN)/numbers -addr $(ADDR) & svc=$$!; \
	wait $$svc

## cluster: redis-server, three replicas sharing it (-redis) behind HAProxy round-robin on 127.0.0.1:8080, and the simulator; Ctrl-C stops everything
cluster: build
	@scripts/need redis-server haproxy
	@scripts/cluster

## test: every test with the race detector and every vet check, in both modules (one build of each: -vet=all is go vet's whole suite)
test: need
	$(GO) test -race -vet=all -count=1 ./...
	$(GO) -C bench test -race -vet=all -count=1 ./...

# the tests start real redis-servers, promtool and headless Chromium: installed first when missing
.PHONY: need
need:
	@scripts/need redis-server promtool:prometheus chromium

## screenshots: regenerate docs/status-page.png and docs/job-view.png in headless Chromium
screenshots: need
	$(GO) -C bench test -count=1 -run 'TestStatusPage|TestJobViewResumes' ./browser -args -screenshots=$(CURDIR)/docs

## bench: the open-loop latency benchmark's standard sets, pinned then shared CPUs (about 5 minutes); BENCHFLAGS=-quick, -profile etc.
bench:
	$(GO) -C bench build -o ../$(BIN)/bench ./cmd/bench
	$(BIN)/bench $(BENCHFLAGS)

## gobench: the Go micro-benchmarks (merge, encode, decode, handler overhead)
gobench:
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./aggregate/ ./wire/ ./fetcher/ ./handler/

## jobbench: the jobs' figures: memory per idle watcher (10,000), event fan-out to 1,000 watchers, jobs per second
jobbench:
	$(GO) test -run '^$$' -bench 'BenchmarkIdleWatchers$$' -benchtime 1x -count 3 ./handler/
	$(GO) test -run '^$$' -bench 'BenchmarkEventFanout$$' -benchtime 500x -count 3 ./handler/
	$(GO) test -run '^$$' -bench 'BenchmarkJobs$$' -benchtime 2s -count 3 ./handler/

## fuzz: run every fuzz target of both modules briefly (FUZZTIME each)
fuzz:
	@for mod in . bench; do \
	  for pkg in $$($(GO) -C $$mod list ./...); do \
	    for t in $$($(GO) -C $$mod test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	      echo "== $$pkg $$t"; $(GO) -C $$mod test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	    done; \
	  done; \
	done

## lint: formatting and vet, both modules
lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GO) -C bench vet ./...

clean:
	rm -rf $(BIN)
