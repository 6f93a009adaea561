# octobundle — build, test and benchmark targets. `make test` is what CI runs.
GO ?= go
PKGS := ./...

.PHONY: all build test fmt-check vet unit bench demo fuzz clean

all: build

build:
	$(GO) build -o bin/octobundle ./cmd/octobundle
	$(GO) build -o bin/octosim ./cmd/octosim

# The test command from the README: formatting, vet, and every test with the
# race detector (all against the built-in simulator over loopback HTTP).
test: fmt-check vet unit

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

unit:
	$(GO) test -race -count=1 -timeout 30m $(PKGS)

# Benchmarks print wall time, requests and peak memory for a generated
# 200-project instance served with 20 ms latency.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./export ./apply

# The README's first command: the full round trip on two built-in simulators.
demo:
	$(GO) run ./cmd/octobundle demo

# Short local fuzzing of the bundle reader (not part of CI).
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzRead -fuzztime 30s ./bundles

clean:
	rm -rf bin demo-out
