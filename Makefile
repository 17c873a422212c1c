# numbers: build, run, test, benchmark.
GO       ?= go
BIN      := bin
ADDR     ?= :8080
SIM_ADDR ?= 127.0.0.1:8090
FUZZTIME ?= 10s
BENCHFLAGS ?=

.PHONY: build run test bench gobench fuzz lint clean

## build: compile the service, the upstream simulator and the bench into bin/
build:
	$(GO) build -o $(BIN)/numbers ./cmd/numbers
	$(GO) build -o $(BIN)/upstream ./cmd/upstream
	$(GO) build -o $(BIN)/bench ./cmd/bench

## run: start the upstream simulator and the service; Ctrl-C stops both
run: build
	@trap 'kill $$sim $$svc 2>/dev/null; wait' INT TERM EXIT; \
	$(BIN)/upstream -addr $(SIM_ADDR) & sim=$$!; \
	$(BIN)/numbers -addr $(ADDR) & svc=$$!; \
	wait $$svc

## test: vet, then every test with the race detector
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

# promtool checks deploy/prometheus/ in the tests: installed first when missing
test: need-promtool
.PHONY: need-promtool
need-promtool:
	@scripts/need-promtool

## bench: the open-loop latency benchmark's standard scenario set (about 2 minutes); BENCHFLAGS=-profile etc.
bench:
	$(GO) run ./cmd/bench $(BENCHFLAGS)

## gobench: the Go micro-benchmarks (merge, encode, decode, handler overhead)
gobench:
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./aggregate/ ./wire/ ./fetcher/ ./handler/

## fuzz: run every fuzz target briefly (FUZZTIME each)
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

## lint: formatting and vet
lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

clean:
	rm -rf $(BIN)
