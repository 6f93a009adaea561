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
	"sync"
)

// Policy is a kind policy: how apply treats an entity of a kind that
// exists on both sides. Kind.Policy is the registry's default; the bundle's
// policy file may override it per kind (package policy decides).
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
	// PolicySkip is set only by rules (policy.File.Kinds): apply
	// neither creates nor updates entities of the kind, and references to
	// them must already resolve on the destination.
	PolicySkip Policy = "skip"
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
	// MachineRole is a deployment target role ("octofx-web"), named by
	// itself: the roles the space's deployment targets have. Variable
	// values may be scoped to roles.
	MachineRole = "MachineRole"
	// TenantTag is a tenant tag, named "Tag set/Tag" (the canonical name
	// variable scopes and tenants use), provided by tag sets.
	TenantTag = "TenantTag"
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

	// The fields below drive transform's cascade when a referred-to entity
	// is dropped (see package transform) and the reference check.

	// Restricts marks a reference list that narrows where its holder
	// applies (a variable's Environment scope, a step's Channels, an
	// account's TenantIds): an empty list means "everywhere", so removing
	// the last entry would widen the holder. When a cascade empties it, the
	// holder "lost its scope" and the rules' lost-scope policy decides
	// (drop, unscope, re-scope, error). Lists that exclude (a step's
	// ExcludedEnvironments) are not restrictions: their entries are simply
	// removed.
	Restricts bool
	// Holder is the path (as in Path, a prefix of it) of the element that
	// a restriction or an OnDrop applies to: "Variables/*",
	// "Steps/*/Actions/*", "Phases/*"; empty means the entity itself (or
	// the item of a ShapeItems file).
	Holder string
	// Group joins restrictions of one holder that together form one scope
	// dimension (a phase's automatic and optional targets, a role's
	// projects and project groups): the holder loses that dimension only
	// when every list of the group is empty.
	Group string
	// OmitEmpty removes the field when a cascade leaves its list empty
	// (a variable's scope dimensions are absent rather than empty).
	OmitEmpty bool
	// OnDrop says what happens when the target of this reference is
	// dropped: "" removes the reference (an array element, a map key, a
	// single field), OnDropHolder removes the holder (a channel whose
	// lifecycle is dropped, a variable whose account is dropped),
	// OnDropError makes it an error naming the entity and field (a
	// project's lifecycle, a step's worker pool).
	OnDrop string
	// Distinct is the path of a sequence ("Phases") across whose elements
	// a value of this reference may appear once; after a merge a repeated
	// value is kept where the merge target already was (else last).
	Distinct string
	// Accepts widens what the server accepts in the field beyond the ID of
	// an existing entity of the space (AcceptAny, AcceptSlugOrExpression,
	// AcceptAnySpace); "" is that strict check. The simulator's reference
	// check and apply's server checks both follow it.
	Accepts string
}

// Values of Ref.Accepts.
const (
	// AcceptAny: the server stores the value without checking it (a free
	// -form step property, an account-type variable's value, which may be
	// an expression or name an account that does not exist).
	AcceptAny = "any"
	// AcceptSlugOrExpression: the ID or slug of an existing entity of the
	// space, or a variable expression ("#{Feed}") resolved at deployment.
	AcceptSlugOrExpression = "slug-or-expression"
	// AcceptAnySpace: the ID of an existing entity of any space (a cloud
	// target's default worker pool).
	AcceptAnySpace = "any-space"
)

// IsExpression reports whether v is, or holds, an Octopus variable
// expression ("#{Feed}"), which the server resolves at deployment and
// does not check on save.
func IsExpression(v string) bool { return strings.Contains(v, "#{") }

// Values of Ref.OnDrop.
const (
	// OnDropHolder removes the holder of a reference to a dropped entity.
	OnDropHolder = "holder"
	// OnDropError makes a reference to a dropped entity an error.
	OnDropError = "error"
)

