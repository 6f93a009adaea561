# Shared by the peer suites (e2e.sh, cli.sh); sourced, not run, from the
# repository root. Sets their common settings, each overridable from the
# environment: GO, WORK (a scratch folder, which will hold the octosim
# binary), OUT (the doc whose section is rewritten), RUN (a regexp of
# what to run), TIMEOUT (seconds per run), VERSIONS (default: the
# simulator's ConformanceVersions) and KEY (the simulators' API key).
GO=${GO:-go}
WORK=${WORK:-$(mktemp -d)}
OUT=${OUT:-docs/simulator.md}
RUN=${RUN:-.}
TIMEOUT=${TIMEOUT:-60}
KEY=API-PEERSUITE0000000000000000
VERSIONS=${VERSIONS:-$(sed -n 's/^var ConformanceVersions = \[\]string{\(.*\)}/\1/p' tools/octosim/versions.go | tr -d '",')}

# start_sim starts a fresh simulator on loopback at server version $1 with
# the extra octosim flags after it (--seed FILE), its stderr to $WORK/$2;
# sets sim (its PID) and url, or exits when it does not come up.
start_sim() {
  local v=$1 errlog=$2
  shift 2
  "$WORK/octosim" --listen 127.0.0.1:0 --api-key "$KEY" --server-version "$v" --log-level error "$@" \
    > "$WORK/sim.out" 2> "$WORK/$errlog" &
  sim=$!
  url=
  for _ in $(seq 50); do
    url=$(head -n1 "$WORK/sim.out" 2>/dev/null)
    [ -n "$url" ] && break
    sleep 0.1
  done
  case "$url" in http://127.0.0.1:*) ;; *) echo "simulator did not start" >&2; kill "$sim"; exit 1;; esac
}

# stop_sim stops the simulator start_sim started.
stop_sim() { kill "$sim" 2>/dev/null; wait "$sim" 2>/dev/null; }

# write_section puts $WORK/table.md between the MARK:BEGIN and MARK:END
# markers of file $2 (MARK is $1), or appends it under heading $3 when the
# file has none.
write_section() {
  local mark=$1 out=$2 heading=$3
  touch "$out"
  if grep -q "$mark:BEGIN" "$out"; then
    awk -v tbl="$WORK/table.md" -v b="$mark:BEGIN" -v e="$mark:END" '
      index($0, b) { while ((getline l < tbl) > 0) print l; skip=1; next }
      index($0, e) { skip=0; next }
      !skip { print }' "$out" > "$WORK/doc.md" && cp "$WORK/doc.md" "$out"
  else
    { echo; echo "$heading"; echo; cat "$WORK/table.md"; } >> "$out"
  fi
  echo "results: $WORK/results.tsv; table written to $out" >&2
}

# count prints how many results of version $1 have status $2.
count() { awk -F'\t' -v v="$1" -v s="$2" '$1==v && $3==s' "$WORK/results.tsv" | wc -l; }
