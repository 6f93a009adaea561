package apply

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/apply/internal/writemerge"
	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/policy"
	"github.com/octobundle/octobundle/schema"
)

// The merge engine's contract as data: testdata/merge/NNN_slug.json are
// three-way (or two-way) merge vectors, testdata/merge/write/NNN_slug.json
// write-merge vectors (see testdata/merge/README.md for the format). Every
// listed expectation is asserted exactly; an absent list means "none". A
// vector named NNN_slug_KNOWN_BAD.json states what the design asks where the
// engine does something else today: it is run, reported as skipped with its
// knownBad reason while it fails, and fails once it passes (drop the
// suffix).

var fmtVectors = flag.Bool("vectors.fmt", false, "rewrite testdata/merge vectors in canonical form (their content unchanged)")

// vectorDir is the directory of merge vectors, relative to this package.
var vectorDir = filepath.Join("..", "testdata", "merge")

// vectorName is the file name of a vector.
var vectorName = regexp.MustCompile(`^([0-9]{3})_[a-z0-9]+(_[a-z0-9]+)*?(_KNOWN_BAD)?\.json$`)

// mergeVector is one three-way merge vector file. Field order is the
// canonical order of the file's keys.
type mergeVector struct {
	Description string `json:"description"`
	// KnownBad says why the engine fails the vector today (only in
	// _KNOWN_BAD files, and required there).
	KnownBad    string          `json:"knownBad,omitempty"`
	Kind        string          `json:"kind"`
	Names       []string        `json:"names,omitempty"`
	Base        json.RawMessage `json:"base,omitempty"` // absent: no base (two-way)
	Source      json.RawMessage `json:"source"`
	Destination json.RawMessage `json:"destination"`
	Options     *vectorOptions  `json:"options,omitempty"`
	// Result is the merged document; absent exactly when a conflict
	// resolves to fail (the plan refuses the entity).
	Result        json.RawMessage `json:"result,omitempty"`
	Conflicts     []string        `json:"conflicts,omitempty"`     // Field + " → " + resolution, in order
	ConflictRules []string        `json:"conflictRules,omitempty"` // each conflict's Rule, in the same order
	Deleted       []string        `json:"deleted,omitempty"`
	Kept          []string        `json:"kept,omitempty"`
	Changed       []string        `json:"changed,omitempty"`
	Drift         []string        `json:"drift,omitempty"`
	// Renamed are the renames the merge makes, `Steps["old"] → "new"`.
	Renamed []string `json:"renamed,omitempty"`
	// Problems are what the server would refuse (a plan error).
	Problems []string `json:"problems,omitempty"`
}

// vectorOptions are the merge's settings.
type vectorOptions struct {
	// OnConflict is --on-conflict: source, destination or fail.
	OnConflict string `json:"onConflict,omitempty"`
	// Exact overrides whether the kind must match exactly; by default it
	// does when its effective kind policy (Policy.Kinds, else the registry)
	// is exact.
	Exact *bool `json:"exact,omitempty"`
	// Policy is the bundle's policy file (apply-policy.json).
	Policy *policy.File `json:"policy,omitempty"`
	// Projects are a partial bundle's projects (manifest.json Projects):
	// the bundle speaks for no other project.
	Projects []string `json:"projects,omitempty"`
	// RenamedRefs are names other entities renamed, namespace → old →
	// new ({"Action": {"Smoke Tests": "Smoke Test Suite"}}).
	RenamedRefs map[string]map[string]string `json:"renamedRefs,omitempty"`
}

// writeVector is one write-merge vector: the planned document laid over
// the live one (mergeDoc).
type writeVector struct {
	Description string          `json:"description"`
	KnownBad    string          `json:"knownBad,omitempty"`
	Planned     json.RawMessage `json:"planned"`
	Live        json.RawMessage `json:"live,omitempty"` // absent: a new entity
	Result      json.RawMessage `json:"result"`
}

// vectorResult is what the engine gives for a vector, in the vectors'
// terms.
type vectorResult struct {
	Result                                                                     any
	Conflicts, ConflictRules, Deleted, Kept, Changed, Drift, Renamed, Problems []string
}