// Container is an array whose elements hold a list of items and disappear
// when a cascade removes the last item (a step whose actions are all
// gone). With Path empty the container is the entity itself (a lifecycle
// whose phases are all gone): an entity left empty is dropped or is an
// error, as the rules say, because an empty list would widen it (a
// lifecycle with no phases allows every environment).
type Container struct {
	// Path reaches the container elements ("Steps/*"); empty for the entity.
	Path string
	// Items is the field of the container holding the item list ("Actions").
	Items string
}

// ValueSpec says where a variable container kind keeps its values, so
// transform rules can set values by name and scope and apply can check
// their scopes. Every kind keeps its values in the Items form (an array of
// value objects); transform handles no other.
type ValueSpec struct {
	// Items is the path of the array of value objects ("Variables").
	Items string
	// Name, Value and Sensitive are fields of a value object.
	Name, Value, Sensitive string
	// Scope is the field holding a dimension → names map ("Scope").
	Scope string
	// ScopeFields maps further scope dimensions to fields of a value object
	// holding one name or a list of names ({"Project": "ProjectId"}).
	ScopeFields map[string]string
	// Required are scope dimensions a value must keep at least one entry
	// of, so a value that would lose the last one is skipped, never
	// unscoped: a tenant's project value names the environments it applies
	// in. (Servers from 2025.2 take an unscoped project value through
	// tenants/{id}/projectvariables, but the legacy document, per
	// environment, cannot hold one, so a value unscoped by a rule would be
	// lost on older servers.)
	Required []string
	// Linked, if set, says that the owner entity records which entries of
	// one scope dimension the values of each set may have, and that the
	// server refuses any other (see Linked).
	Linked *Linked
	// Exclusive, if set, is a scope dimension whose entries the values of
	// one set and name may not share: the server keeps one tenant value
	// per template and environment, and refuses a second one for the same
	// environment (a value with no entries counts as one for all of them,
	// distinct from any single entry). A transform that merges Test into
	// Staging can make such a pair from values for Test and for Staging.
	Exclusive string
}

// Linked is where the owner of a kind's values (the parent entity: a
// tenant) records, per set of values (a project, named by the value's
// ScopeFields entry that is not a scope dimension), the entries of a scope
// dimension the set's values may have: a tenant's value for a project
// applies only in the environments the tenant is connected to that project
// in (Tenant.ProjectEnvironments). The server refuses a value for a set the
// owner does not link, and one with an entry the link lacks.
type Linked struct {
	// Path is the owner's map from set name to entries ("ProjectEnvironments").
	Path string
	// Dimension, if set, is the scope dimension whose entries must be in
	// the set's list ("Environment").
	Dimension string
	// Through, if set, says the set is not a key of Path but must be
	// listed by one of the entities the keys name: a tenant's common value
	// for a library variable set needs a connected project that includes
	// the set.
	Through *Through
	// Legacy is the field of the kind's legacy document holding these
	// values ("ProjectVariables", "LibraryVariables"), which the server's
	// refusals of a legacy write name.
	Legacy string
}

// Through names the field (a list of names) of the entities of Kind that
// must list a value's set (see Linked).
type Through struct {
	// Kind is the kind of the entities the owner's links name (Project).
	Kind string
	// Field is their field listing the sets ("IncludedLibraryVariableSetIds").
	Field string
}

// Unique declares elements of a document whose names the server requires
// to be unique within the document, comparing them case-insensitively as
// Octopus does: the steps of a deployment or runbook process, and their
// actions (across all steps: an action's name is unique in the process,
// not only in its step). apply's plan checks it so that a merged process
// the server would refuse is a plan error, not a 400 at apply time.
type Unique struct {
	// Path reaches the elements, as in Ref.Path ("Steps/*/Actions/*").
	Path string
	// Field is the element's name field ("Name").
	Field string
	// Noun names the elements in the server's messages ("Step", "Action":
	// "Action names must be unique: 'X' is used more than once.").
	Noun string
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
	// Role says what the secret holds, which decides the placeholder apply
	// writes for a new one (see SecretRole).
	Role SecretRole
}

