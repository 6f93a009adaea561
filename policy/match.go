package policy

import (
	"path"
	"strings"
)

// GlobMatch matches name against a literal or path.Match pattern,
// case-insensitively as Octopus compares names; an empty pattern matches
// everything. Transform rules and the policy file's selectors both match
// with it.
func GlobMatch(pattern, name string) bool {
	if pattern == "" {
		return true
	}
	p, n := strings.ToLower(pattern), strings.ToLower(name)
	if p == n {
		return true
	}
	ok, err := path.Match(p, n)
	return err == nil && ok
}

// SameScope reports whether two scopes (dimension → names) are equal,
// ignoring empty dimensions, order and case.
func SameScope(a, b map[string][]string) bool {
	nonEmpty := func(m map[string][]string) int {
		c := 0
		for _, v := range m {
			if len(v) > 0 {
				c++
			}
		}
		return c
	}
	if nonEmpty(a) != nonEmpty(b) {
		return false
	}
	for dim, want := range a {
		if len(want) == 0 {
			continue
		}
		got := b[dim]
		if len(got) != len(want) {
			return false
		}
		seen := map[string]bool{}
		for _, v := range got {
			seen[strings.ToLower(v)] = true
		}
		for _, v := range want {
			if !seen[strings.ToLower(v)] {
				return false
			}
		}
	}
	return true
}

// fieldMatch matches a ConflictRule.Field against the place p.
func fieldMatch(field string, p Place) bool {
	if field == "" {
		return true
	}
	segs := strings.Split(field, "/")
	for i, s := range segs {
		if s == "**" && i == len(segs)-1 {
			return true
		}
		if i >= len(p.At) {
			return false
		}
		if GlobMatch(s, p.At[i]) {
			continue
		}
		if n := p.element(i); n != "" && GlobMatch(s, n) {
			continue
		}
		return false
	}
	return len(segs) == len(p.At)
}
