#!/usr/bin/env bash
# Runs the official Octopus CLI (github.com/OctopusDeploy/cli) against the
# simulator: the command lines of cli-commands.tsv, in order, against one
# fresh simulator per server version in octosim.ConformanceVersions, seeded
# with testdata/instances/source.json, so later commands use what earlier
# ones created. Every row checks what the command printed (and, where the
# command prints nothing useful, what the server now holds), so a command
# that exits 0 with wrong data fails. It never talks to anything but the
# simulator it started: the CLI comes from $OCTOPUS_CLI (a binary) or is
# built from $CLI_SRC (a checkout) with GOPROXY=off. Writes a pass/fail
# table per command between the PEER-CLI markers of docs/simulator.md (or
# $OUT), and the raw results to $WORK/results.tsv.
#
#   make conformance-cli CLI_SRC=/path/to/OctopusDeploy/cli
#   OCTOPUS_CLI=/tmp/octopus OUT=/tmp/cli-sim.md tools/octosim/peer/cli.sh
#   (with CLI_SRC too, the binary is used and the checkout's commit reported)
#   RUN='^account' ...   # only the rows whose name matches (setup rows always run)
#   KEEP=1 ...           # leave each simulator running afterwards, to look at it
#
# cli-commands.tsv has one row per command, tab-separated:
#
#   NAME  ARGV  CHECK  [SAVE  [SINCE]]
#
# ARGV is a shell word list (quoted as in bash, expanded with eval; saved
# variables are $NAME, the work directory is $FILES); --no-prompt is always
# added. CHECK is one or more checks joined by " ;; ", all of which must
# hold, besides exit status 0:
#
#   jq:EXPR        EXPR over the JSON the command printed is true
#   has:TEXT       the output (stdout and stderr) contains TEXT
#   lacks:TEXT     the output does not contain TEXT
#   get:PATH EXPR  EXPR over the JSON the simulator answers to GET PATH is true
#   fails:TEXT     the command must exit non-zero with TEXT in its output
#                  (a refusal the real server gives too)
#
# SAVE is VAR=re:REGEX (the first match of a grep -P REGEX over the output,
# \K allowed), VAR=jq:EXPR (over the JSON printed) or VAR=get:PATH EXPR;
# in CHECK and later ARGV, ${VAR} is replaced by the saved value. A NAME
# starting with @ is a setup row, not counted: ARGV is "METHOD PATH BODY"
# sent with curl (for fixtures no CLI command can make, such as tag sets),
# which must answer 2xx, or "cli ARGS" for a CLI command that does not
# talk to the server (making a package file), which must exit 0; its
# third column is its SAVE, whose jq expressions read the response. SINCE (e.g. 2025.3) skips the row on
# older server versions, which lack the feature (shown as n/a, counted
# neither way). An empty SAVE before a SINCE is written "-" (read
# collapses adjacent tabs).
#
# Not part of `make test`.
set -u
cd "$(dirname "$0")/../../.."
. tools/octosim/peer/lib.sh
TSV=${TSV:-tools/octosim/peer/cli-commands.tsv}

cli=${OCTOPUS_CLI:-}
commit=
if [ -z "$cli" ]; then
  if [ -z "${CLI_SRC:-}" ]; then
    cat >&2 <<'EOF'
cli.sh needs the Octopus CLI. Either point OCTOPUS_CLI at a binary, or
CLI_SRC at a checkout of https://github.com/OctopusDeploy/cli whose module
dependencies are in the module cache, e.g.

  git clone https://github.com/OctopusDeploy/cli /tmp/octopus-cli
  (cd /tmp/octopus-cli && go mod download)
  make conformance-cli CLI_SRC=/tmp/octopus-cli

This script never downloads anything itself.
EOF
    exit 2
  fi
  cli=$WORK/octopus
  if ! (cd "$CLI_SRC" && GOPROXY=off GOFLAGS=-mod=mod $GO build -o "$cli" ./cmd/octopus); then
    echo "cannot build the CLI in $CLI_SRC offline: run 'go mod download' there first" >&2
    exit 1
  fi
fi
# The commit the CLI was built from, when its checkout is known.
[ -n "${CLI_SRC:-}" ] && commit=$(git -C "$CLI_SRC" rev-parse HEAD 2>/dev/null)
cliversion=$("$cli" version 2>/dev/null | head -n1)
$GO build -o "$WORK/octosim" ./cmd/octosim || exit 1