// SecretRole is what a secret holds, as far as apply's placeholders care.
type SecretRole int

const (
	// SecretText is any write-only value: its placeholder is text.
	SecretText SecretRole = iota
	// SecretCertificate is a certificate file (PEM or PFX, base64): its
	// placeholder is a generated self-signed certificate a server accepts.
	SecretCertificate
	// SecretCertificatePassword is the password of the entity's
	// certificate file: the generated placeholder certificate has none.
	SecretCertificatePassword
)

// SecretRole returns the role of the secret at path at (top-level secrets
// of a fixed path: a certificate's data and password); SecretText for
// every other position.
func (k *Kind) SecretRole(at []string) SecretRole {
	p := strings.Join(at, "/")
	for _, s := range k.Sensitive {
		if s.Role != SecretText && s.Path == p {
			return s.Role
		}
	}
	return SecretText
}

// ExportFilter says which entities of a kind a whole-space export writes,
// for kinds whose server holds entities that are not the space's own. A
// partial export (export --project) leaves out every kind with a filter,
// and everything below one: they are not dependencies of a project.
type ExportFilter string

const (
	// ExportAll writes every entity (the default).
	ExportAll ExportFilter = ""
	// ExportSpaceOwn writes only the space's own entities: one whose
	// SpaceId is not the space's, or whose ID is built in (ExtraIDs),
	// belongs to the server (a system team) and is left out with
	// everything below it.
	ExportSpaceOwn ExportFilter = "space-own"
	// ExportUsed writes the entities users created (IDs of the IDPrefix-N
	// shape), and built-in ones only when an exported entity refers to
	// them (the built-in user roles that exported team permissions grant).
	ExportUsed ExportFilter = "used"
)

// Filtered reports whether a whole-space export decides on each entity of
// k, or of a kind above it, one by one (see ExportFilter).
func (k *Kind) Filtered() bool {
	for ; k != nil; k = byName[k.Parent] {
		if k.Export != ExportAll {
			return true
		}
	}
	return false
}

// Tally is a count a bundle's summary keeps per project (see Kind.Tally).
type Tally struct {
	// As names the count ("Steps", "Variables", "Runbooks", "Channels").
	As string
	// Items, if set, is the entity's array whose elements are counted
	// ("Steps"); otherwise each entity counts one.
	Items string
}

// Count returns what one entity document adds to the tally.
func (t *Tally) Count(doc any) int {
	if t.Items == "" {
		return 1
	}
	m, _ := doc.(map[string]any)
	items, _ := m[t.Items].([]any)
	return len(items)
}

// Keep is why `apply --remove-destination-only` keeps a destination-only
// entity of a DeleteDestOnly kind: its owner needs it.
type Keep struct {
	// Field, if set, is a boolean field of the entity that keeps it when
	// true ("IsDefault": a project's default channel).
	Field string
	// OwnerRef, if set, is the path (as in Ref.Path, without "*") of the
	// owner's field holding the ID of an entity it keeps
	// ("ReleaseCreationStrategy/ChannelId"): the destination owner's
	// value, unless the bundle's owner document sets the field, whose
	// choice, a bundle entity, is never destination-only.
	OwnerRef string
	// Why is the plan's note ("it is the project's default channel").
	Why string
}

// Kept returns why `apply --prune` keeps the destination's entity doc
// (server ID id) of kind k, which the bundle lacks, given its owner's
// destination document and the bundle's owner document (nil when the
// bundle has none): the Why of the first Keep that holds, or "".
func (k *Kind) Kept(doc map[string]any, id string, destOwner, bundleOwner map[string]any) string {
	for _, kp := range k.Keep {
		if kp.Field != "" {
			if b, _ := doc[kp.Field].(bool); b {
				return kp.Why
			}
		}
		if kp.OwnerRef != "" {
			segs := strings.Split(kp.OwnerRef, "/")
			if _, set := lookupPath(bundleOwner, segs); set {
				continue
			}
			v, _ := lookupPath(destOwner, segs)
			if s, _ := v.(string); s != "" && s == id {
				return kp.Why
			}
		}
	}
	return ""
}

