package octosim

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/octobundle/octobundle/schema"
)

// create answers POST to a collection (or a nested collection, with the
// parent's field forced to parent's values).
func (s *Server) create(r *request, sp *space, spec *collSpec, parent map[string]string) (int, any, error) {
	if r.has("clone") && spec.Name == "tenants" {
		return s.cloneTenant(r, sp, spec, parent)
	}
	if r.has("clone") {
		// A real server copies the source project with its process,
		// variables, channels and runbooks; the simulator does not model
		// that, so it refuses rather than create an empty project.
		return 0, nil, badRequestf("The clone query parameter (clone=%s) is not supported by this simulator: create the %s without it.", r.q("clone"), spec.singular())
	}
	doc, err := s.insert(r, sp, spec, r.body, parent)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, s.render(sp, spec, doc, true), nil
}

// insert validates body as a new entity of spec, stores it with a fresh ID
// and creates what the server creates with it (processes, variable sets,
// the default channel). It returns the stored document.
func (s *Server) insert(r *request, sp *space, spec *collSpec, body map[string]any, parent map[string]string) (map[string]any, error) {
	doc := copyDoc(body)
	for f := range doc {
		if isServerManaged(spec.Name, f) {
			delete(doc, f)
		}
	}
	for f, v := range parent {
		doc[f] = v
	}
	s.nextSequence(sp, spec, doc)
	s.prepare(sp, spec, doc, nil)
	hook := createHooks[spec.Name]
	if hook.Prepare != nil {
		if err := hook.Prepare(s, r, sp, doc); err != nil {
			return nil, err
		}
	}
	if err := s.validate(sp, spec, doc, nil); err != nil {
		return nil, err
	}
	stampVersion(spec, doc, nil)
	doc["Id"] = s.st.nextID(spec.IDPrefix)
	if spec.Name == "tagsets" {
		qualifyTagIDs(doc)
	}
	switch {
	case spec.ServerLevel:
	case sp.doc == nil: // the system scope of a system-scoped collection
		doc["SpaceId"] = nil
	default:
		doc["SpaceId"] = sp.id()
	}
	s.st.collFor(sp, spec).put(str(doc["Id"]), doc)
	s.afterSave(sp, spec, doc, true)
	if hook.Created != nil {
		hook.Created(s, r, sp, doc)
	}
	return doc, nil
}

// update answers PUT of an entity. The body replaces the stored document,
// as on a real server: a top-level field the body omits is not kept but
// gets the server's default (applyDefaults) or reads back as null. Kept from the
// stored document is only what the server manages itself: Id, SpaceId,
// Links, the serverComputed fields, the owned singletons' IDs, the owner
// field of a nested entity (spec.ParentField), the Slug when the body has
// none, and write-only values the body marks HasValue without a NewValue
// (mergeSecrets).
//
// Evidence that a real server replaces: go-octopusdeploy's resources mark
// optional fields omitempty (lifecycles.Lifecycle.Description,
// feeds' AccessKey, libraryvariablesets' Description), so the Terraform
// provider clears such a field by sending a document without it; its
// Update functions always send the whole resource read back from the
// server (GET, change, PUT), never a patch — which is only needed where
// the server stores the body as sent. Issue 19, item 1, reports the same
// of real 2024.4 and 2025.4 servers for lifecycles, feeds and library
// variable sets.
func (s *Server) update(r *request, sp *space, spec *collSpec, stored map[string]any) (int, any, error) {
	doc := map[string]any{}
	canonicalizeFields(r.body, storedCasing(stored))
	for k, v := range r.body {
		if isServerManaged(spec.Name, k) || (spec.ParentField != "" && k == spec.ParentField) {
			continue
		}
		doc[k] = v // the request's own decoded body: no copy needed
	}
	for k, v := range stored {
		keep := isServerManaged(spec.Name, k) || (spec.ParentField != "" && k == spec.ParentField)
		if _, sent := doc[k]; k == "Slug" && !sent {
			keep = true
		}
		if keep {
			doc[k] = schema.DeepCopy(v)
		}
	}
	s.prepare(sp, spec, doc, stored)
	// A real server's resource has every property, so one the body
	// omitted reads back as null, not as missing.
	for k := range stored {
		if _, ok := doc[k]; !ok {
			doc[k] = nil
		}
	}
	if err := s.validate(sp, spec, doc, stored); err != nil {
		return 0, nil, err
	}
	stampVersion(spec, doc, stored)
	s.st.collFor(sp, spec).put(str(stored["Id"]), doc)
	s.afterSave(sp, spec, doc, false)
	return http.StatusOK, s.render(sp, spec, doc, true), nil
}