# Files the commands read or write (keys, build information, package
# contents), made fresh for each version in $FILES.
make_files() {
  rm -rf "$FILES" && mkdir -p "$FILES/pkg/bin" "$FILES/out"
  echo 'hello from the octopus cli peer suite' > "$FILES/pkg/readme.txt"
  echo 'binary' > "$FILES/pkg/bin/app.dll"
  ssh-keygen -q -t ed25519 -N '' -C peer-cli -f "$FILES/id_ed25519" 2>/dev/null ||
    printf -- '-----BEGIN OPENSSH PRIVATE KEY-----\npeer\n-----END OPENSSH PRIVATE KEY-----\n' > "$FILES/id_ed25519"
  echo '{"type":"service_account","project_id":"peer-cli","private_key_id":"0"}' > "$FILES/gcp.json"
  cat > "$FILES/buildinfo.json" <<'EOF'
{"BuildEnvironment":"GitHub Actions","BuildNumber":"42","BuildUrl":"https://ci.example.com/builds/42","Branch":"main","VcsType":"Git","VcsRoot":"https://git.example.com/octofx.git","VcsCommitNumber":"0123456789abcdef","Commits":[{"Id":"0123456789abcdef","LinkUrl":"https://git.example.com/octofx/commit/0123456789abcdef","Comment":"Peer suite commit"}]}
EOF
  echo 'Notes from a file.' > "$FILES/notes.txt"
}

# subst replaces ${VAR} in $1 with the saved values.
subst() {
  local s=$1 k
  for k in "${!saved[@]}"; do s=${s//\$\{$k\}/${saved[$k]}}; done
  printf '%s' "$s"
}

# api answers GET $1 from the simulator (the body on stdout).
api() { curl -sS -f -H "X-Octopus-ApiKey: $KEY" "$url$1"; }

# check_one evaluates one check against the last command's output; on
# failure it prints why.
check_one() {
  local c=$1 path expr
  case "$c" in
    jq:*)
      jq -e "${c#jq:}" "$WORK/stdout" > /dev/null 2>&1 ||
        echo "check failed: ${c} on $(tr -s ' \n' ' ' < "$WORK/stdout" | cut -c1-120)" ;;
    has:*)
      grep -qF -- "${c#has:}" "$WORK/output" || echo "output lacks '${c#has:}'" ;;
    lacks:*)
      ! grep -qF -- "${c#lacks:}" "$WORK/output" || echo "output has '${c#lacks:}'" ;;
    get:*)
      path=${c#get:}; expr=${path#* }; path=${path%% *}
      api "$path" > "$WORK/get.json" 2>&1 || { echo "GET $path: $(head -n1 "$WORK/get.json")"; return; }
      jq -e "$expr" "$WORK/get.json" > /dev/null 2>&1 ||
        echo "check failed: GET $path $expr on $(tr -s ' \n' ' ' < "$WORK/get.json" | cut -c1-120)" ;;
    fails:*) ;;
    *) echo "unknown check '$c'" ;;
  esac
}

# save_one stores VAR=KIND:EXPR from the last command's output in saved
# (not in a subshell); a failure is left in save_err.
save_one() {
  local var=${1%%=*} how=${1#*=} v= path
  case "$how" in
    re:*) v=$(grep -oP -m1 -- "${how#re:}" "$WORK/output" | head -n1) ;;
    jq:*) v=$(jq -r "${how#jq:}" "${2:-$WORK/stdout}" 2>/dev/null | head -n1) ;;
    get:*) path=${how#get:}; v=$(api "${path%% *}" 2>/dev/null | jq -r "${path#* }" 2>/dev/null | head -n1) ;;
  esac
  [ "$v" = null ] && v=
  saved[$var]=$v
  [ -n "$v" ] || save_err="could not save $var"
}

# run_row runs one command row; sets res and why.
run_row() {
  local argv=$1 checks=$2 saves=$3 c expect_fail=
  local -a args
  set +u  # a variable an earlier failure left unsaved expands to nothing
  eval "args=($(subst "$argv"))"
  set -u
  (cd "$FILES" && OCTOPUS_URL="$url" OCTOPUS_API_KEY="$KEY" OCTOPUS_SPACE=Default HOME="$WORK/home" XDG_CONFIG_HOME="$WORK/home/.config" \
    timeout "$TIMEOUT" "$cli" "${args[@]}" --no-prompt < /dev/null > "$WORK/stdout" 2> "$WORK/stderr")
  rc=$?
  cat "$WORK/stdout" "$WORK/stderr" > "$WORK/output"
  res=pass why=
  case "$checks" in fails:*) expect_fail=${checks#fails:} ;; esac
  if [ -n "$expect_fail" ]; then
    if [ $rc -eq 0 ]; then why="exited 0, expected a refusal"
    elif ! grep -qF -- "$expect_fail" "$WORK/output"; then why="refused otherwise: $(grep -m1 . "$WORK/stderr")"; fi
  elif [ $rc -eq 124 ]; then why="timed out after ${TIMEOUT}s"
  elif [ $rc -ne 0 ]; then why=$(grep -m1 . "$WORK/stderr"); why=${why:-exit $rc}
  fi
  if [ -n "$saves" ]; then
    while IFS= read -r c; do
      [ -n "$c" ] || continue
      save_err=
      save_one "$(subst "$c")"
      [ -z "$why" ] && [ -n "$save_err" ] && why=$save_err
    done <<< "${saves// ;; /$'\n'}"
  fi
  checks=$(subst "$checks")
  if [ -z "$why" ] && [ -z "$expect_fail" ]; then
    while IFS= read -r c; do
      [ -n "$c" ] || continue
      why=$(check_one "$c")
      [ -n "$why" ] && break
    done <<< "${checks// ;; /$'\n'}"
  fi
  [ -n "$why" ] && res=fail
  return 0
}

