#!/usr/bin/env bash
# make unit (the tests of make test; see the Makefile for why it is split):
# every package whose own code runs concurrently — its non-test files start
# a goroutine or import sync, sync/atomic, os/signal or internal/parallel —
# with -race; the end-to-end packages in E2E_PKGS and every package with
# no concurrent code of its own without it, started first and in the
# background (cmd/octobundle is the longest); then the named tests of the
# end-to-end packages under -race too (RACE_E2E_TESTS: PKG=TEST,TEST...,
# space separated; a name that matches no test fails). Each run's output
# is printed whole; the exit status is 1 if any run failed.
set -uo pipefail
GO=${GO:-go}
UNIT_P=${UNIT_P:-4}
E2E_PKGS=${E2E_PKGS:?}
RACE_E2E_TESTS=${RACE_E2E_TESTS:-}
export GORACE="atexit_sleep_ms=0 ${GORACE:-}"

module=$($GO list -m) || exit 1
e2e_set=" "
for p in $E2E_PKGS; do e2e_set+="$module/${p#./} "; done
# One line per package: import path, then whether its non-test files
# import a package of concurrency, then those files.
listing=$($GO list -f '{{.ImportPath}} {{range .Imports}}{{if or (eq . "sync") (eq . "sync/atomic") (eq . "os/signal") (eq . "'"$module"'/internal/parallel")}}sync{{end}}{{end}}. {{range .GoFiles}}{{$.Dir}}/{{.}} {{end}}' ./...) || exit 1
race_pkgs=()
plain_pkgs=()
while read -r pkg uses files; do
  if [[ $e2e_set == *" $pkg "* ]]; then
    plain_pkgs+=("$pkg")
  # shellcheck disable=SC2086 # one word per file
  elif [[ $uses == sync* ]] || { [[ -n $files ]] && grep -q -E '^[[:space:]]*go [[:alnum:]_(]' $files; }; then
    race_pkgs+=("$pkg")
  else
    plain_pkgs+=("$pkg")
  fi
done <<<"$listing"

e2e_log=$(mktemp)
trap 'rm -f "$e2e_log"' EXIT
$GO test -count=1 -p "$UNIT_P" -timeout 30m "${plain_pkgs[@]}" >"$e2e_log" 2>&1 &
e2e=$!

rc=0
$GO test -race -count=1 -p "$UNIT_P" -timeout 30m "${race_pkgs[@]}" || rc=1
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
echo "--- without -race: ${plain_pkgs[*]#"$module/"}"
cat "$e2e_log"
exit $rc
