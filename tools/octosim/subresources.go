package octosim

import (
	"net/http"
	"strings"
	"time"

	"github.com/octobundle/octobundle/schema"
)

// subResource is one entry of an entity's Links beyond Self, its child
// collections and its owned singletons (see links), and, unless it points
// through another entity or is served elsewhere, the nested route the link
// names: /{owner}/{id}/{Sub}.
type subResource struct {
	// Owner is the collection whose entities carry the link.
	Owner string
	// Link is the Links key ("Releases").
	Link string
	// Sub is the path segment below the entity ("releases"); empty with
	// Through for a link to the related entity itself.
	Sub string
	// Query is the URI template suffix of the link ("{?skip,take}").
	Query string
	// Through, if set, makes the link point below another entity:
	// /{Through.Coll}/{doc[Through.Field]}/{Sub}.
	Through *linkThrough
	// List answers the route with the entities of another collection that
	// refer to the owner.
	List *subList
	// Doc answers the route with a computed document.
	Doc func(s *Server, sp *space, owner map[string]any) any
	// Action answers POST of the route: a command on the owner (a
	// certificate's archive), not a document to read; GET answers 405.
	Action func(s *Server, r *request, sp *space, owner map[string]any) (int, any, error)
	// External marks a route served by a handler registered with
	// registerSubResource (deployment settings, triggers, logo), not by
	// this table.
	External bool
}

type linkThrough struct{ Coll, Field string }

// subList selects the entities of Coll whose Field holds (or, for arrays,
// contains) the owner's ID; Array answers a bare array instead of a page.
type subList struct {
	Coll, Field string
	Array       bool
}

// machineQuery is the query part of machine list templates on current
// servers.
const machineQuery = "{?skip,take,name,ids,partialName,roles,isDisabled,healthStatuses,commStyles,tenantIds,tenantTags,environmentIds,thumbprint,deploymentId,shellNames,deploymentTargetTypes}"

// subResources are the links and nested routes of real 2024–2025 payloads
// that are not derived from the registry's parent/child structure.
var subResources = []subResource{
	{Owner: "projects", Link: "Releases", Sub: "releases", Query: "{/version}{?skip,take,searchByVersion}", External: true},
	{Owner: "projects", Link: "RunbookSnapshots", Sub: "runbookSnapshots", Query: "{/name}{?skip,take,searchByName}", List: &subList{Coll: "runbookSnapshots", Field: "ProjectId"}},
	{Owner: "projects", Link: "Summary", Sub: "summary", Doc: projectSummary},
	{Owner: "projects", Link: "Progression", Sub: "progression", Query: "{?aggregate}", Doc: projectProgression},
	{Owner: "projects", Link: "Triggers", Sub: "triggers", Query: "{?skip,take,partialName,triggerActionType,triggerActionCategory,runbooks}", External: true},
	{Owner: "projects", Link: "DeploymentSettings", Sub: "deploymentsettings", External: true},
	{Owner: "projects", Link: "Logo", Sub: "logo", External: true},
	{Owner: "projects", Link: "ConvertToVcs", Sub: "git/convert", Action: convertProjectToVcs},
	// Users (users.go, not a registry collection).
	{Owner: "users", Link: "Spaces", Sub: "spaces", Doc: userSpaces},
	{Owner: "users", Link: "Teams", Sub: "teams", Query: "{?spaces,includeSystem}", Doc: userTeams},
	{Owner: "projectgroups", Link: "Projects", Sub: "projects", List: &subList{Coll: "projects", Field: "ProjectGroupId"}},
	{Owner: "lifecycles", Link: "Projects", Sub: "projects", List: &subList{Coll: "projects", Field: "LifecycleId", Array: true}},
	{Owner: "workerpools", Link: "Workers", Sub: "workers", Query: "{?skip,take}", List: &subList{Coll: "workers", Field: "WorkerPoolIds"}},
	{Owner: "environments", Link: "Machines", Sub: "machines", Query: machineQuery, List: &subList{Coll: "machines", Field: "EnvironmentIds"}},
	{Owner: "channels", Link: "Releases", Sub: "releases", Query: "{?skip,take,searchByVersion}", List: &subList{Coll: "releases", Field: "ChannelId"}},
	{Owner: "channels", Link: "Project", Through: &linkThrough{Coll: "projects", Field: "ProjectId"}},
	{Owner: "runbooks", Link: "Project", Through: &linkThrough{Coll: "projects", Field: "ProjectId"}},
	{Owner: "runbooks", Link: "RunbookSnapshots", Sub: "runbookSnapshots", Query: "{/name}{?skip,take,searchByName}", List: &subList{Coll: "runbookSnapshots", Field: "RunbookId"}},
	{Owner: "runbooks", Link: "RunbookSnapshotTemplate", Sub: "runbookSnapshotTemplate", Through: &linkThrough{Coll: "runbookProcesses", Field: "RunbookProcessId"}},
	{Owner: "runbookProcesses", Link: "RunbookSnapshotTemplate", Sub: "runbookSnapshotTemplate", Doc: runbookSnapshotTemplate},
	{Owner: "runbookProcesses", Link: "Runbook", Through: &linkThrough{Coll: "runbooks", Field: "RunbookId"}},
	{Owner: "deploymentprocesses", Link: "Template", Sub: "template", Query: "{?channel,releaseId}", Doc: deploymentProcessTemplate},
}