// runVector runs the merge engine on one vector. It is the runner's only
// call into the engine: when the engine changes, this function follows it
// and the vectors stay as they are.
func runVector(t *testing.T, v *mergeVector) vectorResult {
	t.Helper()
	k := schema.MustLookup(v.Kind)
	var o vectorOptions
	if v.Options != nil {
		o = *v.Options
	}
	f := o.Policy
	if o.Exact != nil {
		// The override is a kind policy in a copy of the policy file:
		// exact, or sync in place of an exact one.
		pol, _ := policy.New(f, policy.Flags{}).KindPolicy(k)
		if want := *o.Exact; want != (pol == schema.PolicyExact) {
			c := policy.File{}
			if f != nil {
				c = *f
			}
			c.Kinds = maps.Clone(c.Kinds)
			if c.Kinds == nil {
				c.Kinds = map[string]schema.Policy{}
			}
			c.Kinds[k.Name] = map[bool]schema.Policy{true: schema.PolicyExact, false: schema.PolicySync}[want]
			f = &c
		}
	}
	pol := policy.New(f, policy.Flags{OnConflict: policy.Winner(o.OnConflict)})
	kp, _ := pol.KindPolicy(k)
	m := &merger{k: k, names: v.Names, exact: kp == schema.PolicyExact, pol: pol}
	var base any
	if v.Base != nil {
		base = vectorDoc(t, "base", v.Base)
	}
	if len(o.Projects) > 0 {
		m.owners = func(kind, name string) bool {
			return kind != schema.Project || slices.ContainsFunc(o.Projects, func(p string) bool { return strings.EqualFold(p, name) })
		}
	}
	src := vectorDoc(t, "source", v.Source)
	var renames []plans.Renamed
	if v.Base != nil {
		renames = detectRenames(k, base, src)
	}
	var refs map[string]map[string]string
	if len(o.RenamedRefs) > 0 {
		refs = map[string]map[string]string{}
		for ns, m := range o.RenamedRefs {
			refs[ns] = map[string]string{}
			for from, to := range m {
				refs[ns][strings.ToLower(from)] = to
			}
		}
	}
	got, _, _ := m.mergeEntity(base, v.Base != nil, src, vectorDoc(t, "destination", v.Destination), renames, refs)
	r := vectorResult{Result: got, Deleted: m.deleted, Kept: m.kept, Changed: m.changed, Problems: m.problems}
	for _, rn := range m.renames {
		r.Renamed = append(r.Renamed, rn.Label())
	}
	for _, c := range m.conflicts {
		r.Conflicts = append(r.Conflicts, c.Field+" → "+string(c.Resolution))
		r.ConflictRules = append(r.ConflictRules, c.Rule)
	}
	for _, d := range m.drift {
		r.Drift = append(r.Drift, d.Label)
	}
	return r
}

// runWriteVector lays the planned document over the live one (nil: a new
// entity), as execute does.
func runWriteVector(planned, live any) any {
	return writemerge.Doc(nil, nil, planned, live)
}

