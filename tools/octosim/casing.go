package octosim

import (
	"strings"

	"github.com/octobundle/octobundle/schema"
)

// ASP.NET binds JSON fields case-insensitively: a real server accepts
// {"LifecycleID": …} for LifecycleId and stores it under the model's name.
// The simulator has no model classes, so the canonical casing of a field is
// taken from what it knows: the field names of the kind registry (paths of
// references, sets, volatile and sensitive fields, names and parent
// fields), the fields the simulator itself fills (defaults, required
// fields, filters) and, for an update, the stored document.

// fieldVocabulary maps a lower-cased field name to its canonical casing.
var fieldVocabulary = map[string]string{}

func addVocabulary(names ...string) {
	for _, n := range names {
		if !isFieldName(n) {
			continue
		}
		if _, ok := fieldVocabulary[strings.ToLower(n)]; !ok {
			fieldVocabulary[strings.ToLower(n)] = n
		}
	}
}

func addPathVocabulary(path string) { addVocabulary(strings.Split(path, "/")...) }

// isFieldName reports whether k looks like a model field (PascalCase
// identifier), not a dictionary key (step properties "Octopus.Action.…",
// IDs "Projects-1", GUIDs).
func isFieldName(k string) bool {
	if k == "" || k == "*" || k == "~" {
		return false
	}
	for i, r := range k {
		switch {
		case r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// buildVocabulary fills fieldVocabulary; called once the collection table
// is built.
func buildVocabulary() {
	addVocabulary(schema.GlobalVolatile...)
	addVocabulary("Name", "Description", "Slug", "Version", "IsDefault", "SortOrder", "ProjectId", "OwnerId", "Steps", "Actions",
		"Properties", "Packages", "Variables", "Scope", "Value", "Type", "IsSensitive", "Templates", "Tags", "Phases", "Rules")
	for _, k := range schema.Kinds() {
		addVocabulary(k.NameField, k.ParentField)
		for _, r := range k.Refs {
			addPathVocabulary(r.Path)
			if r.When != nil {
				addVocabulary(r.When.Field)
			}
		}
		for _, st := range k.Sets {
			addPathVocabulary(st.Path)
			addVocabulary(st.Key...)
		}
		for _, v := range k.Volatile {
			addPathVocabulary(v)
		}
		for _, sec := range k.Sensitive {
			addPathVocabulary(sec.Path)
		}
		addVocabulary(k.Deferred...)
		addVocabulary(k.DestOnlyKeys...)
	}
	for _, fs := range requiredFields {
		addVocabulary(fs...)
	}
	for _, f := range queryFilters {
		addVocabulary(f)
	}
	for _, fs := range serverComputed {
		addVocabulary(fs...)
	}
	for _, c := range collOrder {
		d := map[string]any{}
		applyDefaults(c, d, nil)
		addDocVocabulary(d)
	}
	addDocVocabulary(defaultMachinePolicy())
}

// addDocVocabulary adds every field name of a document, at any depth.
func addDocVocabulary(v any) {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			addVocabulary(k)
			addDocVocabulary(x)
		}
	case []any:
		for _, x := range t {
			addDocVocabulary(x)
		}
	}
}

// canonicalizeFields renames, at every depth, fields whose name matches a
// known field case-insensitively to the known casing; extra maps fields of
// the stored document (top level) when it is an update. A field already
// present under its canonical name wins over a differently cased copy.
func canonicalizeFields(v any, extra map[string]string) {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			canonicalizeFields(x, nil)
			want := ""
			if extra != nil {
				want = extra[strings.ToLower(k)]
			}
			if want == "" && isFieldName(k) {
				want = fieldVocabulary[strings.ToLower(k)]
			}
			if want == "" || want == k {
				continue
			}
			if _, taken := t[want]; !taken {
				t[want] = x
			}
			delete(t, k)
		}
	case []any:
		for _, x := range t {
			canonicalizeFields(x, nil)
		}
	}
}

// storedCasing maps the lower-cased top-level fields of a stored document
// to their stored casing.
func storedCasing(doc map[string]any) map[string]string {
	out := make(map[string]string, len(doc))
	for k := range doc {
		out[strings.ToLower(k)] = k
	}
	return out
}