// lookupPath returns the value at segs in nested objects and whether the
// last object holds the key (a null counts as set).
func lookupPath(m map[string]any, segs []string) (any, bool) {
	for i, s := range segs {
		v, ok := m[s]
		if i == len(segs)-1 || !ok {
			return v, ok
		}
		if m, ok = v.(map[string]any); !ok {
			return nil, false
		}
	}
	return nil, false
}

// Root returns the kind at the top of k's chain of owners, k itself for a
// top-level kind (Project for a runbook process).
func (k *Kind) Root() *Kind {
	for k.Parent != "" {
		k = byName[k.Parent]
	}
	return k
}

// Selectable reports whether a partial export selects entities of kind k
// by name (export --project; the manifest's Projects): such a bundle
// speaks for the selected entities and everything below them.
func (k *Kind) Selectable() bool { return k.Name == Project }

// SelectedBy returns the name of the selectable entity (see Selectable)
// that the entity of kind k named names is or lies below, as a partial
// export's list names it; false when it lies below none (a tenant, an
// environment).
func (k *Kind) SelectedBy(names []string) (string, bool) {
	if !k.Root().Selectable() || len(names) == 0 {
		return "", false
	}
	return names[0], true
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
	// Within is the scope the names are unique in: ScopeOwner, ScopeSelf
	// or ScopeSpace (machine roles, tenant tags).
	Within Scope
	// Qualify prefixes each name with the owning entity's name and "/"
	// (runbook process actions are "Runbook/Action"; for a top-level kind
	// the entity's own name: tenant tags are "Tag set/Tag").
	Qualify bool
}

// ScopeDimension is one key of a variable value's scope: what its entries
// name and what apply does, by default, when some of them exist neither in
// the bundle nor on the destination.
type ScopeDimension struct {
	// Name is the scope key ("Environment").
	Name string
	// To is the kind or namespace the entries name.
	To string
	// Within is where the entry names are unique.
	Within Scope
	// Mismatch is the default mismatch mode (the values of
	// policy.ScopeMode: "exact", "partial", "ignore", "ignore-new"), used
	// when no rule of the bundle's apply policy matches. A default never
	// widens a value: "ignore" (which removes missing entries and may
	// leave a dimension empty, that is unscoped) is only ever a rule's
	// choice. Empty means entries are kept as they are unless a rule says
	// otherwise: only for free-text entries the server accepts whether or
	// not anything has them (roles), where keeping one neither widens the
	// value nor fails the write.
	Mismatch string
}

// ScopeDimensions are the variable scope dimensions, in the order Octopus
// lists them. Entries within one dimension are alternatives (a value
// scoped to Staging and Production applies to either), so dropping an
// entry that does not exist narrows a value and "partial" is the default;
// tenant tags of different tag sets must all match, so dropping one would
// widen the value and their default is "exact". Deployment targets differ
// per instance (the guide: skip a machine-scoped value unless there is a
// partial match). Roles are free text ("roles will be the same" on both
// instances, the guide says, and a destination often has no targets yet):
// by default they are kept as they are, which cannot widen a value; a rule
// can still compare them with the roles of the destination's deployment
// targets.
var ScopeDimensions = []ScopeDimension{
	{Name: "Environment", To: Environment, Mismatch: "partial"},
	{Name: "Channel", To: Channel, Within: ScopeOwner, Mismatch: "partial"},
	{Name: "ProcessOwner", To: ProcessOwner, Within: ScopeOwner, Mismatch: "partial"},
	{Name: "Action", To: Action, Within: ScopeOwner, Mismatch: "partial"},
	{Name: "Role", To: MachineRole},
	{Name: "Machine", To: DeploymentTarget, Mismatch: "partial"},
	{Name: "TenantTag", To: TenantTag, Mismatch: "exact"},
}

