package octosim

import (
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/octobundle/octobundle/schema"
)

// collSpec is what the simulator knows about one API collection. The table
// is derived from the kind registry (schema.Kinds) at init: every kind with a
// Collection becomes a collection, every kind with a singleton Read path
// ("deploymentprocesses/{DeploymentProcessId}") becomes a singleton
// collection owned by its parent, and kinds sharing a collection
// (libraryvariablesets: script modules and library variable sets) share one
// spec.
type collSpec struct {
	// Name is the API collection name ("environments").
	Name string
	// ItemType is the envelope's ItemType ("Environment").
	ItemType string
	// IDPrefix is the prefix of server IDs ("Environments", "deploymentprocess").
	IDPrefix string
	// ExtraIDs matches built-in IDs of the collection (feeds-builtin).
	ExtraIDs *regexp.Regexp
	// NameField is the name field; empty for unnamed entities.
	NameField string
	// ServerLevel collections live under /api/, not under a space.
	ServerLevel bool
	// Parent is the owning collection for nested entities (channels → projects).
	Parent string
	// ParentField holds the owner's ID (ProjectId).
	ParentField string
	// Singleton collections hold one document per owner, created with the
	// owner and never POSTed or DELETEd directly.
	Singleton bool
	// Owners maps an owning collection to the owner's field that holds the
	// singleton's ID (projects → DeploymentProcessId).
	Owners map[string]string
	// Kinds are the registry kinds stored in this collection.
	Kinds []*schema.Kind
	// Refs are the union of the kinds' references (deduplicated).
	Refs []schema.Ref
	// Sensitive are the union of the kinds' write-only paths.
	Sensitive []schema.Secret
	// mask is Sensitive compiled: what answers never show (see mask.go).
	mask *maskNode
	// Audit marks collections the sync never writes (releases, deployments…).
	Audit bool
}

// title is the collection's plural in messages ("environments").
func (c *collSpec) title() string {
	if len(c.Kinds) > 0 {
		for _, k := range c.Kinds {
			if strings.EqualFold(k.Name+"s", c.Name) {
				return k.Title
			}
		}
		return c.Kinds[0].Title
	}
	return c.Name
}

