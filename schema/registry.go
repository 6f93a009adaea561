// Package schema is octobundle's kind registry: one declarative table of every
// Octopus resource kind the tool handles — where it lives in the API, where it
// lives in a bundle, which of its fields refer to other entities (and where the
// referred-to name is unique), which arrays are sets, which fields are volatile,
// its place in the sync order and its default apply policy. Export, transform,
// apply and the simulator all read this table; adding a kind or a reference
// field is one entry here, not code in four packages.
//
// The package also embeds the JSON Schemas of every bundle file type, rule
// files and plans (see Schemas).
package schema

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Policy is how apply treats an entity that exists on both sides.
type Policy string

const (
	// PolicyExact kinds must match exactly: created, or updated to match the bundle.
	PolicyExact Policy = "exact"
	// PolicyExist kinds must exist but the destination owns their details:
	// created if missing, otherwise left alone.
	PolicyExist Policy = "exist"
	// PolicySync kinds are brought in line with the bundle (project content,
	// tenants and their links and variables).
	PolicySync Policy = "sync"
	// PolicyNever kinds are never exported or applied (audit data); they are
	// listed so the tool can say so and the simulator can serve them.
	PolicyNever Policy = "never"
)

// Scope says where the name a reference points at is unique.
type Scope string

const (
	// ScopeSpace: the name is unique in the space (environments, lifecycles…).
	ScopeSpace Scope = ""
	// ScopeSelf: the name is unique within the entity holding the reference
	// (a project's own channels, actions and templates).
	ScopeSelf Scope = "self"
	// ScopeOwner: the name is unique within the entity's owner (the project a
	// deployment process, channel or variable set belongs to).
	ScopeOwner Scope = "owner"
	// ScopeKey1 and ScopeKey3 take the scope from the map key at path segment
	// 1 or 3 (0-based) of the reference's path, as read before any rewriting
	// (tenant variables are keyed by project, then environment, then template).
	ScopeKey1 Scope = "key:1"
	// ScopeSibling takes the scope from a sibling field of the object
	// holding the reference (Ref.Sibling), as read before any rewriting: a
	// tenant variable's TemplateId is a template of the project its
	// ProjectId names. Rewrite visits such references before the others, so
	// the sibling still holds what was read when they are visited (see
	// SiblingValue).
	ScopeSibling Scope = "sibling"
)

// Names of reference targets that are not API collections: their names are
// unique only within one project (or library variable set) and they are
// indexed from the entities that contain them (see Provide).
const (
	// Action is a step action; named by action name within a project. Actions
	// of runbook processes are named "Runbook name/Action name".
	Action = "Action"
	// ProcessOwner is a deployment process or runbook that a variable is
	// scoped to: the project's own name, or a runbook name.
	ProcessOwner = "ProcessOwner"
	// ProjectTemplate is a tenant variable template of a project, by name.
	ProjectTemplate = "ProjectTemplate"
	// LibraryTemplate is a tenant common variable template of a library
	// variable set, by name.
	LibraryTemplate = "LibraryTemplate"
	// AnyKind marks a reference in free-form step properties whose target
	// kind is told by the ID's prefix (Accounts-3, Certificates-7 …). In a
	// bundle such a value becomes {"$ref": KIND, "name": NAME}.
	AnyKind = "*"
)

// Cond restricts a reference to objects whose sibling Field holds one of Values.
type Cond struct {
	Field  string
	Values []string
}

// Ref is one place where a kind refers to another entity.
type Ref struct {
	// Path is a slash-separated path into the entity's JSON. "*" steps into
	// every array element or map value; a final "~" means the keys of the map
	// reached so far are the references. The last segment names a string or
	// an array of strings (arrays are stepped into implicitly).
	Path string
	// To is the kind referred to (a Kind name, Action, ProcessOwner,
	// ProjectTemplate, LibraryTemplate or AnyKind).
	To string
	// Within is where the referred-to name is unique.
	Within Scope
	// When, if set, restricts the reference to objects (the parent of the
	// leaf) whose field Cond.Field holds one of Cond.Values.
	When *Cond
	// Split, if set, means the value is a list joined by Split
	// ("Teams-1,Teams-2"); each element is a reference.
	Split string
	// Soft marks a reference that records data the entity holds for
	// another entity (a tenant's link to a project, its variable values
	// for a project or library variable set) rather than something it
	// depends on. A partial export follows hard references and drops what a
	// soft one to an entity it does not include holds: the map key, or the
	// array element holding the reference.
	Soft bool
	// Sibling names the field of the object holding the reference whose
	// value is the reference's scope (Within ScopeSibling).
	Sibling string
	// Stamp, if set, is a sibling field that records a property of the
	// referred-to entity and differs per instance, so it is volatile in a
	// bundle and filled in by the writer when absent.
	Stamp *Stamp
}