// LookupDimension returns the scope dimension named name
// (case-insensitively), or nil.
func LookupDimension(name string) *ScopeDimension {
	for i := range ScopeDimensions {
		if strings.EqualFold(ScopeDimensions[i].Name, name) {
			return &ScopeDimensions[i]
		}
	}
	return nil
}

// Shape is the form of a kind's bundle file and server document. Each
// shape is implemented once — by the walker, the bundle reader and writer,
// export's conversion and apply's reads and writes — and code asks a kind
// for its shape, never which kind it is. A shape is a general form, not a
// kind's name in disguise, even where one kind has it today (the logo is
// the only binary file, tenant variables the only document in parts).
type Shape int

const (
	// ShapeObject is one JSON object per entity (or per owner, for a
	// singleton): the default.
	ShapeObject Shape = iota
	// ShapeItems is one file per owner holding a JSON array of unnamed
	// items, each a server entity of its own that belongs to the owner (a
	// team's scoped user roles); Kind.ItemName names an item in reports.
	ShapeItems
	// ShapeBinary is a file that is not JSON (a project's logo): the
	// bundle file holds the bytes the server answers at Read, and it is
	// written with a multipart PUT to the same path. It holds no
	// references, secrets or texts.
	ShapeBinary
	// ShapeParts is one JSON object that a current server reads and writes
	// as several resources (Kind.Parts), and an older one as a legacy
	// document at Read (tenant variables).
	ShapeParts
)

