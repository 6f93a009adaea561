package octosim

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

// LoadSeed reads a seed Instance from a JSON file.
func LoadSeed(path string) (*Instance, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	inst, err := ParseSeed(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return inst, nil
}

// ParseSeed decodes a seed Instance from JSON.
func ParseSeed(data []byte) (*Instance, error) {
	var inst Instance
	if err := json.Unmarshal(data, &inst); err != nil {
		return nil, errorf("seed: %v", err)
	}
	return &inst, nil
}

// load fills a new server from seed (nil: a fresh instance with the
// Default space). Entities are stored as given (IDs kept), then the space
// defaults that are missing are added, owned singletons and default
// channels are created where the seed lacks them, tenant variables are
// checked, and every entity is validated as a POST would be.
func (s *Server) load(seed *Instance) error {
	s.addBuiltInUserRoles()
	s.addAPIKeyUser()
	s.addStoredBuiltIns(s.st.server)
	if seed == nil || len(seed.Spaces) == 0 {
		if _, err := s.createSpace(map[string]any{
			"Name": "Default", "IsDefault": true, "Description": "This is the default space",
		}, "Spaces-1"); err != nil {
			return err
		}
		if seed == nil {
			return nil
		}
	}
	// Counters go past every ID in the seed before anything is created.
	for _, r := range seed.UserRoles {
		s.st.noteID(str(r["Id"]))
	}
	for _, sp := range seed.Spaces {
		s.st.noteID(sp.Id)
		for _, items := range sp.Collections {
			for _, d := range items {
				s.st.noteID(str(d["Id"]))
				for _, t := range asSlice(d["Tags"]) {
					if m, ok := t.(map[string]any); ok {
						s.st.noteID(str(m["Id"]))
					}
				}
			}
		}
	}
	var errs []string
	for _, r := range seed.UserRoles {
		spec := collByName["userroles"]
		doc := copyDoc(r)
		if str(doc["Id"]) == "" {
			doc["Id"] = s.st.nextID(spec.IDPrefix)
		}
		s.prepare(nil, spec, doc, nil)
		s.st.server.coll("userroles").put(str(doc["Id"]), doc)
	}
	hasDefault := false
	for _, ss := range seed.Spaces {
		hasDefault = hasDefault || ss.IsDefault
	}
	for i, ss := range seed.Spaces {
		if ss.Id == "" {
			return errorf("seed: space %d (%q) has no Id", i, ss.Name)
		}
		if s.st.lookupSpace(ss.Id) != nil {
			return errorf("seed: space %s appears twice", ss.Id)
		}
		doc := map[string]any{
			"Id": ss.Id, "Name": ss.Name, "Description": ss.Description, "IsDefault": ss.IsDefault || (!hasDefault && i == 0),
			"TaskQueueStopped": false, "SpaceManagersTeams": []any{}, "SpaceManagersTeamMembers": []any{}, "Slug": slug(ss.Name),
		}
		sp := newSpace(doc)
		s.st.spaces.put(ss.Id, doc)
		s.st.spaceSt[ss.Id] = sp
		errs = append(errs, s.loadSpace(sp, ss)...)
	}
	if len(errs) > 0 {
		if len(errs) > 50 {
			errs = append(errs[:50], fmt.Sprintf("… and %d more", len(errs)-50))
		}
		return errorf("seed is not valid:\n  %s", strings.Join(errs, "\n  "))
	}
	return nil
}

// seedOrder loads owners before what they own.
func seedCollections(ss SpaceSeed) ([]string, error) {
	var names []string
	for name := range ss.Collections {
		if !isSeedOnly(name) && collByName[name] == nil && lookupStored(name) == nil {
			return nil, errorf("seed: space %s: unknown collection %q", ss.Id, name)
		}
		names = append(names, name)
	}
	sort.Strings(names)
	return names, nil
}

func (s *Server) loadSpace(sp *space, ss SpaceSeed) []string {
	names, err := seedCollections(ss)
	if err != nil {
		return []string{err.Error()}
	}
	var errs []string
	// 1. store everything as given.
	for _, name := range names {
		if name == seedTenantVariables {
			continue
		}
		if sc := lookupStored(name); sc != nil && !sc.ServerLevel {
			errs = append(errs, s.loadStoredSeed(sp, sc, ss.Collections[name])...)
			continue
		}
		if so, ok := seedOnlyCollections[name]; ok {
			// Keyed by owner (projectlogos by ProjectId), stored as given.
			for _, item := range ss.Collections[name] {
				doc := copyDoc(item)
				id := str(doc[so.Field])
				doc["Id"] = id
				sp.coll(name).put(id, doc)
			}
			continue
		}
		spec := collByName[name]
		for i, item := range ss.Collections[name] {
			doc := copyDoc(item)
			delete(doc, "Links")
			id := str(doc["Id"])
			if id == "" && spec.Singleton {
				id = singletonSeedID(spec, doc)
			}
			if id == "" {
				id = s.st.nextID(spec.IDPrefix)
			}
			doc["Id"] = id
			if !spec.ServerLevel {
				doc["SpaceId"] = sp.id()
			}
			if spec.Singleton {
				if _, ok := doc["Version"]; !ok {
					doc["Version"] = float64(0)
				}
			}
			s.prepare(sp, spec, doc, nil)
			c := s.st.collFor(sp, spec)
			if c.get(id) != nil {
				errs = append(errs, fmt.Sprintf("space %s: %s[%d]: duplicate Id %s", sp.id(), name, i, id))
				continue
			}
			c.put(id, doc)
		}
	}
	// 2. what every space has, and what the server creates with owners.
	s.addSpaceDefaults(sp)
	for _, spec := range collOrder {
		if spec.ServerLevel {
			continue
		}
		for _, doc := range sp.coll(spec.Name).all() {
			s.afterSave(sp, spec, doc, true)
		}
	}
	// 3. validate as a POST would.
	for _, spec := range collOrder {
		if spec.ServerLevel {
			continue
		}
		for _, doc := range sp.coll(spec.Name).all() {
			if err := s.validate(sp, spec, doc, doc); err != nil {
				label := str(doc["Id"])
				if n := str(doc[spec.NameField]); spec.NameField != "" && n != "" {
					label += " (" + n + ")"
				}
				for _, e := range err.(*apiError).Errors {
					errs = append(errs, fmt.Sprintf("space %s: %s %s: %s", sp.id(), spec.Name, label, e))
				}
			}
		}
	}
	// 4. tenant variables.
	for i, item := range ss.Collections[seedTenantVariables] {
		tid := str(item["TenantId"])
		if tid == "" {
			tid = str(item["Id"])
		}
		tenant := sp.coll(tenantVarsParent).get(tid)
		if tenant == nil {
			errs = append(errs, fmt.Sprintf("space %s: %s[%d]: TenantId %q is not a tenant in this space", sp.id(), seedTenantVariables, i, tid))
			continue
		}
		for _, e := range s.loadTenantVariablesSeed(sp, tenant, item) {
			errs = append(errs, fmt.Sprintf("space %s: %s %s (%s): %s", sp.id(), seedTenantVariables, tid, str(tenant["Name"]), e))
		}
	}
	return errs
}

// singletonSeedID derives a singleton's ID from its owner field.
func singletonSeedID(spec *collSpec, doc map[string]any) string {
	owner := str(doc["OwnerId"])
	switch spec.Name {
	case "runbookProcesses":
		owner = str(doc["RunbookId"])
	case "deploymentprocesses":
		owner = str(doc["ProjectId"])
	}
	if owner == "" {
		return ""
	}
	return spec.IDPrefix + "-" + owner
}

// Dump returns the whole instance in the seed format, secrets in clear
// (SensitiveValues as {"HasValue": true, "NewValue": "<secret>"}, sensitive
// variables with their Value). Loading a dump gives the same instance.
func (s *Server) Dump() *Instance {
	s.mu.RLock()
	defer s.mu.RUnlock()
	inst := &Instance{ServerVersion: s.version}
	builtIn := map[string]bool{}
	for _, r := range builtInUserRoles {
		builtIn[r.id] = true
	}
	for _, r := range s.st.server.coll("userroles").all() {
		if !builtIn[str(r["Id"])] {
			inst.UserRoles = append(inst.UserRoles, copyDoc(r))
		}
	}
	for _, d := range s.st.spaces.all() {
		sp := s.st.spaceSt[str(d["Id"])]
		b, _ := d["IsDefault"].(bool)
		ss := SpaceSeed{Id: sp.id(), Name: str(d["Name"]), IsDefault: b, Description: str(d["Description"]),
			Collections: map[string][]map[string]any{}}
		sp.collsMu.Lock()
		colls := make(map[string]*coll, len(sp.colls))
		for name, c := range sp.colls {
			colls[name] = c
		}
		sp.collsMu.Unlock()
		for name, c := range colls {
			if collByName[name] == nil && !isSeedOnly(name) && lookupStored(name) == nil {
				continue // simulator state outside the seed format (kubernetesmonitors, parentenvironments)
			}
			for _, doc := range c.all() {
				cp := copyDoc(doc)
				if name == seedTenantVariables {
					delete(cp, "Id")
				}
				ss.Collections[name] = append(ss.Collections[name], cp)
			}
		}
		inst.Spaces = append(inst.Spaces, ss)
	}
	return inst
}

// Entity returns a copy of a stored entity with its secrets in clear, or
// false. collection is an API collection name (or "tenantvariables", keyed
// by tenant ID, or "projectlogos", keyed by project ID); spaceID is ignored for server-level collections.
func (s *Server) Entity(spaceID, collection, id string) (map[string]any, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	d := s.entity(spaceID, collection, id)
	if d == nil {
		return nil, false
	}
	return copyDoc(d), true
}

func (s *Server) entity(spaceID, collection, id string) map[string]any {
	if sc := lookupStored(collection); sc != nil && sc.ServerLevel {
		return s.st.server.coll(sc.Name).get(id)
	}
	if spec := lookupColl(collection); spec != nil && spec.ServerLevel {
		return s.st.server.coll(spec.Name).get(id)
	}
	sp := s.st.lookupSpace(spaceID)
	if sp == nil {
		return nil
	}
	if isSeedOnly(collection) {
		return sp.coll(collection).get(id)
	}
	spec := lookupColl(collection)
	if spec == nil {
		if sc := lookupStored(collection); sc != nil {
			return s.storedColl(sp, sc).get(id)
		}
		return nil
	}
	return sp.coll(spec.Name).get(id)
}

// Secret returns the write-only value stored at path in an entity — what
// the API never shows — so tests can check that a secret survived a write
// or was wiped. path is slash-separated; in arrays a segment picks an
// element by index, Id or Name. Examples:
//
//	s.Secret("Spaces-1", "accounts", "Accounts-1", "Password")
//	s.Secret("Spaces-1", "variables", "variableset-Projects-1", "Variables/DbPassword/Value")
//	s.Secret("Spaces-1", "tenantvariables", "Tenants-1", "ProjectVariables/<value Id or index>/Value")
//
// ok is false when there is no value (no entity, no such path, or a
// SensitiveValue without a value).
func (s *Server) Secret(spaceID, collection, id, path string) (value string, ok bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	d := s.entity(spaceID, collection, id)
	if d == nil {
		return "", false
	}
	v, found := lookupPath(d, path)
	if !found {
		return "", false
	}
	if p := storedSecret(v); p != nil {
		return *p, true
	}
	return "", false
}