// prepare fills in what the server derives on every write: defaults, slugs,
// nested IDs and write-only values merged with the stored ones.
func (s *Server) prepare(sp *space, spec *collSpec, doc, stored map[string]any) {
	applyDefaults(spec, doc, stored)
	s.shapeForVersion(spec, doc)
	if spec.NameField != "" {
		if name := str(doc[spec.NameField]); name != "" && spec.Name != "userroles" {
			if _, has := doc["Slug"]; !has || str(doc["Slug"]) == "" || (stored != nil && str(stored[spec.NameField]) != name && str(doc["Slug"]) == str(stored["Slug"])) {
				doc["Slug"] = slug(name)
			}
		}
	}
	normalizeSensitivePaths(spec, doc)
	if spec.Name == "variables" {
		markSensitiveVariables(doc)
	}
	var old any
	if stored != nil {
		old = stored
	}
	mergeSecrets(doc, old)
	s.assignNestedIDs(spec, doc)
}

// remove answers DELETE of an entity: built-ins are refused; children and
// owned singletons go with it.
func (s *Server) remove(sp *space, spec *collSpec, doc map[string]any) (int, any, error) {
	if msg := undeletable(spec, doc); msg != "" {
		return 0, nil, badRequest(msg)
	}
	if err := s.inUse(sp, spec, doc); err != nil {
		return 0, nil, err
	}
	s.cascadeDelete(sp, spec, doc)
	return http.StatusOK, nil, nil
}

func (s *Server) cascadeDelete(sp *space, spec *collSpec, doc map[string]any) {
	id := str(doc["Id"])
	for _, child := range childCollections(spec.Name) {
		for _, d := range s.st.collFor(sp, child).where(child.ParentField, id) {
			s.cascadeDelete(sp, child, d)
		}
	}
	for _, rec := range deletedWithOwner[spec.Name] {
		c := lookupColl(rec.Coll)
		for _, d := range s.st.collFor(sp, c).where(rec.Field, id) {
			s.cascadeDelete(sp, c, d)
		}
	}
	for coll, field := range ownedSingletons(spec.Name) {
		if sid := str(doc[field]); sid != "" {
			sp.coll(coll).remove(sid)
		}
	}
	for name, so := range seedOnlyCollections {
		if so.Owner == spec.Name {
			sp.coll(name).remove(id)
		}
	}
	// References the server removes itself (see unlinkedOnDelete).
	for _, u := range unlinkedOnDelete[spec.Name] {
		for _, d := range sp.coll(u.Coll).all() {
			unlink(d, u.Path, id)
		}
	}
	s.st.collFor(sp, spec).remove(id)
}

// collPath is the API path of a collection in a space.
func collPath(sp *space, spec *collSpec) string {
	if spec.ServerLevel || sp == nil || sp.doc == nil {
		return "/api/" + spec.Name
	}
	return "/api/" + sp.id() + "/" + spec.Name
}

