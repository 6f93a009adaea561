# octobundle — build, test and benchmark targets. `make test` is what CI runs.
GO ?= go
PKGS := ./...

.PHONY: all build dist reproducible test test-race test-windows e2e test-live fmt-check vet lint unit bench bench-large bench-huge bench-faults bench-go demo fuzz fuzz-smoke conformance-peer conformance-cli clean hooks

all: build

# The version stamped into the binary (and into the manifest of every
# bundle it writes): the git tag, or the commit (with -dirty for local
# changes). `go install` builds take the module version from the build info.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null)
LDFLAGS := -X main.version=$(VERSION)

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/octobundle ./cmd/octobundle
	$(GO) build -o bin/octosim ./cmd/octosim

# Release binaries (octobundle, and octosim for its demo): static (CGO_ENABLED=0), reproducible (-trimpath, no
# VCS stamp, fixed flags), the version stamped in, for the four platforms
# below; a CycloneDX SBOM per binary (NAME.cdx.json, by cyclonedx-gomod,
# pinned by go.mod's tool directive); SHA256SUMS over all of them; and, with
# SIGN_KEY=path/to.key, SHA256SUMS.minisig (password from
# SIGN_PASSWORD_FILE, the environment variable SIGN_PASSWORD, or the
# terminal). Refuses to build without a version (never "dev" in a
# release). See tools/release/dist.sh and docs/security.md.
PLATFORMS := linux/amd64 linux/arm64 windows/amd64 darwin/arm64
dist:
	VERSION="$(VERSION)" PLATFORMS="$(PLATFORMS)" GO="$(GO)" SIGN_KEY="$(SIGN_KEY)" SIGN_PASSWORD_FILE="$(SIGN_PASSWORD_FILE)" tools/release/dist.sh

# The release built twice for one platform (windows/amd64: not this
# one, so that the SBOM must name the target), from two copies of the source
# in different folders, the second compiling with an empty build cache,
# signed with a new key: fails unless the two are byte-identical, each
# SBOM is valid CycloneDX naming the binary's modules and versions, and
# the signature verifies (TestRelease). CI runs it.
reproducible:
	OCTOBUNDLE_RELEASE_TEST=1 $(GO) test -count=1 -timeout 30m -run '^TestRelease$$' -v ./tools/release

# The test command from the README: formatting, vet, staticcheck, every
# test (all against the built-in simulator over loopback HTTP; the race
# detector on the packages that run concurrent code, see unit below),
# then a short fuzz of every reader.
test: fmt-check vet lint unit

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

# staticcheck, pinned by the tool directive in go.mod (go get -tool): it
# comes from the module cache like every dependency, so `make test` works
# offline after `go mod download`.
lint:
	$(GO) tool staticcheck $(PKGS)

