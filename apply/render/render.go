// Package render shows apply's documents to people: the plan, the receipt
// and the drift report as text (the views; their JSON forms are the file
// formats of package plans). It decides nothing: every line it writes is
// read off the document.
package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/schema"
)

// maxValue bounds a value printed in a text diff.
const maxValue = 160

// Plan writes the plan p for a human: one line per entity that changes
// ("+ create", "~ update" with its fields before → after and "- " for the
// entries --prune removes, "- delete", "! left alone", "x error"),
// unchanged entities summarised per kind, a "· " line per decision of the
// bundle's apply policy or the registry's scope-mismatch defaults (a
// variable value skipped, rescoped or left alone, and the rule), a
// "warning: " line per problem of the destination as read (Plan.Warnings),
// the clean-up items and a summary line.
//
// A plan that changes nothing starts with "No changes." and a count of
// what is unchanged and left alone, instead of a line per entity (see
// PlanVerbose).
func Plan(w io.Writer, p *plans.Plan) error { return PlanVerbose(w, p, false) }

// PlanVerbose is Plan; with verbose, a plan that changes nothing
// lists every entity left alone or unchanged with a note, as a plan with
// changes always does.
func PlanVerbose(w io.Writer, p *plans.Plan, verbose bool) error {
	var b strings.Builder
	quiet := !verbose && p.NoChanges()
	if quiet {
		fmt.Fprintf(&b, "No changes. %s\n", quietCounts(p.Summary[plans.OpNoOp], p.Summary[plans.OpLeftAlone], "--verbose"))
	}
	fmt.Fprintf(&b, "Plan for bundle %s\n", p.BundleDigest)
	fmt.Fprintf(&b, "Destination: %s, space %q, Octopus %s\n", p.Destination.Server, p.Destination.Space, p.Destination.ServerVersion)
	if p.Mode != "" {
		fmt.Fprintf(&b, "Merge: %s (%s)\n", p.Mode, p.ModeReason)
	}
	if p.Rollback != "" {
		fmt.Fprintf(&b, "%s (--allow-rollback)\n", p.Rollback)
	}
	if fl := flagLine(p.Flags); fl != "" {
		fmt.Fprintf(&b, "Flags: %s\n", fl)
	}
	if !quiet {
		b.WriteString("\n")
	}
	unchanged := map[string]int{}
	for _, ch := range p.Changes {
		if quiet && len(ch.Conflicts) == 0 {
			continue // a conflict is shown even when nothing changes
		}
		name := quoteNames(ch.Names)
		switch ch.Action {
		case plans.OpCreate:
			fmt.Fprintf(&b, "+ create  %s %s\n", ch.Kind, name)
			writeReason(&b, ch.Reason)
			writeNotes(&b, ch.Notes)
		case plans.OpUpdate:
			fmt.Fprintf(&b, "~ update  %s %s\n", ch.Kind, name)
			writeReason(&b, ch.Reason)
			writeNotes(&b, ch.Notes)
			writeConflicts(&b, ch.Conflicts)
			for _, d := range ch.Diff {
				writeFieldDiff(&b, d)
			}
		case plans.OpKeep:
			fmt.Fprintf(&b, "! keep  %s %s\n", ch.Kind, name)
			writeReason(&b, ch.Reason)
		case plans.OpLeftAlone:
			reason := ch.Reason
			if reason == "" {
				reason = "destination owns its details"
			}
			fmt.Fprintf(&b, "! left alone  %s %s (%s", ch.Kind, name, reason)
			if len(ch.Diff) > 0 {
				fmt.Fprintf(&b, "; %s: %s", fieldsDiffer(len(ch.Diff)), diffPaths(ch.Diff, 4))
			}
			b.WriteString(")\n")
			writeNotes(&b, ch.Notes)
		case plans.OpDelete:
			fmt.Fprintf(&b, "- delete  %s %s\n", ch.Kind, name)
			writeReason(&b, ch.Reason)
		case plans.OpError:
			fmt.Fprintf(&b, "x error   %s %s\n      %s\n", ch.Kind, name, ch.Error)
			writeConflicts(&b, ch.Conflicts)
		case plans.OpNoOp:
			unchanged[schema.MustLookup(ch.Kind).Title]++
			if ch.Reason != "" || len(ch.Notes) > 0 || len(ch.Conflicts) > 0 {
				fmt.Fprintf(&b, "= unchanged  %s %s\n", ch.Kind, name)
				writeReason(&b, ch.Reason)
				writeNotes(&b, ch.Notes)
				writeConflicts(&b, ch.Conflicts)
			}
		}
	}
	if len(unchanged) > 0 && !quiet {
		var parts []string
		n := 0
		for _, t := range slices.Sorted(maps.Keys(unchanged)) {
			parts = append(parts, fmt.Sprintf("%d %s", unchanged[t], t))
			n += unchanged[t]
		}
		fmt.Fprintf(&b, "= unchanged  %d entities (%s)\n", n, strings.Join(parts, ", "))
	}
	for _, n := range p.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	for _, w := range p.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", w)
	}
	if len(p.Cleanup) > 0 {
		fmt.Fprintf(&b, "\nClean-up after apply: apply will write %d placeholders, to be replaced\n", len(p.Cleanup))
		writeCleanup(&b, p.Cleanup)
	}
	if len(p.Leftover) > 0 {
		fmt.Fprintf(&b, "\nStill on the destination from earlier applies: %d placeholders to replace\n", len(p.Leftover))
		writeCleanup(&b, p.Leftover)
	}
	fmt.Fprintf(&b, "\nPlan: %d to create, %d to update, ", p.Summary[plans.OpCreate], p.Summary[plans.OpUpdate])
	if n := p.Summary[plans.OpDelete]; n > 0 {
		fmt.Fprintf(&b, "%d to delete, ", n)
	}
	if n := p.Summary[plans.OpKeep]; n > 0 {
		fmt.Fprintf(&b, "%d deleted at source and kept, ", n)
	}
	fmt.Fprintf(&b, "%d unchanged, %d left alone, %d errors.\n", p.Summary[plans.OpNoOp], p.Summary[plans.OpLeftAlone], p.Summary[plans.OpError])
	_, err := io.WriteString(w, b.String())
	return err
}