// singular is the collection's singular in messages ("project group").
func (c *collSpec) singular() string {
	var b strings.Builder
	for i, r := range c.ItemType {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return strings.ToLower(b.String())
}

// ownsID reports whether id has the shape of one of this collection's IDs.
func (c *collSpec) ownsID(id string) bool {
	if c.IDPrefix != "" && strings.HasPrefix(id, c.IDPrefix+"-") {
		return true
	}
	return c.ExtraIDs != nil && c.ExtraIDs.MatchString(id)
}

var (
	collByName = map[string]*collSpec{}
	collByKind = map[string]*collSpec{}
	collOrder  []*collSpec
	// tenantVarsSub is the sub-resource name of tenant variables
	// ("variables" from the registry's "tenants/{Id}/variables").
	tenantVarsSub = "variables"
	// tenantVarsParent is the collection tenant variables hang under.
	tenantVarsParent = "tenants"
)

// seedTenantVariables is the seed/Dump collection key of tenant variables.
const seedTenantVariables = "tenantvariables"

func init() {
	buildCollections(schema.Kinds())
	buildVocabulary()
	buildTagPaths()
}

func buildCollections(kinds []*schema.Kind) {
	get := func(name string) *collSpec {
		c := collByName[name]
		if c == nil {
			c = &collSpec{Name: name, Owners: map[string]string{}}
			collByName[name] = c
			collOrder = append(collOrder, c)
		}
		return c
	}
	// Collections first, so singleton owners can be resolved.
	for _, k := range kinds {
		if k.Collection == "" {
			continue
		}
		c := get(k.Collection)
		c.Kinds = append(c.Kinds, k)
		collByKind[k.Name] = c
		if c.IDPrefix == "" {
			c.IDPrefix = k.IDPrefix
		}
		if k.ExtraIDs != nil {
			c.ExtraIDs = k.ExtraIDs
		}
		if c.NameField == "" {
			c.NameField = k.NameField
		}
		c.ServerLevel = c.ServerLevel || k.ServerLevel
		c.Audit = k.Policy == schema.PolicyNever
		if k.ParentField != "" {
			c.ParentField = k.ParentField
			c.Parent = schema.MustLookup(k.Parent).Collection
		}
		if c.ItemType == "" || strings.EqualFold(k.Name+"s", c.Name) {
			c.ItemType = k.Name
		}
		for _, f := range append([]string{k.ParentField}, k.Required...) {
			if f != "" && !slices.Contains(requiredFields[c.Name], f) {
				requiredFields[c.Name] = append(requiredFields[c.Name], f)
			}
		}
	}
	for _, k := range kinds {
		if k.Read == "" {
			continue
		}
		segs := strings.Split(k.Read, "/")
		parent := collByKind[k.Parent]
		switch {
		case len(segs) == 2 && strings.HasPrefix(segs[1], "{"):
			c := get(segs[0])
			c.Singleton = true
			c.Kinds = append(c.Kinds, k)
			collByKind[k.Name] = c
			if k.IDPrefix != "" {
				c.IDPrefix = k.IDPrefix
			}
			if c.ItemType == "" || k.IDPrefix != "" {
				c.ItemType = k.Name
			}
			if parent != nil {
				c.Owners[parent.Name] = strings.Trim(segs[1], "{}")
			}
		case len(segs) == 3 && parent != nil && segs[0] == parent.Name && k.Shape == schema.ShapeParts:
			// tenants/{Id}/variables (the legacy document of a kind with
			// parts); other sub-resources (projects/{Id}/deploymentsettings)
			// register their own handlers.
			tenantVarsParent, tenantVarsSub = segs[0], segs[2]
			collByKind[k.Name] = nil
		}
	}
	for _, c := range collOrder {
		seen := map[string]bool{}
		for _, k := range c.Kinds {
			for _, r := range k.Refs {
				key := r.Path + "\x00" + r.To
				if r.When != nil {
					key += "\x00" + r.When.Field + strings.Join(r.When.Values, ",")
				}
				if !seen[key] {
					seen[key] = true
					c.Refs = append(c.Refs, r)
				}
			}
			c.Sensitive = append(c.Sensitive, k.Sensitive...)
		}
		c.mask = compileMask(c.Sensitive)
		if c.Singleton {
			c.ItemType = singletonItemType(c)
		}
	}
	sort.SliceStable(collOrder, func(i, j int) bool { return collOrder[i].Name < collOrder[j].Name })
}

// singletonItemType names a singleton collection's items the way the server
// does (VariableSet, not ProjectVariables).
func singletonItemType(c *collSpec) string {
	switch c.IDPrefix {
	case "variableset":
		return "VariableSet"
	}
	return c.ItemType
}

// childCollections returns the collections whose entities belong to an
// entity of parent through a ParentField (projects → channels, runbooks).
func childCollections(parent string) []*collSpec {
	var out []*collSpec
	for _, c := range collOrder {
		if c.Parent == parent && c.ParentField != "" {
			out = append(out, c)
		}
	}
	return out
}

// ownedSingletons returns the singleton collections an entity of owner has,
// with the owner's field naming each (projects → deploymentprocesses by
// DeploymentProcessId, variables by VariableSetId).
func ownedSingletons(owner string) map[string]string {
	out := map[string]string{}
	for _, c := range collOrder {
		if f, ok := c.Owners[owner]; ok {
			out[c.Name] = f
		}
	}
	return out
}

// isServerManaged reports whether field of an entity in coll is set by the
// server and never taken from a request body (see serverComputed).
func isServerManaged(coll, field string) bool {
	switch field {
	case "Id", "SpaceId", "Links":
		return true
	}
	for _, f := range serverComputed[coll] {
		if f == field {
			return true
		}
	}
	for _, f := range ownedSingletons(coll) {
		if f == field {
			return true
		}
	}
	return false
}

// linkName is the Links key under which an entity links to a child or
// singleton collection.
func linkName(coll string) string {
	switch coll {
	case "deploymentprocesses":
		return "DeploymentProcess"
	case "runbookProcesses":
		return "RunbookProcess"
	case "scopeduserroles":
		return "ScopedUserRoles"
	case "variables":
		return "Variables"
	}
	return strings.ToUpper(coll[:1]) + coll[1:]
}
