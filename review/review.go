// Package review compares two bundles for people: what an export, a
// transform or a pull request changed, entity by entity, with changed fields
// labelled by the identities the plan uses (`Steps["Deploy Web"]`,
// `Variables["Db" Environment=Production]`) and long text fields (scripts)
// as unified line diffs. It renders the comparison as text (optionally
// coloured), as Markdown fit for a pull-request comment, and as JSON.
//
// Only content counts: manifest timestamps, the tool version, the digest
// and counts, and the order of sets (stored sorted) are never differences.
// The apply policy (apply-policy.json) and the manifest's Rules and Projects
// are content.
package review

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/schema"
)

// Operations of an EntityChange and of a Field.
const (
	// Added: only in the new bundle.
	Added = "added"
	// Removed: only in the old bundle.
	Removed = "removed"
	// Changed: in both, different.
	Changed = "changed"
	// Renamed: a named element whose name changed and nothing else (Before
	// and After are the old and new names).
	Renamed = "renamed"
	// Reordered: a sequence of named elements (steps, phases) whose order
	// changed (Before and After list the names in order).
	Reordered = "reordered"
)

// PolicyKind is the Kind of the EntityChange for apply-policy.json.
const PolicyKind = "ApplyPolicy"

// AttachedKind is the Kind of the EntityChange for an attached file of a
// release bundle (attached/release.json, a package file).
const AttachedKind = "Attached"

// ManifestKind is the Kind of the EntityChange for the manifest's content
// fields (Rules, Projects, Kind).
const ManifestKind = "Manifest"

// Side describes one of the two bundles compared.
type Side struct {
	// Path is the bundle as given (directory or archive).
	Path string `json:"path"`
	// Digest is the bundle digest.
	Digest string `json:"digest"`
	// Server is the manifest's Source.Server.
	Server string `json:"server"`
	// ServerVersion is the manifest's Source.ServerVersion.
	ServerVersion string `json:"serverVersion"`
	// Space is the manifest's Source.Space.
	Space string `json:"space"`
	// ExportedAt is the manifest's export time.
	ExportedAt time.Time `json:"exportedAt"`
}

// Field is one difference inside an entity.
type Field struct {
	// Op is Added, Removed, Changed, Renamed or Reordered.
	Op string `json:"op"`
	// Path is a JSON pointer (into the new document; into the old one for
	// removed elements).
	Path string `json:"path"`
	// Label is the place for people (see bundles.LabelPath).
	Label string `json:"label"`
	// Before is the old value (absent when added).
	Before any `json:"before,omitempty"`
	// After is the new value (absent when removed).
	After any `json:"after,omitempty"`
	// Diff is a unified line diff of Before and After for long or
	// multi-line text (scripts); empty otherwise.
	Diff string `json:"diff,omitempty"`
}

// EntityChange is one entity file (or the policy, or the manifest's
// content) that differs.
type EntityChange struct {
	// Op is Added, Removed or Changed.
	Op string `json:"op"`
	// Kind is the registry kind name, PolicyKind or ManifestKind.
	Kind string `json:"kind"`
	// Names are the entity's names, owners first.
	Names []string `json:"names,omitempty"`
	// Path is the bundle path.
	Path string `json:"path"`
	// Project is the project the entity belongs to ("" for space-wide
	// entities).
	Project string `json:"project,omitempty"`
	// Fields are the differences of a changed entity.
	Fields []Field `json:"fields,omitempty"`

	order int
}

// Title names the entity for people: `DeploymentProcess "OctoFX"`,
// `Runbook "OctoFX"/"Restart IIS"`, `apply policy`.
func (e EntityChange) Title() string {
	switch e.Kind {
	case PolicyKind:
		return "apply policy"
	case ManifestKind:
		return "manifest"
	case AttachedKind:
		return e.Path
	}
	q := make([]string, len(e.Names))
	for i, n := range e.Names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return e.Kind + " " + strings.Join(q, "/")
}