// quietCounts is the line a run that changes nothing prints after "No
// changes.": how many entities are as the bundle asks, and how many differ
// where the destination owns the details.
func quietCounts(unchanged, leftAlone int, lister string) string {
	s := fmt.Sprintf("The destination is as the bundle asks: %d unchanged", unchanged)
	if leftAlone > 0 {
		s += fmt.Sprintf("; %d left alone (the destination owns their details; %s lists them)", leftAlone, lister)
	}
	return s + "."
}

// flagLine renders the flags a plan was made with as a command line would
// ("--prune --on-conflict=source"), the always-recorded state folder and
// the rule digests left out; "" when none.
func flagLine(flags map[string][]string) string {
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(flags)) {
		if name == "state" || name == "rules-sha256" {
			continue
		}
		for _, v := range flags[name] {
			if v == "true" {
				parts = append(parts, "--"+name)
			} else {
				parts = append(parts, "--"+name+"="+v)
			}
		}
	}
	return strings.Join(parts, " ")
}

func quoteNames(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, "/")
}

// writeConflicts writes a change's merge conflicts with both sides.
func writeConflicts(b *strings.Builder, cs []plans.Conflict) {
	for _, c := range cs {
		fmt.Fprintf(b, "      ⚡ conflict %s: base %s, source %s, destination %s → %s (%s)\n", c.Field, plans.Show(c.Base), plans.Show(c.Source), plans.Show(c.Destination), c.Resolution, c.Rule)
	}
}

// writeNotes writes a change's policy decisions, one per line.
func writeNotes(b *strings.Builder, notes []string) {
	for _, n := range notes {
		fmt.Fprintf(b, "      · %s\n", n)
	}
}

func writeReason(b *strings.Builder, reason string) {
	if reason != "" {
		fmt.Fprintf(b, "      (%s)\n", reason)
	}
}

