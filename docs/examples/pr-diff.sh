#!/bin/sh
# pr-diff.sh BASE_REF BUNDLE_DIR [OUT.md]
#
# The review step of a pull request that changes a bundle committed to git:
# verifies the bundle in the work tree (BUNDLE_DIR, relative to the
# repository root), extracts the same folder as it is at BASE_REF (the
# target branch), and writes `octobundle diff --output markdown` of the two
# to OUT.md (default octobundle-diff.md), ready to post as a comment.
# Prints "changed" or "unchanged"; exits non-zero only on errors.
set -eu
base=$1
dir=${2%/}
out=${3:-octobundle-diff.md}

octobundle verify "$dir" >/dev/null

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# git archive writes the committed bytes (the bundle's .gitattributes says
# "* -text", so no line ending is converted).
if git cat-file -e "$base:$dir/manifest.json" 2>/dev/null; then
  git archive --format=tar "$base" "$dir" | tar -x -C "$tmp"
  old="$tmp/$dir"
else
  # A new bundle: compare with an empty one, so everything shows as added.
  old=""
fi

if [ -z "$old" ]; then
  {
    echo "## octobundle diff"
    echo
    echo "\`$dir\` is a new bundle (not on \`$base\`)."
    echo
    echo '```'
    octobundle inspect "$dir"
    echo '```'
  } >"$out"
  echo changed
  exit 0
fi

set +e
octobundle diff --output markdown "$old" "$dir" >"$out"
rc=$?
set -e
case $rc in
  0) echo unchanged ;;
  2) echo changed ;;
  *) exit "$rc" ;;
esac