// Count is the number of added, removed and changed entities of a kind.
type Count struct {
	// Added is the number of entities only in the new bundle.
	Added int `json:"added"`
	// Removed is the number of entities only in the old bundle.
	Removed int `json:"removed"`
	// Changed is the number of entities in both, with different content.
	Changed int `json:"changed"`
}

// Report is the comparison of two bundles.
type Report struct {
	// Old is the first bundle compared.
	Old Side `json:"old"`
	// New is the second bundle compared.
	New Side `json:"new"`
	// Equal reports that the bundles have the same content.
	Equal bool `json:"equal"`
	// Summary counts the changes per kind.
	Summary map[string]Count `json:"summary"`
	// Changes are the differences, in sync order (kind order, then path).
	Changes []EntityChange `json:"changes"`
}

// Compare compares bundle a (old, read from pathA) with b (new).
func Compare(pathA string, a *bundles.Bundle, pathB string, b *bundles.Bundle) *Report {
	r := &Report{Old: side(pathA, a), New: side(pathB, b), Summary: map[string]Count{}, Changes: []EntityChange{}}
	am, bm := map[string]bundles.Entry{}, map[string]bundles.Entry{}
	// Entities are listed without their documents; a document is decoded
	// only where the packed forms differ.
	for _, e := range a.Catalog() {
		am[e.Path] = e
	}
	for _, e := range b.Catalog() {
		bm[e.Path] = e
	}
	for _, p := range slices.Sorted(maps.Keys(am)) {
		ae := am[p]
		_, ok := bm[p]
		switch {
		case !ok:
			r.add(entity(Removed, ae, nil))
		case ae.Kind.Shape == schema.ShapeBinary:
			ab, _ := a.Raw(p)
			bb, _ := b.Raw(p)
			if !bytes.Equal(ab, bb) {
				r.add(entity(Changed, ae, []Field{{Op: Changed, Path: "", Label: "(file content)", Before: describeBytes(ab), After: describeBytes(bb)}}))
			}
		default:
			pa, _ := a.Packed(p)
			pb, _ := b.Packed(p)
			if pa.Equal(pb) {
				continue
			}
			if ad, bd := pa.Value(), pb.Value(); !bundles.Equal(ad, bd) {
				r.add(entity(Changed, ae, Fields(ae.Kind, ad, bd)))
			}
		}
	}
	for _, p := range slices.Sorted(maps.Keys(bm)) {
		if _, ok := am[p]; !ok {
			r.add(entity(Added, bm[p], nil))
		}
	}
	if c, ok := comparePolicy(a, b); ok {
		r.add(c)
	}
	for _, c := range compareAttached(a, b) {
		r.add(c)
	}
	if c, ok := compareManifest(a.Manifest, b.Manifest); ok {
		r.add(c)
	}
	sort.SliceStable(r.Changes, func(i, j int) bool {
		x, y := r.Changes[i], r.Changes[j]
		if x.order != y.order {
			return x.order < y.order
		}
		return x.Path < y.Path
	})
	r.Equal = len(r.Changes) == 0
	return r
}

// describeBytes names binary content by size and sha256.
func describeBytes(b []byte) string {
	h := sha256.Sum256(b)
	return fmt.Sprintf("%d bytes, sha256:%x", len(b), h)
}

func side(path string, b *bundles.Bundle) Side {
	m := b.Manifest
	return Side{Path: path, Digest: b.Digest(), Server: m.Source.Server, ServerVersion: m.Source.ServerVersion, Space: m.Source.Space, ExportedAt: m.ExportedAt}
}

func (r *Report) add(c EntityChange) {
	r.Changes = append(r.Changes, c)
	n := r.Summary[c.Kind]
	switch c.Op {
	case Added:
		n.Added++
	case Removed:
		n.Removed++
	default:
		n.Changed++
	}
	r.Summary[c.Kind] = n
}

func entity(op string, e bundles.Entry, fields []Field) EntityChange {
	return EntityChange{Op: op, Kind: e.Kind.Name, Names: e.Names, Path: e.Path, Project: projectOf(e), Fields: fields, order: e.Kind.Order}
}

