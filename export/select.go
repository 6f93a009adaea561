package export

import (
	"fmt"
	"sort"
	"strings"

	"github.com/octobundle/octobundle/internal/snapshot"
	"github.com/octobundle/octobundle/schema"
)

// selection is the set of entities an export writes.
type selection struct {
	// list holds the entities in sync order, then by names.
	list []*snapshot.Entity
	// ids holds kind\x00id of every selected entity that has an ID.
	ids map[string]bool
}

func (s *selection) has(kind, id string) bool { return s.ids[kind+"\x00"+id] }

// tagFields are the fields holding canonical tag names ("Region/East").
var tagFields = map[string]bool{
	"TenantTags": true, "TenantTag": true, "ProjectTags": true, "EnvironmentTags": true, "RunbookTags": true,
}

// choose picks the entities to export: every exportable entity of the space,
// or with o.Projects the projects named and everything they depend on.
func choose(s *snapshot.Snapshot, o Options) (*selection, []string, error) {
	cands, warnings := candidates(s, o)
	if len(o.Projects) == 0 {
		return newSelection(cands), warnings, nil
	}

	// Partial export: what a whole-space export filters (teams, their
	// permissions and user roles) is not a dependency of a project.
	inCand := map[*snapshot.Entity]bool{}
	for _, e := range cands {
		if !e.Kind.Filtered() {
			inCand[e] = true
		}
	}
	byID := map[string]*snapshot.Entity{}
	children := map[*snapshot.Entity][]*snapshot.Entity{}
	tagSets := map[string]*snapshot.Entity{}
	for e := range inCand {
		if e.ID != "" {
			byID[e.Kind.Name+"\x00"+e.ID] = e
		}
		if e.Owner != nil {
			children[e.Owner] = append(children[e.Owner], e)
		}
		if e.Kind.TagNames != "" {
			tagSets[e.Name] = e
		}
	}

	var roots []*snapshot.Entity
	var missing []string
	want := map[string]bool{}
	for _, name := range o.Projects {
		p := s.Find(schema.Project, name)
		if p == nil {
			missing = append(missing, fmt.Sprintf("%q", name))
			continue
		}
		roots = append(roots, p)
		want[p.ID] = true
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, nil, &Error{Problems: []string{fmt.Sprintf("no project named %s in space %q", strings.Join(missing, ", "), s.SpaceName)}}
	}
	// Tenants linked to a selected project come along.
	for _, t := range s.Entities(schema.Tenant) {
		pe, _ := t.Object()["ProjectEnvironments"].(map[string]any)
		for id := range pe {
			if want[id] {
				roots = append(roots, t)
				break
			}
		}
	}

	picked := map[*snapshot.Entity]bool{}
	var problems []string
	var add func(e *snapshot.Entity)
	add = func(e *snapshot.Entity) {
		if picked[e] || !inCand[e] {
			return
		}
		picked[e] = true
		if e.Owner != nil {
			add(e.Owner)
		}
		for _, c := range children[e] {
			add(c)
		}
		doc := e.Doc() // decoded once for both walks, dropped after
		for _, t := range dependencies(e, doc, byID, &problems) {
			add(t)
		}
		for _, name := range tagSetNames(doc, tagSets) {
			add(tagSets[name])
		}
	}
	for _, r := range roots {
		add(r)
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, nil, &Error{Problems: problems}
	}
	var list []*snapshot.Entity
	for _, e := range cands {
		if picked[e] {
			list = append(list, e)
		}
	}
	return newSelection(list), warnings, nil
}

func newSelection(list []*snapshot.Entity) *selection {
	sel := &selection{list: list, ids: map[string]bool{}}
	for _, e := range list {
		if e.ID != "" {
			sel.ids[e.Kind.Name+"\x00"+e.ID] = true
		}
	}
	return sel
}

// chosenOneByOne reports whether candidates decides on each entity of
// kind (and below it) by looking at it and at others (schema.ExportFilter:
// system teams and their permissions are left out, user roles kept only
// when custom or used). Every other kind is exported whole.
func chosenOneByOne(kind string) bool { return schema.MustLookup(kind).Filtered() }

