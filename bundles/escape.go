package bundles

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/octobundle/octobundle/internal/limits"
)

// MaxSegment is the longest path segment (file or directory name, in bytes)
// a bundle may hold; most file systems refuse longer names.
const MaxSegment = limits.NameLength

const upperHex = "0123456789ABCDEF"

// EscapeName escapes an entity name into one path segment, reversibly
// (UnescapeName(EscapeName(s)) == s for every string s whose escape is at
// most MaxEscaped bytes; a longer one is shortened, see ShortenedSuffix). Ordinary names stay
// readable ("Restart IIS", "OctoFX", "Zürich"); these bytes become %XX
// (upper-case hex of each UTF-8 byte):
//
//   - '%' itself, '/', '\\' and the characters Windows forbids: < > : " | ? *
//   - control characters (C0, DEL, C1), invisible and format characters
//     (zero-width and bidi controls), combining marks, private-use and
//     unassigned code points, and every space character except U+0020
//   - each byte of invalid UTF-8
//   - a leading '.' (so no segment is "." or ".." or hidden), a leading
//     space, and a trailing '.' or space (which Windows strips)
//   - the first character of a Windows device name (CON, PRN, AUX, NUL,
//     COM0-9, LPT0-9, CONIN$, CONOUT$, with or without an extension, in any
//     case): "CON" → "%43ON"
//   - the first character of a name that readers skip as a well-known
//     non-bundle file (Thumbs.db, desktop.ini in any case; see Ignored):
//     "Thumbs.db" → "%54humbs.db"
//
// An escaped name longer than MaxEscaped bytes is shortened (see
// ShortenedSuffix): its first bytes, "%~" and 32 hex digits of the sha256
// of the name; the full name is the entity's name field inside the file.
//
// Case is kept: names that differ only in case escape to segments that
// collide on case-insensitive file systems, which Bundle.PutEntity reports
// as an error naming both entities. The empty name escapes to "", which is
// not a valid segment; entities always have names.
func EscapeName(name string) string {
	out := escapeWhole(name)
	if len(out) > MaxEscaped {
		out = shorten(name, out)
	}
	return out
}

// escapeWhole is EscapeName without the shortening of long names.
func escapeWhole(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	last := len(name)
	if last > 0 {
		// The last rune starts here (or the last byte, if invalid).
		_, size := utf8.DecodeLastRuneInString(name)
		last = len(name) - size
	}
	for i := 0; i < len(name); {
		r, size := utf8.DecodeRuneInString(name[i:])
		if r == utf8.RuneError && size <= 1 {
			pct(&b, name[i])
			i++
			continue
		}
		esc := mustEscape(r)
		switch {
		case i == 0 && (r == '.' || r == ' '):
			esc = true
		case i == last && (r == '.' || r == ' '):
			esc = true
		}
		if esc {
			for j := 0; j < size; j++ {
				pct(&b, name[i+j])
			}
		} else {
			b.WriteString(name[i : i+size])
		}
		i += size
	}
	out := b.String()
	if isDeviceName(out) || isIgnoredName(out) {
		out = "%" + string(upperHex[out[0]>>4]) + string(upperHex[out[0]&0xF]) + out[1:]
	}
	return out
}

// MaxEscaped is the longest escaped name kept whole in a file name: with
// the longest suffix a bundle path adds to a name (".json"), and room to
// spare, it stays within MaxSegment.
const MaxEscaped = 200

// ShortenedSuffix marks a shortened file name: an escaped name longer than
// MaxEscaped is stored as its first bytes (at most shortPrefix, cut
// between escapes and characters), ShortenedSuffix, and the first 16 bytes
// of the sha256 of the name in lower-case hex. "%~" never occurs in a
// whole escaped name ('%' is always followed by two upper-case hex
// digits), so the two forms cannot collide.
const ShortenedSuffix = "%~"

// shortPrefix is the most bytes of the escaped name a shortened file name
// keeps.
const shortPrefix = 160

// ErrShortened is the error UnescapeName returns for a shortened file name
// (see ShortenedSuffix): the name is not in the file name, but in the
// file's name field (or, for a directory, in its owner's).
var ErrShortened = errors.New("shortened file name: the full name is inside the file")

func shorten(name, esc string) string {
	cut := 0
	for i := 0; i < len(esc) && i < shortPrefix; {
		size := 1
		if esc[i] == '%' {
			size = 3
		} else if _, n := utf8.DecodeRuneInString(esc[i:]); n > 1 {
			size = n
		}
		if i+size > shortPrefix {
			break
		}
		i += size
		cut = i
	}
	sum := sha256.Sum256([]byte(name))
	return esc[:cut] + ShortenedSuffix + hex.EncodeToString(sum[:16])
}

