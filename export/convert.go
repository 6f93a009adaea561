package export

import (
	"github.com/octobundle/octobundle/internal/snapshot"
	"github.com/octobundle/octobundle/schema"
	"github.com/octobundle/octobundle/translate"
)

// Error is an export that failed on the content of the source: references
// to IDs that do not exist, names that collide within one scope, projects
// that do not exist. It is translate.Error, which the translation of one
// entity returns; export gathers every entity's problems into one.
type Error = translate.Error

// keepFunc decides whether a soft reference (a map key naming a project or
// library variable set that the entity holds data for) stays in the bundle.
// nil keeps every reference.
type keepFunc func(target *schema.Kind, id string) bool

// isSoft reports whether a reference records data the entity holds for
// another entity rather than something it depends on (schema.Ref.Soft). A
// partial export follows hard references and drops soft ones to entities
// it does not include.
func isSoft(ref schema.Ref) bool { return ref.Soft }

// convert translates e to its bundle form (translate.ToBundleWith), keeping
// the soft references keep keeps and, when stamps is not nil, warning of
// its lagging stamps (see laggingStamps): e is decoded once for both.
func convert(s *snapshot.Snapshot, e *snapshot.Entity, keep keepFunc, stamps *stampValues) (translate.Result, error) {
	o := translate.Options{Keep: keep}
	if stamps != nil {
		o.Inspect = func(doc any) []string { return laggingStamps(s, e, doc, stamps) }
	}
	return translate.ToBundleWith(s, e, o)
}