func TestMergeVectors(t *testing.T) {
	files := vectorFiles(t, vectorDir)
	if len(files) < 70 {
		t.Errorf("%d merge vectors in %s, want at least 70", len(files), vectorDir)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(f, ".json"), func(t *testing.T) {
			var v mergeVector
			data := readVector(t, filepath.Join(vectorDir, f), &v)
			checkMergeVector(t, f, &v)
			if want := canonicalVector(t, &v); !bytes.Equal(data, want) {
				rewriteOrFail(t, filepath.Join(vectorDir, f), want)
			}
			got := runVector(t, &v)
			var bad []string
			if v.Result != nil && !bundles.Equal(got.Result, vectorDoc(t, "result", v.Result)) {
				bad = append(bad, fmt.Sprintf("result\n got  %s\n want %s", compact(got.Result), compact(vectorDoc(t, "result", v.Result))))
			}
			for _, l := range []struct {
				name      string
				got, want []string
			}{
				{"conflicts", got.Conflicts, v.Conflicts},
				{"conflictRules", got.ConflictRules, v.ConflictRules},
				{"deleted", got.Deleted, v.Deleted},
				{"kept", got.Kept, v.Kept},
				{"changed", got.Changed, v.Changed},
				{"drift", got.Drift, v.Drift},
				{"renamed", got.Renamed, v.Renamed},
				{"problems", got.Problems, v.Problems},
			} {
				if !slices.Equal(l.got, l.want) {
					bad = append(bad, fmt.Sprintf("%s\n got  %q\n want %q", l.name, l.got, l.want))
				}
			}
			reportVector(t, f, v.Description, v.KnownBad, bad)
		})
	}
	writeDir := filepath.Join(vectorDir, "write")
	for _, f := range vectorFiles(t, writeDir) {
		t.Run("write/"+strings.TrimSuffix(f, ".json"), func(t *testing.T) {
			var v writeVector
			data := readVector(t, filepath.Join(writeDir, f), &v)
			if v.Description == "" || v.Planned == nil || v.Result == nil {
				t.Fatalf("%s: description, planned and result are required", f)
			}
			checkKnownBad(t, f, v.KnownBad)
			if want := canonicalVector(t, &v); !bytes.Equal(data, want) {
				rewriteOrFail(t, filepath.Join(writeDir, f), want)
			}
			var live any
			if v.Live != nil {
				live = vectorDoc(t, "live", v.Live)
			}
			got := runWriteVector(vectorDoc(t, "planned", v.Planned), live)
			var bad []string
			if want := vectorDoc(t, "result", v.Result); !bundles.Equal(got, want) {
				bad = append(bad, fmt.Sprintf("result\n got  %s\n want %s", compact(got), compact(want)))
			}
			reportVector(t, f, v.Description, v.KnownBad, bad)
		})
	}
}

// reportVector fails the vector with its mismatches, or, for a known-bad
// vector, skips it while it fails and fails it once it passes.
func reportVector(t *testing.T, file, description, knownBad string, bad []string) {
	t.Helper()
	switch {
	case knownBad != "" && len(bad) > 0:
		t.Skipf("KNOWN_BAD %s: %s\n%s", file, knownBad, strings.Join(bad, "\n"))
	case knownBad != "":
		t.Errorf("%s passes: the engine does what it asks now; drop _KNOWN_BAD from its name and its knownBad field", file)
	case len(bad) > 0:
		t.Errorf("%s (%s):\n%s", file, description, strings.Join(bad, "\n"))
	}
}

// vectorFiles lists the vector files of dir (not its subdirectories),
// checking their names: NNN_slug.json, NNN unique.
func vectorFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	seen := map[string]string{}
	for _, e := range entries {
		if e.IsDir() || e.Name() == "README.md" {
			continue
		}
		m := vectorName.FindStringSubmatch(e.Name())
		if m == nil {
			t.Errorf("%s: not a vector name (NNN_short_slug.json, lower case, optionally _KNOWN_BAD)", filepath.Join(dir, e.Name()))
			continue
		}
		if other, dup := seen[m[1]]; dup {
			t.Errorf("%s and %s share the number %s", other, e.Name(), m[1])
		}
		seen[m[1]] = e.Name()
		files = append(files, e.Name())
	}
	return files
}

// readVector decodes a vector file into v, refusing unknown fields (a
// typo must not silently assert nothing) and trailing data.
func readVector(t *testing.T, path string, v any) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if d.More() {
		t.Fatalf("%s: data after the vector", path)
	}
	return data
}