// subResourceLinks adds the table's links of doc to l.
func (s *Server) subResourceLinks(sp *space, spec *collSpec, doc map[string]any, self string, l map[string]any) {
	for _, sr := range subResources {
		if sr.Owner != spec.Name {
			continue
		}
		base := self
		if sr.Through != nil {
			id := str(doc[sr.Through.Field])
			if id == "" {
				continue
			}
			base = "/api/" + sp.id() + "/" + sr.Through.Coll + "/" + id
		}
		p := base
		if sr.Sub != "" {
			p += "/" + sr.Sub
		}
		l[sr.Link] = p + sr.Query
	}
}

// findSubResource returns the route entry for /{owner}/{id}/{segs…}.
func findSubResource(owner string, segs []string) *subResource {
	sub := strings.Join(segs, "/")
	for i := range subResources {
		sr := &subResources[i]
		if sr.Owner == owner && sr.Through == nil && !sr.External && strings.EqualFold(sr.Sub, sub) {
			return sr
		}
	}
	return nil
}

// serveSubResource answers GET of a table route, or POST of an Action.
func (s *Server) serveSubResource(r *request, sp *space, sr *subResource, owner map[string]any) (int, any, error) {
	if sr.Action != nil {
		if r.method != http.MethodPost {
			return 0, nil, methodNotAllowed(r.method, r.path)
		}
		return sr.Action(s, r, sp, owner)
	}
	if r.method != http.MethodGet {
		return 0, nil, methodNotAllowed(r.method, r.path)
	}
	if sr.Doc != nil {
		return http.StatusOK, sr.Doc(s, sp, owner), nil
	}
	target := lookupColl(sr.List.Coll)
	ownerID := map[string]bool{strings.ToLower(str(owner["Id"])): true}
	items := []map[string]any{}
	for _, d := range s.selected(r, sp, target, nil) {
		if anyValueIn(d[sr.List.Field], ownerID) {
			items = append(items, d)
		}
	}
	if sr.List.Array {
		return http.StatusOK, encodeNow(renderedItems{s: s, sp: sp, spec: target, docs: items}), nil
	}
	out := page(r, target.ItemType, items)
	out["Items"] = renderedItems{s: s, sp: sp, spec: target, docs: out["Items"].([]map[string]any)}
	return http.StatusOK, encodeNow(out), nil
}

// projectSummary is GET /projects/{id}/summary.
func projectSummary(s *Server, sp *space, p map[string]any) any {
	hasRunbooks := len(sp.coll("runbooks").whereAny("ProjectId", str(p["Id"]))) > 0
	proc := sp.coll("deploymentprocesses").get(str(p["DeploymentProcessId"]))
	return map[string]any{"HasRunbooks": hasRunbooks, "HasDeploymentProcess": proc != nil && len(asSlice(proc["Steps"])) > 0}
}