// String returns the shape's name, for messages and tests.
func (s Shape) String() string {
	switch s {
	case ShapeObject:
		return "object"
	case ShapeItems:
		return "items"
	case ShapeBinary:
		return "binary"
	case ShapeParts:
		return "parts"
	}
	return "Shape(" + strconv.Itoa(int(s)) + ")"
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
	// ReadAll, if set, is the kind's list form: a path below
	// /api/{spaceId}/ that answers the singletons of many owners in one
	// request; readers use it instead of one Read per owner, and read an
	// owner on its own (at Read) only when the answer lacks it or the
	// server answers the list form 404. Without ReadAllBy the answer is
	// every singleton of the kind in the space (tenantvariables/all), each
	// naming its owner in ParentField.
	ReadAll string
	// ReadAllBy, if set, is the owner's field holding the ID of its
	// singleton ("DeploymentProcessId"), the field Read's path is filled
	// from: readers match each item of the list to its owner by the item's
	// Id, and ignore what else the list holds (a real server's frozen
	// copies of processes and variable sets that releases and runbook
	// snapshots take).
	ReadAllBy string
	// ReadAllIDs says that ReadAll takes ids (?ids=a,b,c) and answers
	// only those: readers ask for a batch of owners' singletons a request.
	// Without it a list with ReadAllBy is read whole, page by page.
	ReadAllIDs bool
	// ReadAllPaged says that ReadAll answers a page of a collection
	// (Items, TotalResults; skip and take honoured, take 30 when not
	// given) rather than a bare array.
	ReadAllPaged bool
	// Shape is the form of the kind's bundle file and server document
	// (see Shape); the zero value is ShapeObject.
	Shape Shape
	// Refs are the kind's references to other entities.
	Refs []Ref
	// Sets are the kind's set-like arrays, stored sorted.
	Sets []SetSpec
	// Lists are the kind's arrays of objects and how the merge engine
	// aligns and merges each (key, strategy, destination-only elements,
	// renames, owners): the one place element identity is declared.
	Lists []List
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
	// DestOnlyKeys lists top-level map fields whose destination-only keys
	// `apply --remove-destination-only` removes (a tenant's links to
	// projects the bundle holds); lists say it in List.DestOnly.
	DestOnlyKeys []string
	// DeleteDestOnly kinds are deleted by `apply
	// --remove-destination-only` when the destination has one under an
	// owner the bundle holds and the bundle does not (a project's channels
	// and runbooks). Top-level kinds never are: a bundle may be a partial
	// export. (What --prune deletes, the source deleted: see the base.)
	DeleteDestOnly bool
	// Keep says which destination-only entities of a DeleteDestOnly kind
	// `apply --remove-destination-only` keeps because their owner needs them (see Keep).
	Keep []Keep
	// Export says which of the kind's entities a whole-space export
	// writes (see ExportFilter); the zero value, every one.
	Export ExportFilter
	// Tally, if set, is what a bundle's summary (octobundle inspect) counts
	// of the kind for each selectable entity (project) it lies below.
	Tally *Tally
	// DeletesWith, for a DeleteDestOnly kind, names what the server deletes
	// along with an entity ("its process and snapshots"), for the reason a
	// plan gives for deleting one.
	DeletesWith string
	// IndexAs names another kind whose namespace this kind shares: script
	// modules are library variable sets, and IncludedLibraryVariableSetIds
	// refers to both.
	IndexAs string
	// TagRefs are fields holding canonical tenant tag names ("TagSet/Tag"):
	// not server IDs (so export and apply leave them alone), but they refer
	// to a tag set, and transform's cascade and rule selection (`tag:`)
	// follow them. Restricts/Holder/OmitEmpty as in Refs.
	TagRefs []Ref
	// Containers are the kind's arrays (or the entity itself) that vanish
	// when a cascade empties them (see Container).
	Containers []Container
	// Values locate the kind's variable values: transform's value rules set
	// them, and apply checks them per scope dimension against the
	// destination and the bundle's apply policy. Empty for kinds that hold
	// none.
	Values []ValueSpec
	// ItemName is the field naming the items of a ShapeItems file in reports and
	// rule selectors ("UserRoleId").
	ItemName string
	// TagNames, for a kind whose entities hold tenant tags (tag sets), is
	// the path of the tag names ("Tags/*/Name"); a tag reference "Set/Tag"
	// resolves to tag Tag of the entity named Set.
	TagNames string
	// Parts are the documents a current server reads and writes a kind of
	// ShapeParts as, instead of the legacy Read document (tenant variables
	// since 2025.2: commonvariables and projectvariables); set exactly
	// when Shape is ShapeParts.
	Parts *Parts
	// KeepDestination lists the paths (as in Ref.Path, "*" for any array
	// element or map key) of fields whose three-way merge conflicts —
	// changed at the source and on the destination since the last apply,
	// or, without a base, differing — are decided for the destination by
	// default: variable values, which the destination's people set for
	// their own environments. Every other field's conflicts go to the
	// source (process and step content). The bundle's apply policy and
	// apply's --on-conflict override both (see apply's merge3.go).
	KeepDestination []string
	// MadeWithParent says the server creates an entity of this kind with
	// every new parent (a new project's Default channel): apply, having
	// created the parent, lists the parent's entities of this kind once and
	// brings a same-named one in line instead of creating it. Children of
	// kinds without it are created straight away.
	MadeWithParent bool
	// Unique lists the kind's element lists whose names the server
	// requires to be unique within one document (see Unique).
	Unique []Unique
	// Pairs are fields whose values the server accepts only in certain
	// combinations (see Pair).
	Pairs []Pair
	// Required are top-level fields the server refuses to save the kind
	// without (empty string, empty list or absent), beyond the name of
	// named kinds and the owner field of nested ones, which apply fills
	// in: "The AccountType field is required.".
	Required []string
	// Texts are the kind's long text fields (scripts), which bundles of
	// format octobundle/v2 keep in sidecar text files beside the entity's
	// JSON file, so a one-line script change is a one-line diff.
	Texts []TextField

	// fileSegs is File split at "/", set when the kind registers.
	fileSegs []string
}

