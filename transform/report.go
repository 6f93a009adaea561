package transform

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// Actions a report Change records.
const (
	ActDropped    = "dropped"
	ActRenamed    = "renamed"
	ActMerged     = "merged"
	ActRescoped   = "rescoped"
	ActUnscoped   = "unscoped"
	ActOverridden = "overridden"
	ActAdded      = "added"
	ActRemoved    = "reference-removed"
	ActDest       = "left-to-destination"
	ActPolicy     = "policy"
)

// Change is one thing transform did to the bundle.
type Change struct {
	// Action is what happened (dropped, renamed, merged, rescoped, unscoped,
	// overridden, added, reference-removed, left-to-destination, policy).
	Action string `json:"action"`
	// Kind is the kind of the entity changed.
	Kind string `json:"kind,omitempty"`
	// Path is the entity's bundle path in the input bundle.
	Path string `json:"path,omitempty"`
	// Element names the part of the entity changed (a step, a value, a
	// phase), empty for the entity itself.
	Element string `json:"element,omitempty"`
	// Detail says what changed.
	Detail string `json:"detail,omitempty"`
	// Rule is the rule that caused it ("rules/prod.yaml:12"), or "default"
	// for the built-in lost-scope policy (with the rule that started the
	// cascade in Detail).
	Rule string `json:"rule,omitempty"`
	// Renamed is set when a rename rule renamed the entity before it was
	// dropped, merged or left to the destination, so the change names it
	// under both names.
	Renamed *Renamed `json:"renamed,omitempty"`
}

// Renamed records the rename of an entity that a later rule or the
// cascade then dropped, merged or left to the destination.
type Renamed struct {
	// From is the entity's own name in the input bundle.
	From string `json:"from"`
	// To is the name the rename rule gave it.
	To string `json:"to"`
	// Path is the entity's bundle path under its new name.
	Path string `json:"path"`
	// Rule is the rename rule ("rules/prod.yaml:3").
	Rule string `json:"rule"`
}

// Warning kinds (Message.Kind). StrictKinds are those --strict fails on.
const (
	// WarnUnmatched: a rule matched nothing — a typo, a renamed entity, a
	// rule in the wrong order — unless it is a guard.
	WarnUnmatched = "unmatched-rule"
)

// StrictKinds are the warning kinds that can hide a mistake: --strict
// makes them errors.
var StrictKinds = map[string]bool{WarnUnmatched: true}

// Message is a warning or error.
type Message struct {
	// Kind is a warning's kind (WarnUnmatched); empty for errors and notes.
	Kind string `json:"kind,omitempty"`
	// Rule is the rule concerned, when there is one.
	Rule string `json:"rule,omitempty"`
	// Path and Field name the entity and field concerned, when there is one.
	Path  string `json:"path,omitempty"`
	Field string `json:"field,omitempty"`
	// Text says what is wrong.
	Text string `json:"text"`
}

func (m Message) String() string {
	var parts []string
	for _, s := range []string{m.Rule, m.Path, m.Field} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	parts = append(parts, m.Text)
	return strings.Join(parts, ": ")
}

// Report is what a transform did, and what it warns about.
type Report struct {
	// Rules are the rule files applied, in order.
	Rules []string `json:"rules"`
	// Changes, in bundle order.
	Changes []Change `json:"changes"`
	// Warnings: rules that matched nothing, and the like.
	Warnings []Message `json:"warnings"`
	// Errors: what made the transform fail (dangling references, rules
	// that cannot be applied). Empty when it succeeded.
	Errors []Message `json:"errors"`
	// Notes say what a reader of the output must know that is neither a
	// change nor a problem (the input's signature does not carry over).
	Notes []Message `json:"notes,omitempty"`
	// Counts is the number of changes per action.
	Counts map[string]int `json:"counts"`
	// Digest is the output bundle's digest, when it was produced.
	Digest string `json:"digest,omitempty"`
}

func (r *Report) count() {
	r.Counts = map[string]int{}
	for _, c := range r.Changes {
		r.Counts[c.Action]++
	}
}

// WriteText writes the report for people: one line per change, then
// warnings, errors and the counts.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, c := range r.Changes {
		if c.Renamed != nil {
			fmt.Fprintf(&b, "%-20s %s (renamed from %q by %s)", c.Action, c.Renamed.Path, c.Renamed.From, c.Renamed.Rule)
		} else {
			fmt.Fprintf(&b, "%-20s %s", c.Action, c.Path)
		}
		if c.Element != "" {
			fmt.Fprintf(&b, " %s", c.Element)
		}
		if c.Detail != "" {
			fmt.Fprintf(&b, ": %s", c.Detail)
		}
		if c.Rule != "" {
			fmt.Fprintf(&b, "  (%s)", c.Rule)
		}
		b.WriteByte('\n')
	}
	for _, m := range r.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", m)
	}
	for _, m := range r.Errors {
		fmt.Fprintf(&b, "error: %s\n", m)
	}
	for _, m := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", m)
	}
	acts := make([]string, 0, len(r.Counts))
	for a := range r.Counts {
		acts = append(acts, a)
	}
	sort.Strings(acts)
	var counts []string
	for _, a := range acts {
		counts = append(counts, fmt.Sprintf("%s %d", a, r.Counts[a]))
	}
	if len(counts) == 0 {
		counts = []string{"no changes"}
	}
	fmt.Fprintf(&b, "%s; %d warning(s), %d error(s)\n", strings.Join(counts, ", "), len(r.Warnings), len(r.Errors))
	if r.Digest != "" {
		fmt.Fprintf(&b, "output %s\n", r.Digest)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