# Every test runs; the race detector watches every package whose own code
# runs concurrently — its non-test files start a goroutine or import sync,
# sync/atomic, os/signal or internal/parallel (tools/unit.sh finds them,
# so a new package is classified without a list to keep): the parallel
# runner, the executor, the snapshot reader, the bundle reader, the
# client, the state journal, export, the simulator. Their own tests drive
# their concurrent code. A package with no concurrent code of its own
# (sign, review, transform, fanout, ...) runs without it: what it calls
# concurrently is raced in that package's tests, and under -race its
# tests cost 5-7 times the CPU (sign: 14.7 CPU-seconds against 2.1). The
# end-to-end suites below run once without it too: they drive the same
# code through simulators and built binaries, and under -race they cost
# four times the CPU (apply: 142 CPU-seconds against 34; with them make
# test needed about 600 CPU-seconds, 5-7 minutes on 2 cores with other
# work running, issue 23).
# make test-race, which CI runs on every change, runs every one of them
# under the race detector too. apply's tests of its concurrent paths (the
# list reads of new singletons in waves, a conflict with another writer,
# a whole apply at concurrency 8) still run under -race here
# (RACE_E2E_TESTS).
# Three more differences keep make test short, and test-race has none:
# - cmd/octobundle's scripts (testdata/script, testdata/jsonoutput and the
#   docs' examples: about 850 runs of octobundle) run a build without
#   -race (see scriptBinary in cmd/octobundle/main_test.go).
# - GORACE=atexit_sleep_ms=0: the race runtime sleeps 1 s when a test
#   binary exits to catch goroutines racing after the tests have returned;
#   test-race keeps the sleep. A GORACE of your own still applies (its
#   settings come last).
# - OCTOBUNDLE_TEST_FULL unset: tests that repeat a race to catch it
#   (TestLockStaleTakeoverRace: 25 rounds instead of 100) run fewer
#   rounds; test-race sets it.
# Test binaries run UNIT_P at a time, not GOMAXPROCS (2 here) at a time:
# many tests wait on simulator latency, sleeps and child processes, and
# with 2 at a time the cores were idle a third of the time. For the same
# reason the tests without -race run UNIT_PARALLEL parallel tests at a
# time (cmd/octobundle's scripts: at GOMAXPROCS, 2, its test binary took
# 309 s of make test's 337, mostly waiting). The race and
# the plain runs go side by side for the same reason, and the fuzz smoke
# starts beside them once the race run of the libraries ends (UNIT_ALSO)
# instead of after everything.
E2E_PKGS := ./apply ./cmd/octobundle ./demo ./tools/bench ./tools/e2e
RACE_E2E_TESTS := ./apply=TestApplyReadsNewSingletonsInLists,TestApplyConflictWithAnotherWriter,TestApplyToEmptyDestination
# Tests of raced packages that make test runs without -race: a bundle of
# 100,009 files read once to check the file-count limit (37 s under -race,
# 5 s without; the reader's concurrency is raced by its other tests).
PLAIN_TESTS := ./bundles=TestReadManyFiles
UNIT_P ?= 4
UNIT_PARALLEL ?= 4
unit:
	GO="$(GO)" UNIT_P="$(UNIT_P)" UNIT_PARALLEL="$(UNIT_PARALLEL)" E2E_PKGS="$(E2E_PKGS)" RACE_E2E_TESTS='$(RACE_E2E_TESTS)' PLAIN_TESTS='$(PLAIN_TESTS)' \
	UNIT_ALSO='$(MAKE) --no-print-directory fuzz-smoke' tools/unit.sh

# Every test with the race detector, the scripts' octobundle race-built
# too (OCTOBUNDLE_TEST_RACE_CLI=1), every repeated race at full count
# (OCTOBUNDLE_TEST_FULL=1), the race runtime's exit sleep kept: what
# make test ran before issue 23, about 12 minutes on 2 cores. CI runs it.
test-race:
	OCTOBUNDLE_TEST_RACE_CLI=1 OCTOBUNDLE_TEST_FULL=1 $(GO) test -race -count=1 -timeout 60m $(PKGS)

# The end-to-end tests (tools/e2e) against a real Octopus Server too, not
# only the simulator. Not part of `make test`. Needs:
#   OCTOPUS_URL            the server's base URL
#   OCTOPUS_API_KEY        an API key that may write to the space (never printed)
#   OCTOBUNDLE_LIVE_SPACE  a throwaway space whose name starts with octobundle-e2e
# The tests apply the golden bundle to that space and leave its data there.
# Without OCTOPUS_URL and OCTOPUS_API_KEY it says SKIPPED, and runs nothing.
e2e:
	@if [ -z "$$OCTOPUS_URL" ] || [ -z "$$OCTOPUS_API_KEY" ]; then \
	  echo "make e2e: SKIPPED: no real Octopus Server: set OCTOPUS_URL, OCTOPUS_API_KEY and OCTOBUNDLE_LIVE_SPACE (see tools/e2e/doc.go); the simulator runs of the same suite are part of make test"; \
	else \
	  OCTOBUNDLE_LIVE=1 $(GO) test -count=1 -timeout 30m -run 'Live|E2E' ./tools/e2e/...; \
	fi