// checkMergeVector checks what the format requires of a merge vector.
func checkMergeVector(t *testing.T, file string, v *mergeVector) {
	t.Helper()
	if v.Description == "" {
		t.Fatalf("%s: no description", file)
	}
	if schema.Lookup(v.Kind) == nil {
		t.Fatalf("%s: kind %q is not in the registry", file, v.Kind)
	}
	if v.Source == nil || v.Destination == nil {
		t.Fatalf("%s: source and destination are required", file)
	}
	for name, raw := range map[string]json.RawMessage{"base": v.Base, "source": v.Source, "destination": v.Destination, "result": v.Result} {
		if string(raw) == "null" {
			t.Fatalf("%s: %s is null (leave base out for no base)", file, name)
		}
	}
	if v.Options != nil {
		switch v.Options.OnConflict {
		case "", "source", "destination", "fail":
		default:
			t.Fatalf("%s: onConflict %q (source, destination or fail)", file, v.Options.OnConflict)
		}
	}
	if len(v.ConflictRules) != len(v.Conflicts) {
		t.Fatalf("%s: %d conflicts but %d conflictRules", file, len(v.Conflicts), len(v.ConflictRules))
	}
	fails := false
	for _, c := range v.Conflicts {
		if !strings.Contains(c, " → ") {
			t.Fatalf("%s: conflict %q is not Field → resolution", file, c)
		}
		fails = fails || strings.HasSuffix(c, " → fail")
	}
	if fails != (v.Result == nil) {
		t.Fatalf("%s: result is absent exactly when a conflict resolves to fail", file)
	}
	checkKnownBad(t, file, v.KnownBad)
}

// checkKnownBad checks that a reason is given exactly for _KNOWN_BAD
// files.
func checkKnownBad(t *testing.T, file, reason string) {
	t.Helper()
	if strings.HasSuffix(file, "_KNOWN_BAD.json") != (reason != "") {
		t.Fatalf("%s: a knownBad reason is given exactly in _KNOWN_BAD files", file)
	}
}

// vectorDoc decodes one document of a vector as bundles read documents.
func vectorDoc(t *testing.T, name string, raw json.RawMessage) any {
	t.Helper()
	v, err := bundles.Decode(raw)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

// compact renders a document on one line for failure messages.
func compact(v any) string {
	b, err := bundles.Canonical(v)
	if err != nil {
		return err.Error()
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return string(b)
	}
	return buf.String()
}

// canonicalVector is the canonical form of a vector file: its keys in the
// struct's order, each document's keys sorted with Name and Value first
// (as in bundle files), 2-space indent, no HTML escaping, a final newline.
func canonicalVector(t *testing.T, v any) []byte {
	t.Helper()
	canon := func(raw *json.RawMessage) {
		if *raw == nil {
			return
		}
		d, err := bundles.Decode(*raw)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		writeOrdered(&buf, d)
		*raw = buf.Bytes()
	}
	switch v := v.(type) {
	case *mergeVector:
		c := *v
		for _, raw := range []*json.RawMessage{&c.Base, &c.Source, &c.Destination, &c.Result} {
			canon(raw)
		}
		return encodeVector(t, &c)
	case *writeVector:
		c := *v
		for _, raw := range []*json.RawMessage{&c.Planned, &c.Live, &c.Result} {
			canon(raw)
		}
		return encodeVector(t, &c)
	}
	t.Fatalf("not a vector: %T", v)
	return nil
}

func encodeVector(t *testing.T, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// writeOrdered writes v as compact JSON, object keys sorted with Name and
// Value first.
func writeOrdered(buf *bytes.Buffer, v any) {
	switch t := v.(type) {
	case map[string]any:
		var keys []string
		for _, k := range []string{"Name", "Value"} {
			if _, ok := t[k]; ok {
				keys = append(keys, k)
			}
		}
		for _, k := range slices.Sorted(maps.Keys(t)) {
			if k != "Name" && k != "Value" {
				keys = append(keys, k)
			}
		}
		buf.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeOrdered(buf, k)
			buf.WriteByte(':')
			writeOrdered(buf, t[k])
		}
		buf.WriteByte('}')
	case []any:
		buf.WriteByte('[')
		for i, e := range t {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeOrdered(buf, e)
		}
		buf.WriteByte(']')
	default:
		b, _ := bundles.Canonical(t)
		buf.Write(bytes.TrimSuffix(b, []byte("\n")))
	}
}

// rewriteOrFail rewrites a vector that is not in canonical form when
// -vectors.fmt is given, and fails otherwise.
func rewriteOrFail(t *testing.T, path string, want []byte) {
	t.Helper()
	if *fmtVectors {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s is not in canonical form; go test ./apply -run TestMergeVectors -args -vectors.fmt rewrites it", path)
}
