#!/usr/bin/env bash
# Runs go-octopusdeploy's own end-to-end suite (test/e2e of the version
# pinned in go.mod, built offline from the module cache) against the
# simulator: every test in its own process, against a fresh simulator on
# loopback (cmd/octosim), once per server version in
# octosim.ConformanceVersions. It never talks to anything but the
# simulator it started. Writes a pass/fail table per test between the
# PEER-E2E markers of docs/simulator.md (or $OUT), and the raw results
# to $WORK/results.tsv.
#
#   make conformance-peer            # all tests
#   RUN='Lifecycle' tools/octosim/peer/e2e.sh   # tests matching a regexp
#   MIN_PASS=2024.4=180,2025.4=194 OUT=/tmp/sim.md tools/octosim/peer/e2e.sh
#       # fail (exit 1) when fewer tests pass at a version (MIN_PASS=N: any)
#
# Not part of `make test`; .ci/run runs it with MIN_PASS.
set -u
cd "$(dirname "$0")/../../.."
. tools/octosim/peer/lib.sh
MIN_PASS=${MIN_PASS:-0}
PIN=$($GO list -m -f '{{.Version}}' github.com/OctopusDeploy/go-octopusdeploy/v2)

$GO build -o "$WORK/octosim" ./cmd/octosim || exit 1
$GO test -c -o "$WORK/e2e.test" github.com/OctopusDeploy/go-octopusdeploy/v2/test/e2e || exit 1
# reason prints the first failure of a test's output on one line: a
# panic, else testify's Error (with the line after it when it ends in a
# colon) and Messages, else the first t.Error line.
reason() {
  awk '
    /^panic: / && !r { sub(/^panic: /, "panic: "); r = $0; done = 1 }
    done { next }
    /^[[:space:]]+Error:/ { sub(/^[[:space:]]+Error:[[:space:]]*/, ""); r = $0; more = ($0 ~ /:$/ || $0 == ""); next }
    more { gsub(/^[[:space:]]+/, ""); r = r " " $0; more = 0; next }
    /^[[:space:]]+Messages:/ && r { sub(/^[[:space:]]+Messages:[[:space:]]*/, ""); r = r " (" $0 ")"; done = 1; next }
    /^[[:space:]]+Test:/ && r { done = 1; next }
    /\.go:[0-9]+: ./ && !r { sub(/^[[:space:]]+/, ""); r = $0 }
    END { print r }' "$1"
}

tests=$(cd "$WORK" && ./e2e.test -test.list "$RUN" | grep '^Test')

# expected prints why test $2 fails on purpose at version $1 (a feature
# newer than the version: tools/octosim/peer/e2e-reasons.tsv), or nothing.
expected() {
  local v=$1 t=$2 before re why
  while IFS=$'\t' read -r before re why; do
    case "$before" in ''|'#'*) continue;; esac
    # $v is older than $before when it sorts first and differs.
    if [ "$(printf '%s\n%s\n' "$v" "$before" | sort -V | head -n1)" = "$v" ] && [ "$v" != "$before" ] &&
      echo "$t" | grep -Eq "$re"; then
      echo "$why"
      return
    fi
  done < tools/octosim/peer/e2e-reasons.tsv
}

# run_one runs test $2 against a fresh simulator at version $1: output in
# $WORK/test.out, exit code in rc, the simulator's URL in url.
run_one() {
  local v=$1 t=$2
  start_sim "$v" sim.err
  (cd "$WORK" && OCTOPUS_HOST="$url" OCTOPUS_URL="$url" OCTOPUS_API_KEY="$KEY" OCTOPUS_APIKEY="$KEY" OCTOPUS_SPACE= \
    timeout "$TIMEOUT" ./e2e.test -test.run "^$t\$" -test.count=1 > "$WORK/test.out" 2>&1)
  rc=$?
  stop_sim
}

# passed reports whether the last run_one passed.
passed() { [ $rc -eq 0 ] && grep -q '^PASS' "$WORK/test.out"; }

: > "$WORK/results.tsv"
for v in $VERSIONS; do
  for t in $tests; do
    run_one "$v" "$t"
    retried=
    if ! passed; then retried=1; run_one "$v" "$t"; fi
    if passed; then
      res=pass; why=${retried:+passed on the second run (the first failed: a flaky test)}
    else
      res=fail
      if [ $rc -eq 124 ]; then why="timed out after ${TIMEOUT}s"
      else
        why=$(reason "$WORK/test.out")
      fi
      why=$(echo "$why" | tr '|\t' '/ ' | sed "s#$url#SIM#g" | cut -c1-200)
      known=$(expected "$v" "$t")
      [ -n "$known" ] && why="expected: $known (first failing line: $why)"
    fi
    printf '%s\t%s\t%s\t%s\n' "$v" "$t" "$res" "$why" >> "$WORK/results.tsv"
    echo "$v $t $res $why" >&2
  done
done

# The table: one row per test, a column per version.
{
  echo "<!-- PEER-E2E:BEGIN (written by make conformance-peer; do not edit by hand) -->"
  echo
  echo "go-octopusdeploy $PIN \`test/e2e\`, one process per test, fresh simulator each, run $(date -u +%Y-%m-%d):"
  echo
  printf '| version | pass | fail |\n|---|---|---|\n'
  for v in $VERSIONS; do
    echo "| $v | $(count "$v" pass) | $(count "$v" fail) |"
  done
  echo
  printf '| test |'; for v in $VERSIONS; do printf ' %s |' "$v"; done; printf ' reason (first failing line) |\n'
  printf '|---|'; for v in $VERSIONS; do printf -- '---|'; done; printf -- '---|\n'
  for t in $tests; do
    printf '| %s |' "$t"; reason=
    for v in $VERSIONS; do
      line=$(awk -F'\t' -v v="$v" -v t="$t" '$1==v && $2==t' "$WORK/results.tsv")
      printf ' %s |' "$(echo "$line" | cut -f3)"
      r=$(echo "$line" | cut -f4)
      [ -n "$r" ] && [ -z "$reason" ] && reason=$r
    done
    printf ' %s |\n' "$reason"
  done
  echo
  echo "<!-- PEER-E2E:END -->"
} > "$WORK/table.md"

write_section PEER-E2E "$OUT" "## The peer suite: go-octopusdeploy's e2e tests"
# MIN_PASS is a count for every version, or VERSION=COUNT,… (a version
# prefix: 2025.4=194).
status=0
for v in $VERSIONS; do
  p=$(count "$v" pass)
  min=0
  case "$MIN_PASS" in
    *=*) for kv in $(echo "$MIN_PASS" | tr ',' ' '); do
           case "$v" in "${kv%%=*}"*) min=${kv#*=};; esac
         done;;
    *) min=$MIN_PASS;;
  esac
  if [ "$p" -lt "$min" ]; then
    echo "conformance-peer: $p tests pass at $v, fewer than the $min MIN_PASS asks" >&2
    status=1
  fi
done
exit $status
