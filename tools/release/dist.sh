#!/usr/bin/env bash
# make dist: the release binaries (octobundle, and octosim, the simulator
# that octobundle demo runs from beside it), a CycloneDX SBOM per binary,
# SHA256SUMS over all of them, and with SIGN_KEY a minisign signature of
# SHA256SUMS (SHA256SUMS.minisig). Reproducible: the same source, Go
# version, VERSION and SOURCE_DATE_EPOCH give the same bytes, wherever the
# source lies (make reproducible checks it; docs/security.md shows how a
# change board does).
#
# Environment:
#   VERSION             the version stamped in (required; never "dev")
#   OUT                 the output folder (default dist; emptied first)
#   PLATFORMS           GOOS/GOARCH list (default: the four release platforms)
#   SOURCE_DATE_EPOCH   the release time, seconds since 1970, for the SBOM
#                       timestamp and the signature's trusted comment
#                       (default: the commit time of HEAD)
#   SIGN_KEY            a minisign secret key (octobundle keygen's NAME.key,
#                       or minisign -G's): sign SHA256SUMS with it
#   SIGN_PASSWORD_FILE  its password, the first line of this file, or
#   SIGN_PASSWORD       its password (an environment variable, never an
#                       argument: arguments are visible in ps); neither:
#                       asked on the terminal
#   SIGN_PUBKEY         the public key to check the new signature with
#                       (default: SIGN_KEY with .pub for .key)
#   BUILD_GOCACHE       the build cache for the binaries (default go's);
#                       make reproducible builds once with an empty one
#   GO                  the go command (default go)
#
# The tools come from the module cache at the versions go.mod's tool
# directive pins (cyclonedx-gomod, aead.dev/minisign's minisign): no
# network after go mod download.
set -euo pipefail
cd "$(dirname "$0")/../.."
export LC_ALL=C

GO=${GO:-go}
OUT=${OUT:-dist}
PLATFORMS=${PLATFORMS:-linux/amd64 linux/arm64 windows/amd64 darwin/arm64}
case "${VERSION:-}" in
"" | dev)
  echo "make dist: no version: build from a git clone, or set VERSION=v1.2.3" >&2
  exit 1
  ;;
esac
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
  SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || true)
  if [ -z "$SOURCE_DATE_EPOCH" ]; then
    echo "make dist: no SOURCE_DATE_EPOCH: build from a git clone, or set it (seconds since 1970)" >&2
    exit 1
  fi
fi
case "$SOURCE_DATE_EPOCH" in *[!0-9]*)
  echo "make dist: SOURCE_DATE_EPOCH must be seconds since 1970, not $SOURCE_DATE_EPOCH" >&2
  exit 1
  ;;
esac
timestamp=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null ||
  date -u -r "$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)

sha256() { if command -v sha256sum >/dev/null; then sha256sum "$@"; else shasum -a 256 "$@"; fi; }

# Nothing from the caller's environment changes the bytes: GOFLAGS (which
# would otherwise come from `go env -w`) and the per-architecture levels
# are fixed, cgo is off, file paths are trimmed, no VCS stamp (the
# version is in -X main.version; a source tarball builds the same), and
# Go binaries hold no timestamp.
export GOFLAGS=-mod=readonly CGO_ENABLED=0 GOAMD64=v1 GOARM64=v8.0
unset GOEXPERIMENT

# The SBOM tool, at the version go.mod pins, built for this machine and
# with -trimpath (its own hash goes into each SBOM: the same on every
# machine with this Go version). It is run with the target's GOOS and
# GOARCH, which its package URLs take.
tools=$(mktemp -d "${TMPDIR:-/tmp}/octobundle-dist-tools.XXXXXX")
trap 'rm -rf "$tools"' EXIT
"$GO" build -trimpath -o "$tools/cyclonedx-gomod" github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod

rm -rf "$OUT"
mkdir -p "$OUT"
for p in $PLATFORMS; do
  os=${p%/*} arch=${p#*/} ext=
  [ "$os" = windows ] && ext=.exe
  for prog in octobundle octosim; do
    name=$prog-$VERSION-$os-$arch
    echo "$OUT/$name$ext" >&2
    GOCACHE=${BUILD_GOCACHE:-$("$GO" env GOCACHE)} GOOS=$os GOARCH=$arch "$GO" build -trimpath -buildvcs=false \
      -ldflags "-s -w -X main.version=$VERSION" -o "$OUT/$name$ext" ./cmd/$prog

    # The SBOM of what went into this binary: its modules with versions and
    # hashes, read from the binary's build information. A serial number
    # derived from the binary's hash, and the timestamp from
    # SOURCE_DATE_EPOCH, instead of a random one and the clock, so that it
    # is reproducible too.
    h=$(sha256 "$OUT/$name$ext" | cut -c1-32)
    variant=$(printf %x $(((0x${h:16:1} & 3) | 8)))
    serial="urn:uuid:${h:0:8}-${h:8:4}-5${h:13:3}-$variant${h:17:3}-${h:20:12}"
    GOOS=$os GOARCH=$arch "$tools/cyclonedx-gomod" bin -json -version "$VERSION" -serial "$serial" \
      -notimestamp -output "$OUT/$name.cdx.json.tmp" "$OUT/$name$ext" 2>"$tools/sbom.log" || {
      cat "$tools/sbom.log" >&2
      exit 1
    }
    awk -v ts="$timestamp" '!done && /"metadata": \{/ { print; print "    \"timestamp\": \"" ts "\","; done = 1; next } { print }' \
      "$OUT/$name.cdx.json.tmp" >"$OUT/$name.cdx.json"
    rm "$OUT/$name.cdx.json.tmp"
  done
done
(cd "$OUT" && sha256 octobundle-* octosim-* >SHA256SUMS)

if [ -n "${SIGN_KEY:-}" ]; then
  trusted="octobundle $VERSION SHA256SUMS timestamp:$SOURCE_DATE_EPOCH"
  sign() { "$GO" tool minisign -S -s "$SIGN_KEY" -m "$OUT/SHA256SUMS" -t "$trusted" -c "octobundle $VERSION release" >&2; }
  if [ -n "${SIGN_PASSWORD_FILE:-}" ]; then
    printf '%s\n' "$(head -n 1 "$SIGN_PASSWORD_FILE" | tr -d '\r')" | sign
  elif [ -n "${SIGN_PASSWORD:-}" ]; then
    printf '%s\n' "$SIGN_PASSWORD" | sign # printf is a builtin: not in ps
  else
    sign
  fi
  pub=${SIGN_PUBKEY:-${SIGN_KEY%.key}.pub}
  if [ -f "$pub" ]; then
    "$GO" tool minisign -V -q -p "$pub" -m "$OUT/SHA256SUMS"
    echo "signed $OUT/SHA256SUMS; checked with $pub" >&2
  else
    echo "signed $OUT/SHA256SUMS (no $pub to check it with)" >&2
  fi
fi
cat "$OUT/SHA256SUMS"