func writeFieldDiff(b *strings.Builder, d plans.FieldDiff) {
	l := diffLabel(d)
	switch {
	case d.Before == nil:
		fmt.Fprintf(b, "      + %s%s\n", l, summary(d.After))
	case d.After == nil:
		fmt.Fprintf(b, "      - %s%s\n", l, summary(d.Before))
	default:
		fmt.Fprintf(b, "      ~ %s: %s → %s\n", l, short(d.Before), short(d.After))
	}
}

// diffLabel is the readable place of a field diff.
func diffLabel(d plans.FieldDiff) string {
	if d.Label != "" {
		return d.Label
	}
	if d.Path == "" || d.Path == "/" {
		return "(the whole document)"
	}
	return d.Path
}

// diffPaths lists the places of up to max field diffs.
func diffPaths(ds []plans.FieldDiff, max int) string {
	var ps []string
	for i, d := range ds {
		if i == max {
			ps = append(ps, fmt.Sprintf("… %d more", len(ds)-max))
			break
		}
		ps = append(ps, diffLabel(d))
	}
	return strings.Join(ps, ", ")
}

// fieldsDiffer is "1 field differs", "3 fields differ".
func fieldsDiffer(n int) string {
	if n == 1 {
		return "1 field differs"
	}
	return fmt.Sprintf("%d fields differ", n)
}

// maxInline bounds an added or removed value shown in full.
const maxInline = 100

// summary renders an added or removed value after its label, on one line:
// a step by its actions, an action by its type, a variable by its value, a
// scoped user role by its scope, a secret as (sensitive), other values in full when short and by
// their number of fields otherwise. The JSON plan keeps the full value.
func summary(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return ": " + short(v)
	}
	if schema.IsSensitiveValue(m) {
		return " (sensitive)"
	}
	if acts, ok := m["Actions"].([]any); ok {
		var types []string
		for _, a := range acts {
			if am, ok := a.(map[string]any); ok {
				if t, ok := am["ActionType"].(string); ok && !containsString(types, t) {
					types = append(types, t)
				}
			}
		}
		n := "actions"
		if len(acts) == 1 {
			n = "action"
		}
		return fmt.Sprintf(" (%d %s: %s)", len(acts), n, strings.Join(types, ", "))
	}
	if t, ok := m["ActionType"].(string); ok {
		return " (" + t + ")"
	}
	if _, ok := m["UserRoleId"]; ok {
		var parts []string
		for _, f := range []string{"EnvironmentIds", "ProjectIds", "ProjectGroupIds", "TenantIds"} {
			if l, _ := m[f].([]any); len(l) > 0 {
				parts = append(parts, fmt.Sprintf("%s: %s", strings.TrimSuffix(f, "Ids")+"s", joinAny(l)))
			}
		}
		if len(parts) == 0 {
			return " (unscoped)"
		}
		return " (" + strings.Join(parts, "; ") + ")"
	}
	if sens, isVar := schema.SensitiveFlag(m); isVar {
		if sens {
			return " (sensitive)"
		}
		return ": " + short(m["Value"])
	}
	if s := short(v); len(s) <= maxInline {
		return ": " + s
	}
	if len(m) == 1 {
		return " (1 field)"
	}
	return fmt.Sprintf(" (%d fields)", len(m))
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func joinAny(l []any) string {
	out := make([]string, len(l))
	for i, x := range l {
		out[i] = fmt.Sprint(x)
	}
	return strings.Join(out, ", ")
}

// short renders a value compactly on one line.
func short(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	s := strings.TrimSpace(buf.String())
	if len(s) > maxValue {
		s = s[:maxValue] + "…"
	}
	return s
}

func writeCleanup(b *strings.Builder, items []plans.CleanupItem) {
	for _, it := range items {
		fmt.Fprintf(b, "  - %s %s: %s\n      %s\n", it.Kind, quoteNames(it.Names), it.Field, it.Why)
	}
}