// projectProgression is GET /projects/{id}/progression: the environments
// of the project's lifecycle (every environment when the lifecycle has no
// phases) and, since the simulator deploys nothing, no releases.
func projectProgression(s *Server, sp *space, p map[string]any) any {
	envIDs := map[string]bool{}
	if lc := sp.coll("lifecycles").get(str(p["LifecycleId"])); lc != nil {
		for _, ph := range asSlice(lc["Phases"]) {
			m, _ := ph.(map[string]any)
			for _, e := range append(strs(m["AutomaticDeploymentTargets"]), strs(m["OptionalDeploymentTargets"])...) {
				envIDs[strings.ToLower(e)] = true
			}
		}
	}
	envs := []any{}
	for _, e := range sp.coll("environments").all() {
		if len(envIDs) == 0 || envIDs[strings.ToLower(str(e["Id"]))] {
			envs = append(envs, map[string]any{"Id": e["Id"], "Name": e["Name"]})
		}
	}
	return map[string]any{
		"Environments": envs, "ChannelEnvironments": map[string]any{}, "LifecycleEnvironments": map[string]any{},
		"Releases": []any{}, "Links": map[string]any{},
	}
}

// deploymentProcessTemplate is GET /deploymentprocesses/{id}/template: what
// a new release of the process would need.
func deploymentProcessTemplate(s *Server, sp *space, proc map[string]any) any {
	return map[string]any{
		"DeploymentProcessId": proc["Id"], "LastReleaseVersion": nil, "NextVersionIncrement": "0.0.1",
		"VersioningPackageStepName": nil, "VersioningPackageReferenceName": nil,
		"Packages": processPackages(proc), "GitResources": []any{}, "Links": map[string]any{},
	}
}

// runbookSnapshotTemplate is GET /runbookProcesses/{id}/runbookSnapshotTemplate.
func runbookSnapshotTemplate(s *Server, sp *space, proc map[string]any) any {
	return map[string]any{
		"RunbookProcessId": proc["Id"], "RunbookId": proc["RunbookId"], "NextNameIncrement": "Snapshot 1",
		"Packages": processPackages(proc), "GitResources": []any{}, "Links": map[string]any{},
	}
}

// processPackages lists the package references of a process as release
// template packages.
func processPackages(proc map[string]any) []any {
	out := []any{}
	for _, st := range asSlice(proc["Steps"]) {
		sm, _ := st.(map[string]any)
		for _, a := range asSlice(sm["Actions"]) {
			am, _ := a.(map[string]any)
			for _, p := range asSlice(am["Packages"]) {
				pm, _ := p.(map[string]any)
				out = append(out, map[string]any{
					"ActionName": am["Name"], "StepName": sm["Name"], "PackageReferenceName": pm["Name"],
					"PackageId": pm["PackageId"], "FeedId": pm["FeedId"], "IsResolvable": true,
				})
			}
		}
	}
	return out
}

// The certificate actions answer the rendered certificate, and rendering
// reads this table, so they join it here (not in its initializer).
func init() {
	subResources = append(subResources,
		subResource{Owner: "certificates", Link: "Archive", Sub: "archive", Action: archiveCertificate(true)},
		subResource{Owner: "certificates", Link: "Unarchive", Sub: "unarchive", Action: archiveCertificate(false)})
}

// archiveCertificate is POST certificates/{id}/archive (archive true) or
// /unarchive: a real server stamps Archived with the time (clears it) and
// answers the certificate.
func archiveCertificate(archive bool) func(s *Server, r *request, sp *space, owner map[string]any) (int, any, error) {
	return func(s *Server, r *request, sp *space, owner map[string]any) (int, any, error) {
		spec := lookupColl("certificates")
		doc := schema.DeepCopy(owner).(map[string]any)
		if archive {
			doc["Archived"] = time.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00")
		} else {
			doc["Archived"] = nil
		}
		s.st.collFor(sp, spec).put(str(doc["Id"]), doc)
		return http.StatusOK, s.render(sp, spec, doc, true), nil
	}
}

// convertProjectToVcs is POST projects/{id}/git/convert. The simulator
// keeps every project in the database (it has no git repositories), so
// the conversion is refused as a server refuses one it cannot reach.
func convertProjectToVcs(s *Server, r *request, sp *space, owner map[string]any) (int, any, error) {
	return 0, nil, badRequest("The simulator stores projects in its database only; converting a project to version control is not supported.")
}