# The bundle reader and writer's Windows cases (TestWindowsPathCases and the
# CRLF and escape tests) compiled for windows/amd64 and run there: under
# wine when it is installed, natively on a Windows CI runner
# (go test ./bundles). Without wine it builds the test binary and says that
# running it was SKIPPED.
test-windows:
	mkdir -p dist
	CGO_ENABLED=0 GOOS=windows GOARCH=amd64 $(GO) test -c -o dist/bundles-windows-amd64.test.exe ./bundles
	@if command -v wine >/dev/null; then \
	  wine dist/bundles-windows-amd64.test.exe -test.run 'Windows|CRLF|Escape|Unescape|FoldKey|CheckPath' -test.v; \
	else echo "make test-windows: built dist/bundles-windows-amd64.test.exe; running it SKIPPED (no wine here): copy it to Windows and run it"; fi

# The old name of e2e.
test-live: e2e

# The scale benchmark (issue 11, tools/bench): generated instances of N
# projects (12 steps, 3 channels, 2 runbooks, 60 variables each; 30
# environments; N/5 tenants; 20 step templates; 10 script modules; 10
# library variable sets) served with 20 ms latency per request; the
# octobundle binary runs as a separate process for export (directory and
# archive), plan (empty destination), apply, plan (up to date) and replay.
# Each step's requests by path, the simulator's own 409s (any outside
# the fault run fails the target), CPU (user and system), peak RSS and
# fsyncs (strace, n/a without it), and the bundle's and the state's size.
# The Markdown tables go to stdout and docs/bench/*.md, the JSON to
# docs/bench/*.json.
# bench-large measures N = 500 and 2,000 in one run, so that its growth
# table (500 → 2,000) compares runs made on the same machine state;
# bench-huge measures N = 10,000 (export, apply to an empty destination,
# replay) and fails if a step's peak RSS reaches 1 GiB (tens of minutes;
# `make bench-huge BENCH_HUGE_N=500 BENCH_HUGE_OUT=/tmp/huge` runs the same
# at a smaller size, elsewhere);
# bench-faults applies N = 500 under 5 %
# 503, 2 % 429 and 1 % dropped connections (half of them after the server
# handled the request). bench-go runs the in-process Go benchmarks.
OCTOBENCH = $(GO) run ./tools/bench/octobench
BENCH_HUGE_N ?= 10000
BENCH_HUGE_OUT ?= docs/bench/bench-huge
bench:
	$(OCTOBENCH) -n 125,250,500 -json docs/bench/bench.json -md docs/bench/bench.md

bench-large:
	$(OCTOBENCH) -n 500,2000 -json docs/bench/bench-large.json -md docs/bench/bench-large.md

bench-huge:
	$(OCTOBENCH) -n $(BENCH_HUGE_N) -steps export,apply,replay -max-rss-mib 1024 -json $(BENCH_HUGE_OUT).json -md $(BENCH_HUGE_OUT).md

bench-faults:
	$(OCTOBENCH) -n 500 -error-rate 0.05 -rate-limit-rate 0.02 -drop-rate 0.005 -drop-after-handling-rate 0.005 -json docs/bench/bench-faults.json -md docs/bench/bench-faults.md

bench-go:
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./export ./transform ./apply

# The peer suite (issue 19): go-octopusdeploy's own test/e2e, built from
# the module cache at the version pinned in go.mod, run test by test against
# a fresh simulator on loopback at each version in
# octosim.ConformanceVersions; the pass/fail table goes into
# docs/simulator.md. Takes about 15 minutes, so it is not part of `make test`.
conformance-peer:
	GO=$(GO) tools/octosim/peer/e2e.sh

