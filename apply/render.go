package apply

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/limits"
	"github.com/octobundle/octobundle/schema"
)

// maxValue bounds a value printed in a text diff.
const maxValue = 160

// WriteText writes the plan for a human: one line per entity that changes
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
// WriteTextVerbose).
func (p *Plan) WriteText(w io.Writer) error { return p.WriteTextVerbose(w, false) }

// NoChanges reports whether executing the plan would write nothing: no
// entity to create, update or delete, none kept against the source's
// deletion, no error and no placeholder to write.
func (p *Plan) NoChanges() bool { return !p.Differs() && !p.HasErrors() && len(p.Cleanup) == 0 }

// WriteTextVerbose is WriteText; with verbose, a plan that changes nothing
// lists every entity left alone or unchanged with a note, as a plan with
// changes always does.
func (p *Plan) WriteTextVerbose(w io.Writer, verbose bool) error {
	var b strings.Builder
	quiet := !verbose && p.NoChanges()
	if quiet {
		fmt.Fprintf(&b, "No changes. %s\n", quietCounts(p.Summary[OpNoOp], p.Summary[OpLeftAlone], "--verbose"))
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
		case OpCreate:
			fmt.Fprintf(&b, "+ create  %s %s\n", ch.Kind, name)
			writeReason(&b, ch.Reason)
			writeNotes(&b, ch.Notes)
		case OpUpdate:
			fmt.Fprintf(&b, "~ update  %s %s\n", ch.Kind, name)
			writeReason(&b, ch.Reason)
			writeNotes(&b, ch.Notes)
			writeConflicts(&b, ch.Conflicts)
			for _, d := range ch.Diff {
				writeFieldDiff(&b, d)
			}
		case OpKeep:
			fmt.Fprintf(&b, "! keep  %s %s\n", ch.Kind, name)
			writeReason(&b, ch.Reason)
		case OpLeftAlone:
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
		case OpDelete:
			fmt.Fprintf(&b, "- delete  %s %s\n", ch.Kind, name)
			writeReason(&b, ch.Reason)
		case OpError:
			fmt.Fprintf(&b, "x error   %s %s\n      %s\n", ch.Kind, name, ch.Error)
			writeConflicts(&b, ch.Conflicts)
		case OpNoOp:
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
	fmt.Fprintf(&b, "\nPlan: %d to create, %d to update, ", p.Summary[OpCreate], p.Summary[OpUpdate])
	if n := p.Summary[OpDelete]; n > 0 {
		fmt.Fprintf(&b, "%d to delete, ", n)
	}
	if n := p.Summary[OpKeep]; n > 0 {
		fmt.Fprintf(&b, "%d deleted at source and kept, ", n)
	}
	fmt.Fprintf(&b, "%d unchanged, %d left alone, %d errors.\n", p.Summary[OpNoOp], p.Summary[OpLeftAlone], p.Summary[OpError])
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
func writeConflicts(b *strings.Builder, cs []Conflict) {
	for _, c := range cs {
		fmt.Fprintf(b, "      ⚡ conflict %s: base %s, source %s, destination %s → %s (%s)\n", c.Field, show(c.Base), show(c.Source), show(c.Destination), c.Resolution, c.Rule)
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

func writeFieldDiff(b *strings.Builder, d FieldDiff) {
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
func diffLabel(d FieldDiff) string {
	if d.Label != "" {
		return d.Label
	}
	if d.Path == "" || d.Path == "/" {
		return "(the whole document)"
	}
	return d.Path
}

// diffPaths lists the places of up to max field diffs.
func diffPaths(ds []FieldDiff, max int) string {
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

func writeCleanup(b *strings.Builder, items []CleanupItem) {
	for _, it := range items {
		fmt.Fprintf(b, "  - %s %s: %s\n      %s\n", it.Kind, quoteNames(it.Names), it.Field, it.Why)
	}
}

// WriteJSON writes the plan as JSON (PlanFormat), valid against the
// embedded plan.schema.json; ReadPlan reads it back for Execute.
func (p *Plan) WriteJSON(w io.Writer) error {
	data, err := json.Marshal(p)
	if err != nil {
		return err
	}
	doc, err := bundles.Decode(data)
	if err != nil {
		return err
	}
	if err := schema.Validate(PlanSchema, doc); err != nil {
		return fmt.Errorf("apply: the plan does not match its schema: %w", err)
	}
	out, err := bundles.Canonical(doc)
	if err != nil {
		return err
	}
	_, err = w.Write(out)
	return err
}

// ReadPlan reads a plan written by WriteJSON, validating it against the
// plan schema. A plan larger than limits.PlanFileSize, or nested deeper than
// limits.JSONDepth, is refused with a *limits.Error.
func ReadPlan(r io.Reader) (*Plan, error) { return readPlan(r, limits.PlanFileSize) }

// readPlan is ReadPlan with the size limit max.
func readPlan(r io.Reader, max int64) (*Plan, error) {
	data, err := limits.ReadAll(r, max, "apply: reading the plan", "plan file size")
	if err != nil {
		return nil, err
	}
	doc, err := bundles.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("apply: reading the plan: %w", err)
	}
	if m, ok := doc.(map[string]any); ok && m["format"] != PlanFormat {
		return nil, fmt.Errorf("apply: not a plan of format %s (format %v)", PlanFormat, m["format"])
	}
	if err := schema.Validate(PlanSchema, doc); err != nil {
		return nil, fmt.Errorf("apply: reading the plan: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var p Plan
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("apply: reading the plan: %w", err)
	}
	for i := range p.Changes {
		if schema.Lookup(p.Changes[i].Kind) == nil {
			return nil, fmt.Errorf("apply: the plan names an unknown kind %q", p.Changes[i].Kind)
		}
	}
	if p.Summary == nil {
		p.Summary = map[Op]int{}
	}
	return &p, nil
}

// WriteText writes the receipt for a human: every entity that was
// created, updated, failed or skipped, unchanged and left-alone entities
// counted, the clean-up report and the status. An apply that wrote
// nothing and failed nowhere starts with "No changes.".
func (r *Receipt) WriteText(w io.Writer) error {
	var b strings.Builder
	noop := r.Summary[OutcomeUnchanged]+r.Summary[OutcomeLeftAlone] == len(r.Results) && len(r.Cleanup) == 0
	if noop {
		fmt.Fprintf(&b, "No changes. %s\n", quietCounts(r.Summary[OutcomeUnchanged], r.Summary[OutcomeLeftAlone], "plan --verbose"))
	}
	if r.Rollback != "" {
		fmt.Fprintf(&b, "%s (--allow-rollback)\n", r.Rollback)
	}
	quiet := map[Outcome]int{}
	for _, res := range r.Results {
		switch res.Outcome {
		case OutcomeUnchanged, OutcomeLeftAlone:
			quiet[res.Outcome]++
		case OutcomeCreated:
			fmt.Fprintf(&b, "+ created  %s %s\n", res.Kind, quoteNames(res.Names))
			writeReason(&b, res.Note)
		case OutcomeUpdated:
			fmt.Fprintf(&b, "~ updated  %s %s\n", res.Kind, quoteNames(res.Names))
			writeReason(&b, res.Note)
		case OutcomeFailed:
			fmt.Fprintf(&b, "x failed   %s %s\n      %s\n", res.Kind, quoteNames(res.Names), res.Error)
		case OutcomeDeleted:
			fmt.Fprintf(&b, "- deleted  %s %s\n", res.Kind, quoteNames(res.Names))
		case OutcomeSkipped:
			fmt.Fprintf(&b, "- skipped  %s %s (%s)\n", res.Kind, quoteNames(res.Names), res.Error)
		}
	}
	if !noop && quiet[OutcomeUnchanged]+quiet[OutcomeLeftAlone] > 0 {
		fmt.Fprintf(&b, "= %d unchanged, %d left alone (destination owns their details)\n", quiet[OutcomeUnchanged], quiet[OutcomeLeftAlone])
	}
	if len(r.Cleanup) > 0 {
		fmt.Fprintf(&b, "\nClean-up report: %d placeholders written, replace them\n", len(r.Cleanup))
		writeCleanup(&b, r.Cleanup)
	}
	deleted := ""
	if n := r.Summary[OutcomeDeleted]; n > 0 {
		deleted = fmt.Sprintf("%d deleted, ", n)
	}
	fmt.Fprintf(&b, "\nApply %s: %d created, %d updated, %s%d unchanged, %d left alone, %d failed, %d skipped (%d requests, %d writes, %d retries).\n",
		r.Status(), r.Summary[OutcomeCreated], r.Summary[OutcomeUpdated], deleted, r.Summary[OutcomeUnchanged], r.Summary[OutcomeLeftAlone], r.Summary[OutcomeFailed], r.Summary[OutcomeSkipped],
		r.Stats.Requests, r.Stats.Writes, r.Stats.Retries)
	_, err := io.WriteString(w, b.String())
	return err
}

// receiptJSON is the JSON form of a receipt, with its status.
type receiptJSON struct {
	Status Status `json:"status"`
	*Receipt
}

// ReceiptSchema is the name of the embedded JSON Schema receipts written by
// Receipt.WriteJSON validate against (see schema.Validate).
const ReceiptSchema = "receipt.schema.json"

// CleanupReportSchema is the name of the embedded JSON Schema clean-up
// reports written by Receipt.WriteCleanupJSON validate against.
const CleanupReportSchema = "cleanup-report.schema.json"

// WriteJSON writes the receipt as JSON, with its status, valid against the
// embedded receipt.schema.json (checked before anything is written).
func (r *Receipt) WriteJSON(w io.Writer) error {
	out := *r
	if out.Results == nil {
		out.Results = []Result{}
	}
	if out.Cleanup == nil {
		out.Cleanup = []CleanupItem{}
	}
	if out.Summary == nil {
		out.Summary = map[Outcome]int{}
	}
	return writeValidated(w, ReceiptSchema, receiptJSON{Status: r.Status(), Receipt: &out})
}

// WriteCleanupJSON writes the clean-up report alone as JSON: what, where and
// why of every placeholder written — never a value —, valid against the
// embedded cleanup-report.schema.json (checked before anything is written).
func (r *Receipt) WriteCleanupJSON(w io.Writer) error {
	// A copy, never nil: an empty report is "cleanup": [], not null.
	sorted := append(make([]CleanupItem, 0, len(r.Cleanup)), r.Cleanup...)
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if x, y := strings.Join(a.Names, "/"), strings.Join(b.Names, "/"); x != y {
			return x < y
		}
		return a.Field < b.Field
	})
	doc := map[string]any{"cleanup": sorted}
	if r.BundleDigest != "" {
		doc["destination"] = map[string]string{"server": r.Destination.Server, "space": r.Destination.Space}
		doc["bundleDigest"] = r.BundleDigest
		doc["finished"] = r.Finished.Format(time.RFC3339)
	}
	return writeValidated(w, CleanupReportSchema, doc)
}

// writeValidated writes v as indented JSON once it validates against the
// embedded schema named name; an invalid document is an error and nothing is
// written.
func writeValidated(w io.Writer, name string, v any) error {
	var buf bytes.Buffer
	if err := writeIndented(&buf, v); err != nil {
		return err
	}
	doc, err := bundles.Decode(buf.Bytes())
	if err != nil {
		return err
	}
	if err := schema.Validate(name, doc); err != nil {
		return fmt.Errorf("apply: the output does not match %s: %w", name, err)
	}
	_, err = w.Write(buf.Bytes())
	return err
}

func writeIndented(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