func (s *Server) links(sp *space, spec *collSpec, doc map[string]any) map[string]any {
	id := str(doc["Id"])
	self := collPath(sp, spec) + "/" + id
	l := map[string]any{"Self": self}
	for _, child := range childCollections(spec.Name) {
		l[linkName(child.Name)] = self + "/" + child.Name + "{/id}{?skip,take,partialName}"
	}
	for coll, field := range ownedSingletons(spec.Name) {
		if sid := str(doc[field]); sid != "" {
			l[linkName(coll)] = "/api/" + sp.id() + "/" + coll + "/" + sid
		}
	}
	if spec.Name == tenantVarsParent {
		l["Variables"] = self + "/" + tenantVarsSub
	}
	s.subResourceLinks(sp, spec, doc, self, l)
	if spec.Singleton {
		if p := str(doc["ProjectId"]); p != "" {
			l["Project"] = "/api/" + sp.id() + "/projects/" + p
		}
		if o := str(doc["OwnerId"]); o != "" {
			for _, c := range collOrder {
				if _, ok := spec.Owners[c.Name]; ok && c.ownsID(o) {
					l["Owner"] = "/api/" + sp.id() + "/" + c.Name + "/" + o
				}
			}
		}
	}
	if spec.Name == "projects" {
		l["Web"] = fmt.Sprintf("/app#/%s/projects/%s", sp.id(), id)
	}
	return l
}

// stampVersion sets a step template's Version as the real server does: 0
// when it is created, one more on every save. Steps based on a template
// record the version they use ("Octopus.Action.Template.Version"), so
// versions differ between instances. Evidence: deployment processes
// captured from real servers reference a template that was never edited as
// "Octopus.Action.Template.Version": "0" (an "ActionTemplates-2" step
// exported with its process), and edited ones with higher numbers.
func stampVersion(spec *collSpec, doc, stored map[string]any) {
	if spec.Name != "actiontemplates" {
		return
	}
	if stored == nil {
		doc["Version"] = float64(0)
		return
	}
	doc["Version"] = float64(versionOf(stored["Version"]) + 1)
}

// unlink removes from d the references to id at path: the map keys of a
// path ending in "/~", the IDs in the arrays that are the values of a map
// ("ProjectEnvironments/*"), or the elements of an array holding the
// reference in a field ("ProjectVariables/*/ProjectId").
func unlink(d map[string]any, path, id string) {
	if p, ok := strings.CutSuffix(path, "/~"); ok {
		unlinkKey(d, p, id)
		return
	}
	if p, ok := strings.CutSuffix(path, "/*"); ok && !strings.Contains(p, "/*") {
		unlinkValues(d, p, id)
		return
	}
	arrPath, field, ok := strings.Cut(path, "/*/")
	if !ok {
		return
	}
	arr, _ := fieldAt(d, arrPath)
	list, ok := arr.([]any)
	if !ok {
		return
	}
	kept := list[:0:0]
	for _, el := range list {
		if m, ok := el.(map[string]any); ok {
			if v, _ := fieldAt(m, field); strings.EqualFold(str(v), id) {
				continue
			}
		}
		kept = append(kept, el)
	}
	setFieldAt(d, arrPath, kept)
}

// unlinkValues removes id (case-insensitively) from every array that is a
// value of the map at path of d.
func unlinkValues(d map[string]any, path, id string) {
	m, _ := fieldAt(d, path)
	mm, ok := m.(map[string]any)
	if !ok {
		return
	}
	for k, v := range mm {
		list, ok := v.([]any)
		if !ok {
			continue
		}
		kept := list[:0:0]
		for _, x := range list {
			if !strings.EqualFold(str(x), id) {
				kept = append(kept, x)
			}
		}
		mm[k] = kept
	}
}

// unlinkKey deletes key id (case-insensitively) from the map at path of d.
func unlinkKey(d map[string]any, path, id string) {
	m, _ := fieldAt(d, path)
	mm, ok := m.(map[string]any)
	if !ok {
		return
	}
	for k := range mm {
		if strings.EqualFold(k, id) {
			delete(mm, k)
		}
	}
}