// Stamp says which sibling field of a reference records which field of the
// referred-to entity: a step based on a step template carries the
// template's Version in "Octopus.Action.Template.Version".
type Stamp struct {
	// Field is the sibling field, in the object holding the reference.
	Field string
	// From is the referred-to entity's field it copies.
	From string
}

// Secret is a place holding a write-only value (a password, a sensitive
// variable's value). Path is as in Ref.Path; When restricts it as in Ref.
type Secret struct {
	Path string
	When *Cond
	// Mixed positions hold plain strings unless the value is sensitive, in
	// which case it is a SensitiveValue object; only the objects are secrets
	// (step properties, tenant variables, template parameter defaults).
	Mixed bool
}

// SetSpec is an array whose order carries no meaning; bundles store it sorted.
type SetSpec struct {
	// Path as in Ref.Path; the path names the array itself.
	Path string
	// Key lists the fields of object elements to sort by first; elements
	// are then ordered by their canonical JSON. Empty for arrays of strings.
	Key []string
}

// Provide declares names a kind contributes to a scoped namespace, such as
// the action names of a deployment process (for variable Action scopes).
type Provide struct {
	// Kind is the namespace filled (Action, ProjectTemplate …).
	Kind string
	// Path reaches the objects that carry an Id and a Name ("Steps/*/Actions/*").
	// Empty means the entity itself.
	Path string
	// Within is the scope the names are unique in: ScopeOwner or ScopeSelf.
	Within Scope
	// Qualify prefixes each name with the owning entity's name and "/"
	// (runbook process actions are "Runbook/Action").
	Qualify bool
}

// Kind describes one Octopus resource kind.
type Kind struct {
	// Name is the registry name ("Environment").
	Name string
	// Title is the plural used in messages and docs ("environments").
	Title string
	// File is the entity's bundle path; each "{}" is replaced, in order, by
	// the escaped names of the owners and of the entity itself.
	File string
	// Collection is the API collection below /api/{spaceId}/ (or /api/ when
	// ServerLevel) that lists, creates and updates the kind. Empty for
	// singletons read through Read.
	Collection string
	// Filter holds query parameters that select this kind from a shared
	// collection (script modules and variable sets share libraryvariablesets).
	Filter map[string]string
	// ServerLevel kinds live under /api/, not under a space.
	ServerLevel bool
	// IDPrefix is the prefix of the kind's server IDs ("Environments").
	IDPrefix string
	// ExtraIDs matches IDs that do not have the "Prefix-N" shape (built-in
	// feeds, built-in user roles).
	ExtraIDs *regexp.Regexp
	// NameField is the JSON field holding the entity's name ("Name").
	// Empty for singletons, which take their owner's name.
	NameField string
	// Parent is the owning kind for nested entities (Channel → Project).
	Parent string
	// ParentField is the field holding the owner's ID (ProjectId).
	ParentField string
	// Read is the path below /api/{spaceId}/ of a singleton child, with
	// {Field} replaced from the parent entity ("variables/{VariableSetId}").
	Read string
	// ReadAll, if set, is a path below /api/{spaceId}/ that answers every
	// singleton of the kind at once, as an array whose items name their
	// owner in ParentField; readers use it instead of one Read per owner.
	ReadAll string
	// Many marks a file that holds an array of unnamed items belonging to the
	// parent (a team's scoped user roles).
	Many bool
	// Refs are the kind's references to other entities.
	Refs []Ref
	// Sets are the kind's set-like arrays, stored sorted.
	Sets []SetSpec
	// Volatile fields are dropped on export (IDs, links, versions, server
	// bookkeeping); paths as in Ref.Path.
	Volatile []string
	// Sensitive paths hold write-only values; the bundle only records that a
	// value is sensitive.
	Sensitive []Secret
	// Provides are the scoped names the kind contributes (actions, templates).
	Provides []Provide
	// Order is the kind's place in the sync order; lower goes first.
	Order int
	// Deferred fields are written in a second pass at DeferredOrder, once
	// what they refer to exists (channel version rules, tenant project links).
	Deferred []string
	// DeferredOrder is when the deferred fields are written.
	DeferredOrder int
	// Policy is the default apply policy.
	Policy Policy
	// Optional kinds are exported and applied only when asked (targets, workers).
	Optional bool
	// Prune lists top-level fields whose destination-only entries
	// `apply --prune` removes (the steps of a process, the variables of a
	// set, a tenant's links to and variable values for projects the bundle
	// holds).
	Prune []string
	// Prunable kinds are deleted by `apply --prune` when the destination has
	// one under an owner the bundle holds and the bundle does not (a
	// project's channels and runbooks). Top-level kinds never are: a bundle
	// may be a partial export.
	Prunable bool
	// IndexAs names another kind whose namespace this kind shares: script
	// modules are library variable sets, and IncludedLibraryVariableSetIds
	// refers to both.
	IndexAs string
	// PruneWithin, for a Prune field holding an array, names the element
	// field whose value an element must share with an element of the
	// bundle's array to be pruned: a tenant's destination-only variable
	// values go only under the projects and library variable sets the
	// bundle has values for (a bundle may be a partial export).
	PruneWithin map[string]string
	// Parts, if set, are the documents a current server reads and writes
	// the kind as, instead of the legacy Read document (tenant variables
	// since 2025.2: commonvariables and projectvariables).
	Parts *Parts
	// Binary kinds are files that are not JSON (a project's logo): their
	// bundle file holds the bytes the server answers at Read, and they
	// are written with a multipart PUT to the same path.
	Binary bool
}

