package apply

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/octobundle/octobundle/internal/snapshot"
	"github.com/octobundle/octobundle/schema"
)

// leftoverPlaceholders finds the placeholders earlier applies wrote that
// are still on the destination, so that a lost clean-up report can be
// rebuilt from a plan: every string field of every destination document
// that contains PlaceholderPrefix (a placeholder certificate's subject,
// a placeholder in a field the server returns). Sensitive values are never
// returned by Octopus, so a placeholder in one cannot be seen: only the
// clean-up report lists those. The items name kind, entity and field,
// never a value.
func leftoverPlaceholders(snap *snapshot.Snapshot) []CleanupItem {
	var out []CleanupItem
	for _, k := range schema.Kinds() {
		for _, e := range snap.Entities(k.Name) {
			var fields []string
			findPrefix(e.Doc, "", &fields)
			for _, f := range fields {
				out = append(out, CleanupItem{Kind: k.Name, Names: e.Names(), Field: f,
					Why: "still holds the placeholder an earlier apply wrote (" + PlaceholderPrefix + "): set the real value"})
			}
		}
	}
	return out
}

// findPrefix appends the paths of the strings under v that contain
// PlaceholderPrefix, in document order (object keys sorted).
func findPrefix(v any, path string, out *[]string) {
	switch v := v.(type) {
	case string:
		if strings.Contains(v, PlaceholderPrefix) {
			*out = append(*out, path)
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			findPrefix(v[k], path+"/"+k, out)
		}
	case []any:
		for i, x := range v {
			findPrefix(x, fmt.Sprintf("%s[%d]", path, i), out)
		}
	}
}
