package octosim

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/octobundle/octobundle/schema"
)

// requiredFields are fields a real server refuses to save without, beyond
// the name of named kinds, by collection: filled by buildCollections from
// the kind registry (schema.Kind.Required, and the owner field of nested
// kinds), which apply's plan checks read too.
var requiredFields = map[string][]string{}

// validate checks a document about to be saved the way the real server
// does: required fields, unique names, and every reference of the kind
// registry naming an existing entity of the right kind (of the same project
// for channels and actions). stored is the previous version on updates.
func (s *Server) validate(sp *space, spec *collSpec, doc, stored map[string]any) error {
	var errs []string
	if spec.NameField != "" {
		if strings.TrimSpace(str(doc[spec.NameField])) == "" {
			errs = append(errs, fmt.Sprintf("Please provide a %s for the %s.", strings.ToLower(spec.NameField), spec.singular()))
		}
	}
	for _, f := range requiredFields[spec.Name] {
		if isEmptyValue(doc[f]) {
			errs = append(errs, fmt.Sprintf("The %s field is required.", f))
		}
	}
	if len(errs) == 0 {
		if msg := s.duplicateName(sp, spec, doc, stored); msg != "" {
			errs = append(errs, msg)
		}
	}
	errs = append(errs, s.checkRefs(sp, spec, doc)...)
	// Fields accepted only in certain combinations (a trigger's filter
	// and action types).
	for _, k := range spec.Kinds {
		errs = append(errs, k.PairErrors(doc)...)
	}
	if spec.Name == "deploymentprocesses" || spec.Name == "runbookProcesses" {
		errs = append(errs, processNameErrors(doc)...)
	}
	if len(errs) > 0 {
		return badRequest(errs...)
	}
	return nil
}

func isEmptyValue(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(t) == ""
	case []any:
		return len(t) == 0
	}
	return false
}

// duplicateName returns the error for a name already used by another
// entity in the same scope (the space, or the parent for nested kinds).
func (s *Server) duplicateName(sp *space, spec *collSpec, doc, stored map[string]any) string {
	if spec.NameField == "" {
		return ""
	}
	name := str(doc[spec.NameField])
	self := str(doc["Id"])
	if stored != nil {
		self = str(stored["Id"])
	}
	// Under a parent (a project's channels, all named Default), the
	// parent's few children are fewer than the space's holders of the name.
	// Only one of the two lookups is made: the name's holders are 10,000
	// channels named Default at N = 10,000.
	var found []map[string]any
	if p := str(doc[spec.ParentField]); spec.ParentField != "" && p != "" {
		found = s.st.collFor(sp, spec).whereAny(spec.ParentField, p)
	} else {
		found = s.st.collFor(sp, spec).whereAny(spec.NameField, name)
	}
	for _, d := range found {
		if self != "" && str(d["Id"]) == self {
			continue
		}
		if spec.ParentField != "" && !strings.EqualFold(str(d[spec.ParentField]), str(doc[spec.ParentField])) {
			continue
		}
		if strings.EqualFold(str(d[spec.NameField]), name) {
			where := "in this space"
			if spec.ParentField != "" {
				where = "in this project"
			}
			return fmt.Sprintf("A %s with the name '%s' already exists %s. Please choose a different name.", spec.singular(), name, where)
		}
	}
	return ""
}

