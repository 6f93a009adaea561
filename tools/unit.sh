#!/usr/bin/env bash
# make unit (the tests of make test; see the Makefile for why it is split):
# the end-to-end packages in E2E_PKGS without the race detector, started
# first and in the background (cmd/octobundle is the longest), every other
# package with -race, then the named tests of the end-to-end packages
# under -race too (RACE_E2E_TESTS: PKG=TEST,TEST..., space separated; a
# name that matches no test fails). Each run's
# output is printed whole; the exit status is 1 if any run failed.
set -uo pipefail
GO=${GO:-go}
UNIT_P=${UNIT_P:-4}
E2E_PKGS=${E2E_PKGS:?}
RACE_E2E_TESTS=${RACE_E2E_TESTS:-}
export GORACE="atexit_sleep_ms=0 ${GORACE:-}"

module=$($GO list -m) || exit 1
skip=()
for p in $E2E_PKGS; do skip+=(-e "$module/${p#./}"); done
race_pkgs=$($GO list ./... | grep -v -x -F "${skip[@]}") || exit 1

e2e_log=$(mktemp)
trap 'rm -f "$e2e_log"' EXIT
# shellcheck disable=SC2086 # word splitting of the package list is meant
$GO test -count=1 -p "$UNIT_P" -timeout 30m $E2E_PKGS >"$e2e_log" 2>&1 &
e2e=$!

rc=0
# shellcheck disable=SC2086
$GO test -race -count=1 -p "$UNIT_P" -timeout 30m $race_pkgs || rc=1
for spec in $RACE_E2E_TESTS; do
  pkg=${spec%%=*}
  names=${spec#*=}
  run="^(${names//,/|})\$"
  # A renamed test would leave -run matching nothing, which go test passes
  # with a warning: each name must be one of the package's tests.
  listed=$($GO test -list "$run" "$pkg") || rc=1
  for name in ${names//,/ }; do
    if ! printf '%s\n' "$listed" | grep -q -x -F "$name"; then
      echo "unit: no test $name in $pkg (RACE_E2E_TESTS in the Makefile)" >&2
      rc=1
    fi
  done
  $GO test -race -count=1 -timeout 30m -run "$run" "$pkg" || rc=1
done
wait "$e2e" || rc=1
echo "--- without -race: $E2E_PKGS"
cat "$e2e_log"
exit $rc
