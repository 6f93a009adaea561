#!/usr/bin/env bash
# make unit (the tests of make test; see the Makefile for why it is split):
# every package whose own code runs concurrently — its non-test files start
# a goroutine or import sync, sync/atomic, os/signal or internal/parallel —
# with -race; the end-to-end packages in E2E_PKGS and every package with
# no concurrent code of its own without it, started first and in the
# background (cmd/octobundle is the longest); then the named tests of the
# end-to-end packages under -race too (RACE_E2E_TESTS: PKG=TEST,TEST...,
# space separated; a name that matches no test fails), and the named
# tests of raced packages without it instead (PLAIN_TESTS, the same form:
# skipped in the race run, by name in every package). The tests without
# -race run UNIT_PARALLEL parallel tests at a time. Each run's output
# is printed whole; the exit status is 1 if any run failed. UNIT_ALSO, if
# set, is a shell command (make test: the fuzz smoke) started in the
# background once the race run of the libraries ends, beside the rest;
# its output is printed at the end and its failure fails the run.
set -uo pipefail
GO=${GO:-go}
UNIT_P=${UNIT_P:-4}
UNIT_PARALLEL=${UNIT_PARALLEL:-4}
E2E_PKGS=${E2E_PKGS:?}
RACE_E2E_TESTS=${RACE_E2E_TESTS:-}
PLAIN_TESTS=${PLAIN_TESTS:-}
UNIT_ALSO=${UNIT_ALSO:-}
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

rc=0
# pattern SPEC: the -run pattern of SPEC (PKG=TEST,TEST...).
pattern() {
  local names=${1#*=}
  printf '%s' "^(${names//,/|})\$"
}
# check SPEC VAR: a renamed test would leave -run matching nothing, which
# go test passes with a warning: each name of SPEC (from the variable VAR)
# must be one of its package's tests (go test -list), else this says so
# and returns 1.
check() {
  local spec=$1 var=$2 pkg listed name ok=0
  pkg=${spec%%=*}
  listed=$($GO test -list "$(pattern "$spec")" "$pkg") || ok=1
  local names=${spec#*=}
  for name in ${names//,/ }; do
    # Whole lines, matched in the shell: a pipe into grep -q could fail
    # with SIGPIPE under pipefail when grep stops reading early.
    if [[ $'\n'$listed$'\n' != *$'\n'"$name"$'\n'* ]]; then
      echo "unit: no test $name in $pkg ($var in the Makefile)"
      ok=1
    fi
  done
  return $ok
}
race_runs=()
for spec in $RACE_E2E_TESTS; do
  race_runs+=("${spec%%=*}" "$(pattern "$spec")")
done
plain_runs=()
skip=()
for spec in $PLAIN_TESTS; do
  plain_runs+=("${spec%%=*}" "$(pattern "$spec")")
  skip+=("$(pattern "$spec")")
done
skip_flags=()
if ((${#skip[@]})); then
  joined=$(IFS='|'; echo "${skip[*]}")
  skip_flags=(-skip "$joined")
fi

e2e_log=$(mktemp)
also_log=$(mktemp)
trap 'rm -f "$e2e_log" "$also_log" "${check_log:-}"' EXIT
$GO test -count=1 -p "$UNIT_P" -parallel "$UNIT_PARALLEL" -timeout 30m "${plain_pkgs[@]}" >"$e2e_log" 2>&1 &
e2e=$!

check_log=$(mktemp)
{
  r=0
  for spec in $RACE_E2E_TESTS; do check "$spec" RACE_E2E_TESTS || r=1; done
  for spec in $PLAIN_TESTS; do check "$spec" PLAIN_TESTS || r=1; done
  exit $r
} >"$check_log" 2>&1 &
checks=$!

$GO test -race -count=1 -p "$UNIT_P" -timeout 30m "${skip_flags[@]}" "${race_pkgs[@]}" || rc=1
also=
if [[ -n $UNIT_ALSO ]]; then
  bash -c "$UNIT_ALSO" >"$also_log" 2>&1 &
  also=$!
fi
for ((i = 0; i < ${#race_runs[@]}; i += 2)); do
  $GO test -race -count=1 -timeout 30m -run "${race_runs[i+1]}" "${race_runs[i]}" || rc=1
done
for ((i = 0; i < ${#plain_runs[@]}; i += 2)); do
  $GO test -count=1 -timeout 30m -run "${plain_runs[i+1]}" "${plain_runs[i]}" || rc=1
done
wait "$e2e" || rc=1
wait "$checks" || rc=1
cat "$check_log" >&2
echo "--- without -race: ${plain_pkgs[*]#"$module/"}"
cat "$e2e_log"
if [[ -n $also ]]; then
  wait "$also" || rc=1
  echo "--- $UNIT_ALSO"
  cat "$also_log"
fi
exit $rc