# The official Octopus CLI against the simulator: CLI_SRC=a checkout of
# github.com/OctopusDeploy/cli (built offline), or OCTOPUS_CLI=a binary.
conformance-cli:
	GO=$(GO) CLI_SRC=$(CLI_SRC) tools/octosim/peer/cli.sh

# The README's first command: the full round trip on two built-in simulators.
demo:
	$(GO) run ./cmd/octobundle demo

# Fuzzing of everything read from outside: the archive reader (FuzzRead),
# the bundle reader behind both forms (FuzzBundleFiles), the rule-file
# parser (FuzzParse), the saved-plan reader (FuzzReadPlan), the apply
# state's entity and journal readers (FuzzParseEntity, FuzzReadJournal)
# and the JSON decoder under all of
# them, against encoding/json (FuzzDecode). Seeds come from
# testdata/ and run with every `go test`; `make fuzz` fuzzes each for
# FUZZTIME, and `make test` runs fuzz-smoke below. A crasher is written to
# the package's testdata/fuzz/FuzzX/: commit it, fix the bug, and it stays
# a regression test.
# -fuzzminimizetime is short because minimising each new interesting input
# for the default 60 s would stall a short run.
FUZZTIME ?= 60s
FUZZ = $(GO) test -run '^$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 2s
fuzz:
	$(FUZZ) -fuzz '^FuzzRead$$' ./bundles
	$(FUZZ) -fuzz '^FuzzBundleFiles$$' ./bundles
	$(FUZZ) -fuzz '^FuzzParse$$' ./transform
	$(FUZZ) -fuzz '^FuzzReadPlan$$' ./apply/plans
	$(FUZZ) -fuzz '^FuzzParseEntity$$' ./internal/state
	$(FUZZ) -fuzz '^FuzzReadJournal$$' ./internal/state
	$(FUZZ) -fuzz '^FuzzDecode$$' ./internal/jsonv

# make test's short fuzz of the same targets: a number of inputs per
# target (-fuzztime Nx), about 3 s of fuzzing each on an idle 2-core
# machine (their speeds differ 100-fold: 700 to 47,000 inputs/s), about
# 30 s in all with the builds and baseline runs. It was 7 s each, about a
# minute of make test, and no crasher from it was ever committed. A count,
# not a duration: with a duration, Go 1.26's fuzzing coordinator can fail
# a run that found nothing ("context deadline exceeded" as the time runs
# out, golang/go#75804, reported fixed in Go 1.27); it did so here
# (FuzzReadPlan, 2026-12-07). Under load a count takes longer and fuzzes
# as much.
FUZZ_SMOKE = $(GO) test -run '^$$' -fuzzminimizetime 2s
fuzz-smoke:
	$(FUZZ_SMOKE) -fuzztime 2000x -fuzz '^FuzzRead$$' ./bundles
	$(FUZZ_SMOKE) -fuzztime 2000x -fuzz '^FuzzBundleFiles$$' ./bundles
	$(FUZZ_SMOKE) -fuzztime 3000x -fuzz '^FuzzParse$$' ./transform
	$(FUZZ_SMOKE) -fuzztime 15000x -fuzz '^FuzzReadPlan$$' ./apply/plans
	$(FUZZ_SMOKE) -fuzztime 80000x -fuzz '^FuzzParseEntity$$' ./internal/state
	$(FUZZ_SMOKE) -fuzztime 40000x -fuzz '^FuzzReadJournal$$' ./internal/state
	$(FUZZ_SMOKE) -fuzztime 140000x -fuzz '^FuzzDecode$$' ./internal/jsonv

clean:
	rm -rf bin dist demo-out

# The repository's git hooks (.githooks/): pre-commit refuses staged Go
# files gofmt would change, commit-msg refuses a subject over 72
# characters. See CONTRIBUTING.md.
hooks:
	git config core.hooksPath .githooks
