# octobundle — build, test and benchmark targets. `make test` is what CI runs.
GO ?= go
PKGS := ./...

.PHONY: all build test test-live fmt-check vet lint unit bench demo fuzz clean

all: build

build:
	$(GO) build -o bin/octobundle ./cmd/octobundle
	$(GO) build -o bin/octosim ./cmd/octosim

# The test command from the README: formatting, vet, and every test with the
# race detector (all against the built-in simulator over loopback HTTP).
test: fmt-check vet lint unit

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

# staticcheck, pinned; fetched from the Go module proxy on first use.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.6.1
lint:
	$(GO) run $(STATICCHECK) $(PKGS)

unit:
	$(GO) test -race -count=1 -timeout 30m $(PKGS)
	$(MAKE) --no-print-directory fuzz FUZZTIME=$(TEST_FUZZTIME)

# The end-to-end tests (internal/e2e) against a real Octopus Server too, not
# only the simulator. Not part of `make test`. Needs:
#   OCTOPUS_URL            the server's base URL
#   OCTOPUS_API_KEY        an API key that may write to the space (never printed)
#   OCTOBUNDLE_LIVE_SPACE  a throwaway space whose name starts with octobundle-e2e
# The tests apply the golden bundle to that space and leave its data there.
test-live:
	OCTOBUNDLE_LIVE=1 $(GO) test -count=1 -timeout 30m -run 'Live|E2E' ./internal/e2e/...

# Benchmarks print wall time, requests and peak memory for a generated
# 200-project instance served with 20 ms latency.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./export ./transform ./apply

# The README's first command: the full round trip on two built-in simulators.
demo:
	$(GO) run ./cmd/octobundle demo

# Fuzzing of everything read from outside: the archive reader (FuzzRead),
# the bundle reader behind both forms (FuzzBundleFiles), the rule-file
# parser (FuzzParse), the saved-plan reader (FuzzReadPlan) and the apply
# state's entity reader (FuzzParseEntity). Seeds come from
# testdata/ and run with every `go test`; `make test` fuzzes each for
# TEST_FUZZTIME (about 35 s in all with the builds), `make fuzz` for
# FUZZTIME. A crasher is written to the package's testdata/fuzz/FuzzX/:
# commit it, fix the bug, and it stays a regression test.
# -fuzzminimizetime is short because minimising each new interesting input
# for the default 60 s would stall a short run.
FUZZTIME ?= 60s
TEST_FUZZTIME ?= 7s
FUZZ = $(GO) test -run '^$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 2s
fuzz:
	$(FUZZ) -fuzz '^FuzzRead$$' ./bundles
	$(FUZZ) -fuzz '^FuzzBundleFiles$$' ./bundles
	$(FUZZ) -fuzz '^FuzzParse$$' ./transform
	$(FUZZ) -fuzz '^FuzzReadPlan$$' ./apply
	$(FUZZ) -fuzz '^FuzzParseEntity$$' ./internal/state

clean:
	rm -rf bin demo-out
