package bundles

import (
	"fmt"
	"sort"
	"strings"
)

// GitAttributesFile is the git attributes file Write puts in a new bundle
// directory (and in an existing one that has none). It is not a bundle
// file: it is not listed in checksums.txt, not packed into archives, and
// readers ignore it.
const GitAttributesFile = ".gitattributes"

// GitAttributes is the content of GitAttributesFile: no end-of-line
// conversion for any file of the bundle, so a checkout with
// core.autocrlf=true (the Windows default) keeps the bytes the checksums
// cover.
const GitAttributes = "# Written by octobundle: bundle files are checksummed byte for byte;\n# git must not convert their line endings (core.autocrlf).\n* -text\n"

// ignoredNames are well-known files that are not part of a bundle but that
// git, macOS, Windows Explorer put into folders; readers skip them (at any
// depth) and say so at debug level.
var ignoredNames = []string{".gitattributes", ".DS_Store", "Thumbs.db", "desktop.ini"}

// Ignored reports whether the bundle-relative path p is a well-known
// non-bundle file that readers skip: anything in a .git directory (or a
// .git file, as in git worktrees and submodules), .gitattributes,
// .DS_Store, Thumbs.db and desktop.ini, at any depth (names compared
// case-insensitively, as Windows and macOS do). Any other file that is not
// part of the layout remains an error.
func Ignored(p string) bool {
	segs := strings.Split(p, "/")
	for _, s := range segs {
		if strings.EqualFold(s, ".git") {
			return true
		}
	}
	base := segs[len(segs)-1]
	for _, n := range ignoredNames {
		if strings.EqualFold(base, n) {
			return true
		}
	}
	return false
}

// crlfError is the error for the bundle files crlf (in any order), which
// have CRLF line endings, or nil when there are none. octobundle never
// writes a carriage return (canonical JSON escapes it inside strings), so
// CRLF means that something — git with core.autocrlf=true, usually —
// converted the files after export.
func crlfError(crlf []string) error {
	if len(crlf) == 0 {
		return nil
	}
	sort.Strings(crlf)
	which := crlf[0]
	if n := len(crlf) - 1; n == 1 {
		which += " and 1 other file"
	} else if n > 1 {
		which += fmt.Sprintf(" and %d other files", n)
	}
	return fmt.Errorf("%s: CRLF (Windows) line endings; octobundle writes \"\\n\" only, so the files were converted after export, "+
		"usually by a git checkout with core.autocrlf=true. Fix: put a %s with the line \"* -text\" in the bundle folder "+
		"(octobundle export writes one), commit it, and check the files out again "+
		"(rm -r BUNDLE && git checkout HEAD -- BUNDLE); or clone with core.autocrlf=false", which, GitAttributesFile)
}