// candidates lists every entity a whole-space export writes, in sync order,
// as the kinds' export filters say (see schema.ExportFilter).
func candidates(s *snapshot.Snapshot, o Options) ([]*snapshot.Entity, []string) {
	var warnings []string
	own := map[*snapshot.Entity]bool{} // kept entities of ExportSpaceOwn kinds
	used := map[string]bool{}          // kind\x00id of what kept entities refer to
	var out []*snapshot.Entity
	for _, k := range schema.Kinds() {
		if !exported(k, o) {
			continue
		}
		usesFiltered := refersToUsed(k)
		for _, e := range s.Entities(k.Name) {
			if k.Export == schema.ExportSpaceOwn {
				if sp, _ := e.Object()["SpaceId"].(string); sp != s.SpaceID || k.IsBuiltInID(e.ID) {
					continue
				}
				own[e] = true
			}
			if ow := e.Owner; ow != nil && ow.Kind.Export == schema.ExportSpaceOwn && !own[ow] {
				warnings = append(warnings, fmt.Sprintf("the %s of %s in this space are not exported: it is a system %s", k.Title, ow.Label(), schema.Singular(ow.Kind.Name)))
				continue
			}
			if usesFiltered {
				_ = k.Visit(e.Doc(), func(ref schema.Ref, _ []string, id string) {
					if t := schema.Lookup(ref.To); t != nil && t.Export == schema.ExportUsed {
						used[t.Name+"\x00"+id] = true
					}
				})
			}
			out = append(out, e)
		}
	}
	// ExportUsed kinds: the entities users created, plus the built-in
	// ones exported entities refer to (the roles team permissions grant).
	kept := out[:0]
	for _, e := range out {
		if e.Kind.Export == schema.ExportUsed && !e.Kind.IsCreatedID(e.ID) && !used[e.Kind.Name+"\x00"+e.ID] {
			continue
		}
		kept = append(kept, e)
	}
	return kept, warnings
}

// refersToUsed reports whether kind k has a reference to an ExportUsed
// kind, whose built-in entities are exported only when referred to.
func refersToUsed(k *schema.Kind) bool {
	for _, r := range k.Refs {
		if t := schema.Lookup(r.To); t != nil && t.Export == schema.ExportUsed {
			return true
		}
	}
	return false
}

// dependencies returns the entities e (whose document is doc) refers to
// through hard references (see isSoft), looked up in byID. References that
// cannot be resolved are left for the conversion to report; they are not
// dependencies.
func dependencies(e *snapshot.Entity, doc any, byID map[string]*snapshot.Entity, problems *[]string) []*snapshot.Entity {
	var out []*snapshot.Entity
	if e.Kind.Shape == schema.ShapeBinary {
		return nil // bytes: no references
	}
	err := e.Kind.Visit(doc, func(ref schema.Ref, _ []string, id string) {
		if isSoft(ref) {
			return
		}
		var target *schema.Kind
		if ref.To == schema.AnyKind {
			target = schema.KindForID(id)
		} else {
			target = schema.Lookup(ref.To)
		}
		if target == nil {
			return // a scoped name (action, template) or a plain value
		}
		for _, k := range target.Aliases() {
			if t := byID[k.Name+"\x00"+id]; t != nil {
				out = append(out, t)
				break
			}
		}
	})
	if err != nil {
		*problems = append(*problems, fmt.Sprintf("%s: %v", e.Label(), err))
	}
	return out
}

// tagSetNames returns the names of the tag sets whose tags doc uses, sorted.
func tagSetNames(doc any, tagSets map[string]*snapshot.Entity) []string {
	found := map[string]bool{}
	var walk func(v any, tagField bool)
	walk = func(v any, tagField bool) {
		switch t := v.(type) {
		case map[string]any:
			for k, c := range t {
				walk(c, tagFields[k])
			}
		case []any:
			for _, c := range t {
				walk(c, tagField)
			}
		case string:
			if !tagField {
				return
			}
			// A canonical tag name is "Set/Tag"; either part may hold "/".
			for i := strings.IndexByte(t, '/'); i >= 0; {
				if tagSets[t[:i]] != nil {
					found[t[:i]] = true
				}
				j := strings.IndexByte(t[i+1:], '/')
				if j < 0 {
					break
				}
				i += j + 1
			}
		}
	}
	walk(doc, false)
	out := make([]string, 0, len(found))
	for n := range found {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