# run_setup makes a fixture: runs "cli ARGS" or sends "METHOD PATH BODY";
# it fails when the command or request does.
run_setup() {
  local method=${1%% *} rest=${1#* } path body
  local -a args
  if [ "$method" = cli ]; then
    eval "args=($rest)"
    (cd "$FILES" && HOME="$WORK/home" "$cli" "${args[@]}" --no-prompt < /dev/null > "$WORK/setup.out" 2>&1)
    return
  fi
  path=${rest%% *}; body=${rest#"$path"}; body=${body# }
  curl -sS -f -X "$method" -H "X-Octopus-ApiKey: $KEY" -H 'Content-Type: application/json' \
    ${body:+--data "$body"} "$url$path" > "$WORK/setup.out" 2>&1
}

# older reports whether server version $1 is older than major.minor $2.
older() {
  local a b
  IFS=. read -r a b _ <<< "$1"
  IFS=. read -r ma mi <<< "$2"
  [ "$a" -lt "$ma" ] || { [ "$a" -eq "$ma" ] && [ "$b" -lt "$mi" ]; }
}

declare -A saved
: > "$WORK/results.tsv"
names=()
while IFS=$'\t' read -r name _; do
  case "$name" in ''|'#'*|@*) continue ;; esac
  [[ $name =~ $RUN ]] && names+=("$name")
done < "$TSV"

for v in $VERSIONS; do
  FILES=$WORK/files
  make_files
  rm -rf "$WORK/home" && mkdir -p "$WORK/home"
  saved=()
  start_sim "$v" "sim-$v.err" --seed testdata/instances/source.json
  while IFS=$'\t' read -r name argv checks saves since; do
    case "$name" in ''|'#'*) continue ;; esac
    if [ -n "${since:-}" ] && older "$v" "$since"; then
      [[ $name == @* ]] || ! [[ $name =~ $RUN ]] ||
        printf '%s\t%s\t%s\t%s\n' "$v" "$name" n/a "needs Octopus $since" >> "$WORK/results.tsv"
      continue
    fi
    if [[ $name == @* ]]; then
      if ! run_setup "$(subst "$argv")"; then
        echo "setup $name failed at $v: $(head -c 300 "$WORK/setup.out")" >&2
      fi
      while IFS= read -r c; do
        [ -n "$c" ] && [ "$c" != - ] || continue
        save_err=
        save_one "$(subst "$c")" "$WORK/setup.out"
        [ -n "$save_err" ] && echo "setup $name at $v: $save_err" >&2
      done <<< "${checks// ;; /$'\n'}"
      continue
    fi
    [[ $name =~ $RUN ]] || continue
    [ "${saves:-}" = - ] && saves=
    run_row "$argv" "$checks" "${saves:-}"
    why=$(echo "$why" | tr '\t' ' ' | sed "s#$url#SIM#g" | cut -c1-220 | sed 's/|/\\|/g')
    printf '%s\t%s\t%s\t%s\n' "$v" "$name" "$res" "$why" >> "$WORK/results.tsv"
    echo "$v $name $res $why" >&2
  done < "$TSV"
  if [ -n "${KEEP:-}" ]; then
    echo "KEEP: the $v simulator stays up at $url (pid $sim)" >&2
  else
    kill "$sim" 2>/dev/null; wait "$sim" 2>/dev/null
  fi
done

# The table: one row per command, a column per version.
{
  echo "<!-- PEER-CLI:BEGIN (written by make conformance-cli; do not edit by hand) -->"
  echo
  echo "Octopus CLI $cliversion${commit:+ (commit \`${commit:0:12}\`)}, ${#names[@]} commands in order against one fresh seeded simulator per version, run $(date -u +%Y-%m-%d):"
  echo
  printf '| version | pass | fail | n/a (feature newer than the version) |\n|---|---|---|---|\n'
  for v in $VERSIONS; do
    echo "| $v | $(count "$v" pass) | $(count "$v" fail) | $(count "$v" n/a) |"
  done
  echo
  printf '| command |'; for v in $VERSIONS; do printf ' %s |' "$v"; done; printf ' reason (first failure) |\n'
  printf '|---|'; for v in $VERSIONS; do printf -- '---|'; done; printf -- '---|\n'
  for n in "${names[@]}"; do
    printf '| %s |' "$n"; reason=
    for v in $VERSIONS; do
      line=$(awk -F'\t' -v v="$v" -v n="$n" '$1==v && $2==n' "$WORK/results.tsv" | head -n1)
      printf ' %s |' "$(echo "$line" | cut -f3)"
      r=$(echo "$line" | cut -f4)
      [ -n "$r" ] && [ -z "$reason" ] && reason=$r
    done
    printf ' %s |\n' "$reason"
  done
  echo
  echo "<!-- PEER-CLI:END -->"
} > "$WORK/table.md"

write_section PEER-CLI "$OUT" "## The peer suite: the Octopus CLI"