// Parts describe a kind whose document a current server splits into
// several resources, with the legacy document (Kind.Read, Kind.ReadAll) as
// a view of the same data on older servers. The entity's shape (in a
// snapshot and in a bundle) is always the parts' shape: an object with one
// array per Part. Legacy converts to and from the legacy document.
type Parts struct {
	// Toggle is the feature toggle (GET /api/configuration/feature-toggles)
	// under which the server serves the parts and refuses legacy writes.
	Toggle string
	// Since is the first server version (major.minor) that has the parts
	// on by default; used when the server does not list the toggle.
	Since string
	// Parts are the resources, each read and written on its own.
	Parts []Part
	// FromLegacy converts a legacy document to the parts' shape.
	FromLegacy func(legacy map[string]any) map[string]any
	// ToLegacy converts a document of the parts' shape to the legacy
	// document, or says which value the legacy shape cannot express. The
	// error names what doc names (IDs or names), so callers convert
	// bundle forms to report by name.
	ToLegacy func(doc map[string]any) (map[string]any, error)
}

// Part is one resource of a Parts kind.
type Part struct {
	// Field is the entity's field holding the part's items ("CommonVariables").
	Field string
	// Path is the resource below /api/{spaceId}/, with {Field}
	// placeholders filled from the owner ("tenants/{Id}/commonvariables").
	Path string
	// Items is the field of the resource's document holding the items,
	// read and written whole ("Variables").
	Items string
}

// IsSingleton reports whether the kind has no name of its own: one per owner.
func (k *Kind) IsSingleton() bool { return k.NameField == "" }

// IsVirtual reports whether the kind is a namespace without its own collection.
func (k *Kind) IsVirtual() bool { return k.Collection == "" && k.Read == "" }