// TextField is a long text field of a kind (see Kind.Texts).
type TextField struct {
	// Path is the field, as in Ref.Path: "*" stands for every element of
	// an array. The file is named after the innermost array element on the
	// path (its identity: an action's name, a variable's name and scope),
	// or File when there is none.
	Path string
	// File is the file's base name when no array element names it.
	File string
	// Syntax is the path, relative to that element (or the document), of
	// the field naming the script's syntax (PowerShell, Bash, CSharp,
	// FSharp, Python), which picks the file's extension; otherwise, or for
	// another syntax, the extension is .txt.
	Syntax string
	// MultiLine moves only values that span lines (variable values: most
	// are one word; script module bodies are not).
	MultiLine bool
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
func (k *Kind) LooksLikeID(s string) bool { return k.IsCreatedID(s) || k.IsBuiltInID(s) }

// IsCreatedID reports whether s has the IDPrefix-N shape of the IDs of
// entities users create ("UserRoles-12").
func (k *Kind) IsCreatedID(s string) bool {
	return k.IDPrefix != "" && strings.HasPrefix(s, k.IDPrefix+"-") && isDigits(s[len(k.IDPrefix)+1:])
}

// IsBuiltInID reports whether s is the ID of an entity the server ships
// (ExtraIDs: built-in feeds, system teams, built-in user roles).
func (k *Kind) IsBuiltInID(s string) bool { return k.ExtraIDs != nil && k.ExtraIDs.MatchString(s) }

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
		if !k.IsVirtual() && k.Policy != PolicyNever && k.LooksLikeID(s) && k.Read == "" && k.Shape != ShapeItems {
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
	if k.File == "" {
		return nil, false
	}
	return matchSegs(k.segs(), strings.Split(path, "/"))
}

// segs returns the segments of the kind's File pattern: split once when
// the kind registers (MatchPath and KindForPath run for every file a
// bundle or state holds, several times, and splitting the pattern each
// time cost more than the match), or now for a kind made elsewhere.
func (k *Kind) segs() []string {
	if k.fileSegs != nil {
		return k.fileSegs
	}
	return strings.Split(k.File, "/")
}

// matchSegs is MatchPath over the pattern's and the path's segments.
func matchSegs(pat, got []string) ([]string, bool) {
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
	got := strings.Split(path, "/")
	for _, k := range ordered {
		if k.File == "" {
			continue
		}
		if names, ok := matchSegs(k.segs(), got); ok {
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
		if (k.Shape == ShapeParts) != (k.Parts != nil) {
			panic("schema: " + k.Name + ": Parts is set exactly for ShapeParts")
		}
		if k.File != "" {
			k.fileSegs = strings.Split(k.File, "/")
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

// TagKind returns a view of k whose references are its TagRefs (canonical
// tenant tag names), for walking them with the same walker as Refs.
func (k *Kind) TagKind() *Kind {
	return &Kind{Name: k.Name, Shape: k.Shape, Refs: k.TagRefs}
}

// Aliases returns the kinds whose IDs share k's namespace on the server, k
// first: script modules and library variable sets are one collection
// (LibraryVariableSets-N), so a reference to either may name the other.
// Computed once from the registry; callers must not change the slice.
func (k *Kind) Aliases() []*Kind {
	aliasesOnce.Do(func() {
		aliasesOf = map[*Kind][]*Kind{}
		for _, a := range ordered {
			out := []*Kind{a}
			if a.IDPrefix != "" {
				for _, o := range ordered {
					if o != a && o.IDPrefix == a.IDPrefix && !o.IsSingleton() && o.Policy != PolicyNever {
						out = append(out, o)
					}
				}
			}
			aliasesOf[a] = out
		}
	})
	if out, ok := aliasesOf[k]; ok {
		return out
	}
	return []*Kind{k}
}

var (
	aliasesOnce sync.Once
	aliasesOf   map[*Kind][]*Kind
)