// Receipt writes the receipt r for a human: every entity that was
// created, updated, failed or skipped, unchanged and left-alone entities
// counted, the clean-up report and the status. An apply that wrote
// nothing and failed nowhere starts with "No changes.".
func Receipt(w io.Writer, r *plans.Receipt) error {
	var b strings.Builder
	noop := r.Summary[plans.OutcomeUnchanged]+r.Summary[plans.OutcomeLeftAlone] == len(r.Results) && len(r.Cleanup) == 0
	if noop {
		fmt.Fprintf(&b, "No changes. %s\n", quietCounts(r.Summary[plans.OutcomeUnchanged], r.Summary[plans.OutcomeLeftAlone], "plan --verbose"))
	}
	if r.Rollback != "" {
		fmt.Fprintf(&b, "%s (--allow-rollback)\n", r.Rollback)
	}
	quiet := map[plans.Outcome]int{}
	for _, res := range r.Results {
		switch res.Outcome {
		case plans.OutcomeUnchanged, plans.OutcomeLeftAlone:
			quiet[res.Outcome]++
		case plans.OutcomeCreated:
			fmt.Fprintf(&b, "+ created  %s %s\n", res.Kind, quoteNames(res.Names))
			writeReason(&b, res.Note)
		case plans.OutcomeUpdated:
			fmt.Fprintf(&b, "~ updated  %s %s\n", res.Kind, quoteNames(res.Names))
			writeReason(&b, res.Note)
		case plans.OutcomeFailed:
			fmt.Fprintf(&b, "x failed   %s %s\n      %s\n", res.Kind, quoteNames(res.Names), res.Error)
		case plans.OutcomeDeleted:
			fmt.Fprintf(&b, "- deleted  %s %s\n", res.Kind, quoteNames(res.Names))
		case plans.OutcomeSkipped:
			fmt.Fprintf(&b, "- skipped  %s %s (%s)\n", res.Kind, quoteNames(res.Names), res.Error)
		}
	}
	if !noop && quiet[plans.OutcomeUnchanged]+quiet[plans.OutcomeLeftAlone] > 0 {
		fmt.Fprintf(&b, "= %d unchanged, %d left alone (destination owns their details)\n", quiet[plans.OutcomeUnchanged], quiet[plans.OutcomeLeftAlone])
	}
	if len(r.Cleanup) > 0 {
		fmt.Fprintf(&b, "\nClean-up report: %d placeholders written, replace them\n", len(r.Cleanup))
		writeCleanup(&b, r.Cleanup)
	}
	deleted := ""
	if n := r.Summary[plans.OutcomeDeleted]; n > 0 {
		deleted = fmt.Sprintf("%d deleted, ", n)
	}
	fmt.Fprintf(&b, "\nApply %s: %d created, %d updated, %s%d unchanged, %d left alone, %d failed, %d skipped (%d requests, %d writes, %d retries).\n",
		r.Status(), r.Summary[plans.OutcomeCreated], r.Summary[plans.OutcomeUpdated], deleted, r.Summary[plans.OutcomeUnchanged], r.Summary[plans.OutcomeLeftAlone], r.Summary[plans.OutcomeFailed], r.Summary[plans.OutcomeSkipped],
		r.Stats.Requests, r.Stats.Writes, r.Stats.Retries)
	_, err := io.WriteString(w, b.String())
	return err
}

// Drift writes the drift report for people: each entity changed or
// deleted on the destination, its fields before → after, and a summary.
func Drift(w io.Writer, r *plans.DriftReport) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Drift of %s, space %q, since octobundle last wrote it\n\n", r.Destination.Server, r.Destination.Space)
	for _, e := range r.Entities {
		name := quoteNames(e.Names)
		if e.Deleted {
			fmt.Fprintf(&b, "- deleted  %s %s\n", e.Kind, name)
			continue
		}
		fmt.Fprintf(&b, "~ changed  %s %s\n", e.Kind, name)
		for _, d := range e.Diff {
			writeFieldDiff(&b, d)
		}
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", w)
	}
	if !r.HasDrift() {
		fmt.Fprintf(&b, "No drift: the %d entities octobundle wrote are as it left them.\n", r.Checked)
	} else {
		fmt.Fprintf(&b, "\nDrift: %d of %d entities changed on the destination.\n", len(r.Entities), r.Checked)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