// LooksLikeID reports whether s has the shape of one of this kind's server IDs.
func (k *Kind) LooksLikeID(s string) bool {
	if k.IDPrefix != "" && strings.HasPrefix(s, k.IDPrefix+"-") && isDigits(s[len(k.IDPrefix)+1:]) {
		return true
	}
	return k.ExtraIDs != nil && k.ExtraIDs.MatchString(s)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

var guidRe = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// LooksLikeGUID reports whether s is a GUID (action, step, template and
// variable IDs are GUIDs).
func LooksLikeGUID(s string) bool { return guidRe.MatchString(s) }

// KindForID returns the collection kind whose ID shape s has, or nil.
func KindForID(s string) *Kind {
	for _, k := range ordered {
		if !k.IsVirtual() && k.Policy != PolicyNever && k.LooksLikeID(s) && k.Read == "" && !k.Many {
			return k
		}
	}
	return nil
}

// Lookup returns the kind named name, or nil.
func Lookup(name string) *Kind { return byName[name] }

// MustLookup returns the kind named name and panics if there is none; for
// names that are constants in the code.
func MustLookup(name string) *Kind {
	k := byName[name]
	if k == nil {
		panic("schema: unknown kind " + name)
	}
	return k
}

// Kinds returns every kind in sync order (ties broken by name).
func Kinds() []*Kind { return append([]*Kind(nil), ordered...) }

// Children returns the kinds whose Parent is parent, in sync order.
func Children(parent string) []*Kind {
	var out []*Kind
	for _, k := range ordered {
		if k.Parent == parent {
			out = append(out, k)
		}
	}
	return out
}

// Depth is the number of owners above the kind (Project 0, Channel 1, RunbookProcess 2).
func (k *Kind) Depth() int {
	d := 0
	for p := k.Parent; p != ""; p = byName[p].Parent {
		d++
	}
	return d
}

// Path returns the kind's bundle path for the given escaped names, owners
// first, then the entity's own name (none for singletons).
func (k *Kind) Path(escapedNames ...string) (string, error) {
	want := strings.Count(k.File, "{}")
	if len(escapedNames) != want {
		return "", fmt.Errorf("schema: %s path %q needs %d names, got %d", k.Name, k.File, want, len(escapedNames))
	}
	out := k.File
	for _, n := range escapedNames {
		out = strings.Replace(out, "{}", n, 1)
	}
	return out, nil
}

// MatchPath reports whether path is a bundle path of this kind and, if so,
// returns the escaped names in it (owners first).
func (k *Kind) MatchPath(path string) ([]string, bool) {
	pat := strings.Split(k.File, "/")
	got := strings.Split(path, "/")
	if len(pat) != len(got) {
		return nil, false
	}
	var names []string
	for i, p := range pat {
		switch {
		case p == "{}":
			if got[i] == "" {
				return nil, false
			}
			names = append(names, got[i])
		case strings.HasSuffix(p, "{}.json") || strings.Contains(p, "{}"):
			pre, suf, _ := strings.Cut(p, "{}")
			if !strings.HasPrefix(got[i], pre) || !strings.HasSuffix(got[i], suf) || len(got[i]) <= len(pre)+len(suf) {
				return nil, false
			}
			names = append(names, got[i][len(pre):len(got[i])-len(suf)])
		default:
			if p != got[i] {
				return nil, false
			}
		}
	}
	return names, true
}

// KindForPath returns the kind a bundle path belongs to and the escaped names
// in it, or nil when no kind claims the path.
func KindForPath(path string) (*Kind, []string) {
	for _, k := range ordered {
		if k.File == "" {
			continue
		}
		if names, ok := k.MatchPath(path); ok {
			return k, names
		}
	}
	return nil, nil
}

var (
	byName  = map[string]*Kind{}
	ordered []*Kind
)

func register(kinds ...*Kind) {
	for _, k := range kinds {
		if byName[k.Name] != nil {
			panic("schema: duplicate kind " + k.Name)
		}
		byName[k.Name] = k
		ordered = append(ordered, k)
	}
	sort.SliceStable(ordered, func(i, j int) bool {
		if ordered[i].Order != ordered[j].Order {
			return ordered[i].Order < ordered[j].Order
		}
		return ordered[i].Name < ordered[j].Name
	})
}

// GlobalVolatile are dropped from every entity at every depth where they
// appear as top-level fields.
var GlobalVolatile = []string{"Id", "Links", "SpaceId", "LastModifiedOn", "LastModifiedBy"}

// VersionAtLeast reports whether the Octopus version v ("2025.2.1234",
// "2024.4") is at least since (major.minor). An unreadable v is not.
func VersionAtLeast(v, since string) bool {
	maj, min, ok := majorMinor(v)
	smaj, smin, sok := majorMinor(since)
	if !ok || !sok {
		return false
	}
	return maj > smaj || (maj == smaj && min >= smin)
}

func majorMinor(v string) (major, minor int, ok bool) {
	parts := strings.SplitN(strings.TrimSpace(v), ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	digits := func(s string) string {
		for i, r := range s {
			if r < '0' || r > '9' {
				return s[:i]
			}
		}
		return s
	}
	var err1, err2 error
	major, err1 = strconv.Atoi(digits(parts[0]))
	minor, err2 = strconv.Atoi(digits(parts[1]))
	return major, minor, err1 == nil && err2 == nil
}