// projectOf returns the project an entity belongs to (see
// schema.Kind.SelectedBy), or "".
func projectOf(e bundles.Entry) string {
	p, _ := e.Kind.SelectedBy(e.Names)
	return p
}

func comparePolicy(a, b *bundles.Bundle) (EntityChange, bool) {
	ap, aok := a.Raw(bundles.PolicyFile)
	bp, bok := b.Raw(bundles.PolicyFile)
	if !aok && !bok {
		return EntityChange{}, false
	}
	c := EntityChange{Kind: PolicyKind, Path: bundles.PolicyFile, order: 1 << 30}
	switch {
	case !aok:
		c.Op = Added
	case !bok:
		c.Op = Removed
	case string(ap) == string(bp):
		return EntityChange{}, false
	default:
		ad, _ := bundles.Decode(ap)
		bd, _ := bundles.Decode(bp)
		c.Op, c.Fields = Changed, Fields(nil, ad, bd)
	}
	return c, true
}

// compareAttached compares the attached files of two release bundles:
// JSON files field by field, other files by size and sha256.
func compareAttached(a, b *bundles.Bundle) []EntityChange {
	paths := map[string]bool{}
	for _, p := range a.AttachedPaths() {
		paths[p] = true
	}
	for _, p := range b.AttachedPaths() {
		paths[p] = true
	}
	var out []EntityChange
	for _, p := range slices.Sorted(maps.Keys(paths)) {
		ad, aok := a.Attached(p)
		bd, bok := b.Attached(p)
		c := EntityChange{Kind: AttachedKind, Path: p, order: 1<<30 - 1}
		switch {
		case !aok:
			c.Op = Added
		case !bok:
			c.Op = Removed
		case bytes.Equal(ad, bd):
			continue
		default:
			c.Op = Changed
			av, aerr := bundles.Decode(ad)
			bv, berr := bundles.Decode(bd)
			if strings.HasSuffix(p, ".json") && aerr == nil && berr == nil {
				c.Fields = Fields(nil, av, bv)
			} else {
				c.Fields = []Field{{Op: Changed, Label: "(file content)", Before: describeBytes(ad), After: describeBytes(bd)}}
			}
		}
		out = append(out, c)
	}
	return out
}

// compareManifest compares the manifest's content fields: the rules that
// transformed the bundle and a partial export's project selection. Source,
// times, tool version, counts and digest are not content.
func compareManifest(a, b bundles.Manifest) (EntityChange, bool) {
	type content struct {
		Rules    []bundles.RuleRef
		Projects []string
		Kind     string `json:",omitempty"`
	}
	doc := func(m bundles.Manifest) any {
		data, _ := json.Marshal(content{Rules: m.Rules, Projects: m.Projects, Kind: m.Kind})
		v, _ := bundles.Decode(data)
		return v
	}
	ad, bd := doc(a), doc(b)
	if bundles.Equal(ad, bd) {
		return EntityChange{}, false
	}
	return EntityChange{Op: Changed, Kind: ManifestKind, Path: bundles.ManifestFile, Fields: Fields(nil, ad, bd), order: 1<<30 + 1}, true
}

// Fields lists the differences between two documents of kind k (nil: no
// kind) for people: bundles.DiffKind's field differences, with an added and
// a removed named element that differ only in their names reported as one
// rename, changes of order in sequences of named elements, and long or
// multi-line text as a unified line diff.
func Fields(k *schema.Kind, before, after any) []Field {
	var fds []bundles.FieldDiff
	if k != nil {
		fds = bundles.DiffKind(k, before, after)
	} else {
		fds = bundles.Diff(before, after)
	}
	out := make([]Field, 0, len(fds))
	for _, d := range fds {
		f := Field{Path: d.Path, Label: d.Label, Before: d.Before, After: d.After}
		switch {
		case d.Before == nil && d.After != nil:
			f.Op = Added
		case d.After == nil && d.Before != nil:
			f.Op = Removed
		default:
			f.Op = Changed
			bs, bok := d.Before.(string)
			as, aok := d.After.(string)
			if bok && aok && isLongText(bs, as) {
				f.Diff = LineDiff(bs, as)
			}
		}
		out = append(out, f)
	}
	out = pairRenames(out)
	out = append(out, reorders(nil, "", before, after)...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Label < out[j].Label })
	return out
}