// processNameErrors reports duplicate step or action names in a process.
func processNameErrors(doc map[string]any) []string {
	var errs []string
	steps := map[string]bool{}
	actions := map[string]bool{}
	for _, st := range asSlice(doc["Steps"]) {
		sm, _ := st.(map[string]any)
		n := strings.ToLower(str(sm["Name"]))
		if n == "" {
			errs = append(errs, "Every step must have a name.")
		} else if steps[n] {
			errs = append(errs, fmt.Sprintf("Step names must be unique: '%s' is used more than once.", str(sm["Name"])))
		}
		steps[n] = true
		for _, a := range asSlice(sm["Actions"]) {
			am, _ := a.(map[string]any)
			an := strings.ToLower(str(am["Name"]))
			if an == "" {
				errs = append(errs, fmt.Sprintf("Every action of step '%s' must have a name.", str(sm["Name"])))
			} else if actions[an] {
				errs = append(errs, fmt.Sprintf("Action names must be unique: '%s' is used more than once.", str(am["Name"])))
			}
			actions[an] = true
		}
	}
	return errs
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// refHit is one reference value found in a document.
type refHit struct {
	at    []string
	value string
}

// fieldPath renders a location as Octopus-style field path: Steps[0].Actions[1].Environments.
func fieldPath(at []string) string {
	var b strings.Builder
	for _, a := range at {
		if _, err := strconv.Atoi(a); err == nil {
			b.WriteString("[" + a + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(a)
	}
	return b.String()
}

// checkRefs validates every reference of the collection's kinds.
func (s *Server) checkRefs(sp *space, spec *collSpec, doc map[string]any) []string {
	var errs []string
	project := ownerProject(spec, doc)
	err := schema.VisitRefs(spec.Refs, doc, func(ref schema.Ref, at []string, v string) {
		if msg := s.checkRef(sp, ref, refHit{at: at, value: v}, project, doc); msg != "" {
			errs = append(errs, msg)
		}
	})
	if err != nil {
		errs = append(errs, err.Error())
	}
	return errs
}

// ownerProject is the project a document belongs to, for references scoped
// to one project (channels, actions, process owners).
func ownerProject(spec *collSpec, doc map[string]any) string {
	if spec.Name == "projects" {
		return str(doc["Id"])
	}
	if p := str(doc["ProjectId"]); p != "" {
		return p
	}
	if o := str(doc["OwnerId"]); strings.HasPrefix(o, "Projects-") {
		return o
	}
	return ""
}

func (s *Server) checkRef(sp *space, ref schema.Ref, hit refHit, project string, doc map[string]any) string {
	where := fieldPath(hit.at)
	switch ref.To {
	case schema.AnyKind, schema.ProjectTemplate, schema.LibraryTemplate:
		return "" // free-form properties; template keys are checked with tenant variables
	case schema.Action:
		if project == "" || !s.projectActions(sp, project)[hit.value] {
			return fmt.Sprintf("%s refers to %s, which is not a step or action of this project's processes.", where, hit.value)
		}
		return ""
	case schema.ProcessOwner:
		if project == "" || !s.processOwners(sp, project)[hit.value] {
			return fmt.Sprintf("%s refers to %s, which is neither this project nor one of its runbooks.", where, hit.value)
		}
		return ""
	}
	target := collByKind[ref.To]
	if target == nil || target.Singleton {
		return ""
	}
	d := s.st.collFor(sp, target).get(hit.value)
	switch ref.Accepts {
	case schema.AcceptAny:
		return ""
	case schema.AcceptSlugOrExpression:
		if schema.IsExpression(hit.value) {
			return ""
		}
		d = s.lookupEntity(sp, target, hit.value)
	case schema.AcceptAnySpace:
		if d == nil && s.inAnySpace(target, hit.value) {
			return ""
		}
	}
	if d == nil {
		return fmt.Sprintf("%s refers to %s, which is not one of the %s in this space.", where, hit.value, target.title())
	}
	if ref.Within != schema.ScopeSpace && target.ParentField != "" && project != "" {
		if !strings.EqualFold(str(d[target.ParentField]), project) {
			return fmt.Sprintf("%s refers to %s, which belongs to another project.", where, hit.value)
		}
	}
	return ""
}

// projectActions returns the step and action IDs of a project's deployment
// process and runbook processes.
func (s *Server) projectActions(sp *space, project string) map[string]bool {
	out := map[string]bool{}
	add := func(proc map[string]any) {
		for _, st := range asSlice(proc["Steps"]) {
			sm, _ := st.(map[string]any)
			out[str(sm["Id"])] = true
			for _, a := range asSlice(sm["Actions"]) {
				am, _ := a.(map[string]any)
				out[str(am["Id"])] = true
			}
		}
	}
	for _, d := range sp.coll("deploymentprocesses").where("ProjectId", project) {
		add(d)
	}
	for _, d := range sp.coll("runbookProcesses").where("ProjectId", project) {
		add(d)
	}
	delete(out, "")
	return out
}

// processOwners returns the project ID and its runbooks' IDs.
func (s *Server) processOwners(sp *space, project string) map[string]bool {
	out := map[string]bool{project: true}
	for _, d := range sp.coll("runbooks").where("ProjectId", project) {
		out[str(d["Id"])] = true
	}
	return out
}

// inAnySpace reports whether some space holds an entity of target's
// collection with the ID id.
func (s *Server) inAnySpace(target *collSpec, id string) bool {
	for _, sp := range s.st.spaceSt {
		if s.st.collFor(sp, target).get(id) != nil {
			return true
		}
	}
	return false
}