// IsShortened reports whether seg has the form of a shortened file name
// (see ShortenedSuffix); whether it is the one of a given name is
// EscapeName(name) == seg.
func IsShortened(seg string) bool {
	i := strings.Index(seg, ShortenedSuffix)
	if i < 0 || i > shortPrefix || len(seg)-i-len(ShortenedSuffix) != 32 {
		return false
	}
	for _, c := range seg[i+len(ShortenedSuffix):] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// isIgnoredName reports whether a file or directory named seg would be
// skipped by readers (Ignored), as Thumbs.db and desktop.ini are.
func isIgnoredName(seg string) bool {
	for _, n := range ignoredNames {
		if strings.EqualFold(seg, n) {
			return true
		}
	}
	return false
}

func pct(b *strings.Builder, c byte) {
	b.WriteByte('%')
	b.WriteByte(upperHex[c>>4])
	b.WriteByte(upperHex[c&0xF])
}

func mustEscape(r rune) bool {
	switch r {
	case '%', '/', '\\', '<', '>', ':', '"', '|', '?', '*':
		return true
	case ' ':
		return false
	}
	if r < 0x20 || r == 0x7F {
		return true
	}
	if r < utf8.RuneSelf {
		return false
	}
	if unicode.IsSpace(r) || !unicode.IsGraphic(r) {
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Co, unicode.Cs, unicode.Zl, unicode.Zp, unicode.Zs) ||
		r == utf8.RuneError || r == '\uFEFF'
}

var deviceNames = map[string]bool{
	"CON": true, "PRN": true, "AUX": true, "NUL": true, "CONIN$": true, "CONOUT$": true,
	"COM¹": true, "COM²": true, "COM³": true, "LPT¹": true, "LPT²": true, "LPT³": true,
}

func init() {
	for i := '0'; i <= '9'; i++ {
		deviceNames["COM"+string(i)] = true
		deviceNames["LPT"+string(i)] = true
	}
}

// isDeviceName reports whether Windows would treat seg (or seg plus an
// extension) as a device: the part before the first '.', with trailing
// spaces removed, is a reserved name in any case.
func isDeviceName(seg string) bool {
	stem, _, _ := strings.Cut(seg, ".")
	stem = strings.TrimRight(stem, " ")
	return deviceNames[strings.ToUpper(stem)]
}

// UnescapeName reverses EscapeName. It accepts only segments EscapeName
// produces (upper-case hex, nothing escaped that need not be, nothing left
// bare that must be escaped), so every name has exactly one segment.
func UnescapeName(seg string) (string, error) {
	if IsShortened(seg) {
		return "", fmt.Errorf("file name %q: %w", seg, ErrShortened)
	}
	if !strings.Contains(seg, "%") {
		if EscapeName(seg) != seg {
			return "", fmt.Errorf("file name %q is not an escaped entity name (expected %q)", seg, EscapeName(seg))
		}
		return seg, nil
	}
	var b strings.Builder
	b.Grow(len(seg))
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(seg) {
			return "", fmt.Errorf("file name %q: truncated %%-escape", seg)
		}
		hi, ok1 := unhex(seg[i+1])
		lo, ok2 := unhex(seg[i+2])
		if !ok1 || !ok2 {
			return "", fmt.Errorf("file name %q: bad %%-escape %q (two upper-case hex digits expected)", seg, seg[i:i+3])
		}
		b.WriteByte(hi<<4 | lo)
		i += 2
	}
	name := b.String()
	if got := EscapeName(name); got != seg {
		return "", fmt.Errorf("file name %q is not canonically escaped (expected %q)", seg, got)
	}
	return name, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// foldKey maps s to a key equal for all strings that a case-insensitive file
// system treats as the same name (Unicode simple case folding).
func foldKey(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < m {
				m = f
			}
		}
		b.WriteRune(m)
	}
	return b.String()
}

// checkPath checks that p is a clean, portable, relative slash path: no
// empty, "." or ".." segment, no leading '/', no backslash, no control
// character, valid UTF-8, no segment longer than MaxSegment bytes.
func checkPath(p string) error {
	switch {
	case p == "":
		return errors.New("empty path")
	case !utf8.ValidString(p):
		return fmt.Errorf("path %q is not valid UTF-8", p)
	case strings.HasPrefix(p, "/"):
		return fmt.Errorf("path %q is absolute", p)
	case strings.Contains(p, "\\"):
		return fmt.Errorf("path %q contains a backslash", p)
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7F {
			return fmt.Errorf("path %q contains a control character", p)
		}
	}
	if len(p) >= 2 && p[1] == ':' {
		return fmt.Errorf("path %q has a drive letter", p)
	}
	for _, seg := range strings.Split(p, "/") {
		switch {
		case seg == "":
			return fmt.Errorf("path %q has an empty segment", p)
		case seg == "." || seg == "..":
			return fmt.Errorf("path %q escapes the bundle (%q segment)", p, seg)
		case len(seg) > MaxSegment:
			return &limits.Error{Subject: fmt.Sprintf("path %.300q: segment %.40q…", p, seg), Limit: "file name length", Max: MaxSegment, Unit: "bytes"}
		}
	}
	return nil
}