// isLongText reports whether two strings are better shown as a line diff.
func isLongText(a, b string) bool {
	return strings.Contains(a, "\n") || strings.Contains(b, "\n") || len(a) > 100 || len(b) > 100
}

// parentLabel splits an element label `X["name" …]` into `X` and the
// bracketed identity; ok is false when the label does not end in one.
func parentLabel(lbl string) (string, bool) {
	if !strings.HasSuffix(lbl, "]") {
		return "", false
	}
	depth, inQuote := 0, false
	for i := len(lbl) - 1; i >= 0; i-- {
		c := lbl[i]
		switch {
		case c == '"' && (i == 0 || lbl[i-1] != '\\'):
			inQuote = !inQuote
		case inQuote:
		case c == ']':
			depth++
		case c == '[':
			depth--
			if depth == 0 {
				return lbl[:i], true
			}
		}
	}
	return "", false
}

// pairRenames turns an added and a removed named element of the same array
// that are equal apart from Name fields into one Renamed field.
func pairRenames(fs []Field) []Field {
	used := map[int]bool{}
	var out []Field
	for i, rem := range fs {
		if rem.Op != Removed {
			continue
		}
		rp, ok := parentLabel(rem.Label)
		rn, named := nameOf(rem.Before)
		if !ok || !named {
			continue
		}
		for j, add := range fs {
			if add.Op != Added || used[j] {
				continue
			}
			ap, ok := parentLabel(add.Label)
			an, named := nameOf(add.After)
			if !ok || !named || ap != rp || an == rn {
				continue
			}
			if bundles.Equal(withoutNames(rem.Before), withoutNames(add.After)) {
				used[i], used[j] = true, true
				out = append(out, Field{Op: Renamed, Path: add.Path, Label: rem.Label, Before: rn, After: an})
				break
			}
		}
	}
	for i, f := range fs {
		if !used[i] {
			out = append(out, f)
		}
	}
	return out
}

func nameOf(v any) (string, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return "", false
	}
	n, ok := m["Name"].(string)
	return n, ok
}

// withoutNames returns a copy of v without any "Name" member (a step's
// rename renames its action too).
func withoutNames(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			if k != "Name" {
				out[k] = withoutNames(x)
			}
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = withoutNames(x)
		}
		return out
	}
	return v
}

// reorders finds arrays of named elements present in both documents whose
// common elements are in a different order.
func reorders(at []string, lbl string, before, after any) []Field {
	var out []Field
	switch a := after.(type) {
	case map[string]any:
		b, ok := before.(map[string]any)
		if !ok {
			return nil
		}
		for _, k := range slices.Sorted(maps.Keys(a)) {
			if bv, ok := b[k]; ok {
				out = append(out, reorders(append(at[:len(at):len(at)], k), bundles.KeyLabel(lbl, k), bv, a[k])...)
			}
		}
	case []any:
		b, ok := before.([]any)
		if !ok || !bundles.Identified(a) || !bundles.Identified(b) {
			return nil
		}
		pairs, _ := bundles.MatchElements(a, b)
		var oldOrder, newOrder []int
		for i := range a {
			if j, ok := pairs[i]; ok {
				newOrder = append(newOrder, j)
				oldOrder = append(oldOrder, j)
				out = append(out, reorders(append(at[:len(at):len(at)], fmt.Sprint(i)), lbl+"["+label(a[i])+"]", b[j], a[i])...)
			}
		}
		sort.Ints(oldOrder)
		if !slices.Equal(oldOrder, newOrder) {
			var bn, an []any
			for _, j := range oldOrder {
				bn = append(bn, label(b[j]))
			}
			for _, j := range newOrder {
				an = append(an, label(b[j]))
			}
			out = append(out, Field{Op: Reordered, Path: schema.Pointer(at), Label: lbl, Before: bn, After: an})
		}
	}
	return out
}

func label(el any) string {
	id, _ := bundles.Identify(el)
	return id.Label
}
