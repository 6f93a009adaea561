#!/usr/bin/env bash
# make reproducible: build the release twice from two copies of the source
# in different temporary folders — the first with the machine's build
# cache, the second compiling octobundle with an empty one, so that nothing
# cached stands in for a compile — and compare SHA256SUMS (binaries and
# SBOMs). Exit 1, with the lines that differ, if they are not
# byte-identical.
#
# Environment: VERSION (default v0.0.0-reproducible), PLATFORMS (default
# the host's GOOS/GOARCH; PLATFORMS="linux/amd64 …" for more),
# SOURCE_DATE_EPOCH (default the commit time of HEAD), GO; OUT: keep the
# first build there (signed as make dist signs, with SIGN_KEY…); KEEP=1:
# leave the temporary folder.
set -euo pipefail
cd "$(dirname "$0")/../.."
export LC_ALL=C
GO=${GO:-go}
export GO
export VERSION=${VERSION:-v0.0.0-reproducible}
export PLATFORMS=${PLATFORMS:-$("$GO" env GOOS)/$("$GO" env GOARCH)}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 1)}

# The builds run in the copies: paths given relative to here must not move.
for v in SIGN_KEY SIGN_PUBKEY SIGN_PASSWORD_FILE; do
  case "${!v:-}" in "" | /*) ;; *) export "$v=$PWD/${!v}" ;; esac
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/octobundle-reproducible.XXXXXX")
if [ "${KEEP:-}" != 1 ]; then
  trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
fi

# The source as git sees it (tracked and new files, not ignored ones),
# without .git: a build from a source tarball.
copy() {
  mkdir -p "$1"
  git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
    tar --null -T - -cf - | (cd "$1" && tar -xf -)
}
copy "$tmp/a"
copy "$tmp/second/build/path"

start=$(date +%s)
first=${OUT:-$tmp/out-a}
case "$first" in /*) ;; *) first=$PWD/$first ;; esac
OUT="$first" "$tmp/a/tools/release/dist.sh" >/dev/null
SIGN_KEY= BUILD_GOCACHE="$tmp/empty-cache" OUT="$tmp/out-b" "$tmp/second/build/path/tools/release/dist.sh" >/dev/null
if ! cmp -s "$first/SHA256SUMS" "$tmp/out-b/SHA256SUMS"; then
  echo "make reproducible: the two builds differ (< first, > second):" >&2
  diff "$first/SHA256SUMS" "$tmp/out-b/SHA256SUMS" >&2 || true
  exit 1
fi
cat "$first/SHA256SUMS"
echo "make reproducible: two builds ($PLATFORMS) in different folders, the second with an empty build cache, are byte-identical ($(($(date +%s) - start)) s)" >&2
