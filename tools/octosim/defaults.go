package octosim

import (
	"strings"

	"github.com/octobundle/octobundle/schema"
)

// nestedIDs are the paths of sub-objects whose Id the server generates when
// a write leaves it out: steps, actions, package references, variables,
// templates, phases, channel rules, tags.
var nestedIDs = map[string][]string{
	"deploymentprocesses": {"Steps/*", "Steps/*/Actions/*", "Steps/*/Actions/*/Packages/*"},
	"runbookProcesses":    {"Steps/*", "Steps/*/Actions/*", "Steps/*/Actions/*/Packages/*"},
	"variables":           {"Variables/*"},
	"projects":            {"Templates/*"},
	"libraryvariablesets": {"Templates/*"},
	"actiontemplates":     {"Parameters/*", "Packages/*"},
	"lifecycles":          {"Phases/*"},
	"channels":            {"Rules/*"},
	"tagsets":             {"Tags/*"},
}

// assignNestedIDs gives sub-objects without an Id a new one: a GUID, or for
// a tag "TagSets-N/Tags-M" (its set's ID, a slash, one server-wide tag
// counter), as real servers answer — the Terraform provider requires the
// slash, and go-octopusdeploy's deployment tests show "TagSets-1/Tags-1",
// "TagSets-2/Tags-2", "TagSets-1/Tags-3" side by side. A new set has no ID
// yet here; insert qualifies its tags (qualifyTagIDs) once it has one.
func (s *Server) assignNestedIDs(spec *collSpec, doc map[string]any) {
	for _, p := range nestedIDs[spec.Name] {
		segs := strings.Split(p, "/")
		forEachObject(doc, segs, func(m map[string]any) {
			if str(m["Id"]) != "" {
				s.st.noteID(str(m["Id"]))
				return
			}
			if spec.Name == "tagsets" {
				m["Id"] = s.st.nextID("Tags")
				if set := str(doc["Id"]); set != "" {
					m["Id"] = set + "/" + str(m["Id"])
				}
			} else {
				m["Id"] = newGUID()
			}
		})
	}
	if spec.Name == "tagsets" {
		for _, t := range asSlice(doc["Tags"]) {
			if m, ok := t.(map[string]any); ok {
				m["CanonicalTagName"] = str(doc["Name"]) + "/" + str(m["Name"])
			}
		}
	}
}

// qualifyTagIDs prefixes the IDs of a tag set's tags that lack it with the
// set's ID ("Tags-3" → "TagSets-2/Tags-3").
func qualifyTagIDs(doc map[string]any) {
	for _, t := range asSlice(doc["Tags"]) {
		if m, ok := t.(map[string]any); ok {
			if id := str(m["Id"]); id != "" && !strings.Contains(id, "/") {
				m["Id"] = str(doc["Id"]) + "/" + id
			}
		}
	}
}

// forEachObject calls fn for every object reached by segs ("*" steps into
// array elements).
func forEachObject(node any, segs []string, fn func(map[string]any)) {
	if len(segs) == 0 {
		if m, ok := node.(map[string]any); ok {
			fn(m)
		}
		return
	}
	switch t := node.(type) {
	case map[string]any:
		if segs[0] == "*" {
			return
		}
		forEachObject(t[segs[0]], segs[1:], fn)
	case []any:
		if segs[0] != "*" {
			return
		}
		for _, x := range t {
			forEachObject(x, segs[1:], fn)
		}
	}
}

// serverDefaults are the values the server fills on a write that leaves a
// field out, per collection. Values are copied before use.
var serverDefaults = map[string]map[string]any{
	"libraryvariablesets": {"Templates": []any{}, "Description": ""},
	"projects": {
		"IsDisabled": false, "IncludedLibraryVariableSetIds": []any{}, "Templates": []any{},
		"TenantedDeploymentMode": "Untenanted", "DefaultGuidedFailureMode": "EnvironmentDefault",
		"AutoCreateRelease": false, "ExtensionSettings": []any{},
		"PersistenceSettings": map[string]any{"Type": "Database"},
		"ProjectConnectivityPolicy": map[string]any{
			"AllowDeploymentsToNoTargets": false, "ExcludeUnhealthyTargets": false,
			"SkipMachineBehavior": "None", "TargetRoles": []any{},
		},
		"VersioningStrategy": map[string]any{"Template": "#{Octopus.Version.LastMajor}.#{Octopus.Version.LastMinor}.#{Octopus.Version.NextPatch}"},
	},
	"channels": {"IsDefault": false, "Rules": []any{}, "TenantTags": []any{}, "Description": ""},
	"runbooks": {
		"EnvironmentScope": "All", "Environments": []any{}, "MultiTenancyMode": "Untenanted",
		"DefaultGuidedFailureMode": "EnvironmentDefault",
		"RunRetentionPolicy":       map[string]any{"QuantityToKeep": float64(100), "ShouldKeepForever": false},
	},
	"environments": {
		"UseGuidedFailure": false, "AllowDynamicInfrastructure": false,
		"ExtensionSettings": []any{}, "EnvironmentTags": []any{},
	},
	"tenants":       {"ProjectEnvironments": map[string]any{}, "TenantTags": []any{}, "IsDisabled": false, "ClonedFromTenantId": nil},
	"tagsets":       {"Tags": []any{}},
	"lifecycles":    {"Phases": []any{}, "ReleaseRetentionPolicy": retention(), "TentacleRetentionPolicy": retention()},
	"projectgroups": {"EnvironmentIds": []any{}},
	"teams": {
		"MemberUserIds": []any{}, "ExternalSecurityGroups": []any{},
		"CanBeDeleted": true, "CanBeRenamed": true, "CanChangeMembers": true, "CanChangeRoles": true,
	},
	"userroles":       {"CanBeDeleted": true, "GrantedSpacePermissions": []any{}, "GrantedSystemPermissions": []any{}},
	"scopeduserroles": {"EnvironmentIds": []any{}, "ProjectIds": []any{}, "ProjectGroupIds": []any{}, "TenantIds": []any{}},
	"workerpools":     {"WorkerPoolType": "StaticWorkerPool", "IsDefault": false},
	"accounts":        {"EnvironmentIds": []any{}, "TenantIds": []any{}, "TenantTags": []any{}, "TenantedDeploymentParticipation": "Untenanted"},
	"certificates":    {"EnvironmentIds": []any{}, "TenantIds": []any{}, "TenantTags": []any{}, "TenantedDeploymentParticipation": "Untenanted"},
	"machines":        machineDefaults(),
	"workers":         machineDefaults(),
}

// machineDefaults are what a new deployment target or worker shows before
// its first health check.
func machineDefaults() map[string]any {
	return map[string]any{
		"HealthStatus": "Unknown", "Status": "Unknown", "StatusSummary": "This machine's health has not been checked.",
		"HasLatestCalamari": true, "IsInProcess": false, "IsDisabled": false,
	}
}

// serverComputed are fields the server computes: a request body never sets
// them (on create the default or derived value is used, on update the
// stored one is kept).
var serverComputed = map[string][]string{
	"workerpools":     {"CanAddWorkers"},
	"tenants":         {"ClonedFromTenantId"},
	"projects":        {"ClonedFromProjectId"},
	"machines":        {"HealthStatus", "Status", "StatusSummary", "HasLatestCalamari", "IsInProcess"},
	"workers":         {"HealthStatus", "Status", "StatusSummary", "HasLatestCalamari", "IsInProcess"},
	"actiontemplates": {"Version"}, // see stampVersion
	"teams":           {"CanBeDeleted", "CanBeRenamed", "CanChangeMembers", "CanChangeRoles"},
	"userroles":       {"CanBeDeleted"},
}

// derivedFields are computed from other fields of the same document on
// every write.
var derivedFields = map[string]map[string]func(doc map[string]any) any{
	"workerpools": {"CanAddWorkers": func(d map[string]any) any { return str(d["WorkerPoolType"]) != "DynamicWorkerPool" }},
	"libraryvariablesets": {"ContentType": func(d map[string]any) any {
		if c := str(d["ContentType"]); c != "" {
			return c
		}
		return "Variables"
	}},
}

// sequenceFields are numbered by the server on create when the body leaves
// them out: one more than the highest in the space, 0 for the first. (A
// body's explicit value, 0 included, is kept: go-octopusdeploy always
// sends SortOrder, and a bundle's order must survive apply.)
var sequenceFields = map[string]string{"environments": "SortOrder", "workerpools": "SortOrder"}

// typeField names, per collection, the field whose value picks the
// per-type defaults of typedDefaults (a feed's FeedType, an account's
// AccountType).
var typeField = map[string]string{"feeds": "FeedType", "accounts": "AccountType"}

// typedDefaults are the values the server fills, per collection and per
// value of its typeField, on a write that leaves a field out or sends it as
// null. Package acquisition follows the feed type as real servers answer it
// (container registries and Helm charts are not acquired by the server; see
// the feeds exported from live servers by OctopusTerraformExport); an Azure
// OIDC account's audience is Azure AD's token exchange
// (go-octopusdeploy's azure_oidc_account_test.go, the Octopus docs).
var typedDefaults = map[string]map[string]map[string]any{
	"feeds": {
		"NuGet":                       {"PackageAcquisitionLocationOptions": []any{"Server", "ExecutionTarget"}},
		"BuiltIn":                     {"PackageAcquisitionLocationOptions": []any{"Server", "ExecutionTarget"}},
		"Maven":                       {"PackageAcquisitionLocationOptions": []any{"Server", "ExecutionTarget"}},
		"GitHub":                      {"PackageAcquisitionLocationOptions": []any{"Server", "ExecutionTarget"}},
		"Artifactory":                 {"PackageAcquisitionLocationOptions": []any{"Server", "ExecutionTarget"}},
		"ArtifactoryGeneric":          {"PackageAcquisitionLocationOptions": []any{"Server", "ExecutionTarget"}},
		"S3":                          {"PackageAcquisitionLocationOptions": []any{"Server", "ExecutionTarget"}},
		"OctopusProject":              {"PackageAcquisitionLocationOptions": []any{"Server", "ExecutionTarget"}},
		"Docker":                      {"PackageAcquisitionLocationOptions": []any{"ExecutionTarget", "NotAcquired"}},
		"AwsElasticContainerRegistry": {"PackageAcquisitionLocationOptions": []any{"ExecutionTarget", "NotAcquired"}},
		"AzureContainerRegistry":      {"PackageAcquisitionLocationOptions": []any{"ExecutionTarget", "NotAcquired"}},
		"GoogleContainerRegistry":     {"PackageAcquisitionLocationOptions": []any{"ExecutionTarget", "NotAcquired"}},
		"OciRegistry":                 {"PackageAcquisitionLocationOptions": []any{"ExecutionTarget", "NotAcquired"}},
		"Helm":                        {"PackageAcquisitionLocationOptions": []any{"ExecutionTarget", "NotAcquired"}},
	},
	"accounts": {
		"AzureOidc": {"Audience": "api://AzureADTokenExchange"},
	},
}

// applyDefaults fills fields the server sets when a write omits them.
func applyDefaults(spec *collSpec, doc, stored map[string]any) {
	for k, v := range serverDefaults[spec.Name] {
		if _, ok := doc[k]; !ok {
			doc[k] = schema.DeepCopy(v)
		}
	}
	if f := typeField[spec.Name]; f != "" {
		for k, v := range typedDefaults[spec.Name][str(doc[f])] {
			if isEmptyValue(doc[k]) {
				doc[k] = schema.DeepCopy(v)
			}
		}
	}
	for k, f := range derivedFields[spec.Name] {
		doc[k] = f(doc)
	}
	_ = stored
}

// nextSequence numbers a new entity's sequence field (environment
// SortOrder) as the server does.
func (s *Server) nextSequence(sp *space, spec *collSpec, doc map[string]any) {
	f := sequenceFields[spec.Name]
	if f == "" {
		return
	}
	if _, ok := doc[f]; ok {
		return
	}
	next := 0
	for _, d := range s.st.collFor(sp, spec).all() {
		if n := versionOf(d[f]) + 1; n > next {
			next = n
		}
	}
	doc[f] = float64(next)
}

func retention() map[string]any {
	return map[string]any{"QuantityToKeep": float64(30), "ShouldKeepForever": false, "Unit": "Days"}
}

// afterSave does what the server does after storing an entity: owned
// singletons on creation (deployment process, variable set, runbook
// process), a project's Default channel, a single default channel per
// project.
func (s *Server) afterSave(sp *space, spec *collSpec, doc map[string]any, created bool) {
	id := str(doc["Id"])
	if created {
		for coll, field := range ownedSingletons(spec.Name) {
			if str(doc[field]) != "" && sp.coll(coll).get(str(doc[field])) != nil {
				continue
			}
			if sid := collByName[coll].IDPrefix + "-" + id; sp.coll(coll).get(sid) != nil {
				doc[field] = sid // seeded without the owner's field
				continue
			}
			sid := s.createSingleton(sp, coll, spec, doc)
			doc[field] = sid
		}
		if spec.Name == "projects" {
			if len(sp.coll("channels").whereAny("ProjectId", id)) == 0 {
				ch := map[string]any{
					"Name": "Default", "Description": "", "ProjectId": id, "LifecycleId": nil,
					"IsDefault": true, "Rules": []any{}, "TenantTags": []any{},
					"Id": s.st.nextID(collByName["channels"].IDPrefix), "SpaceId": sp.id(), "Slug": "default",
				}
				sp.coll("channels").put(str(ch["Id"]), ch)
			}
		}
	}
	if spec.Name == "channels" {
		if b, _ := doc["IsDefault"].(bool); b {
			for _, c := range sp.coll("channels").whereAny("ProjectId", str(doc["ProjectId"])) {
				if str(c["ProjectId"]) == str(doc["ProjectId"]) && str(c["Id"]) != id {
					c["IsDefault"] = false
				}
			}
		}
	}
}

// createSingleton stores the empty singleton of collection coll owned by
// doc (of owner spec) and returns its ID.
func (s *Server) createSingleton(sp *space, coll string, owner *collSpec, doc map[string]any) string {
	spec := collByName[coll]
	ownerID := str(doc["Id"])
	sid := spec.IDPrefix + "-" + ownerID
	d := map[string]any{"Id": sid, "SpaceId": sp.id(), "Version": float64(0)}
	switch coll {
	case "variables":
		d["OwnerId"] = ownerID
		d["Variables"] = []any{}
	case "runbookProcesses":
		d["RunbookId"] = ownerID
		d["ProjectId"] = str(doc["ProjectId"])
		d["Steps"] = []any{}
		d["LastSnapshotId"] = nil
	default:
		d["ProjectId"] = ownerID
		d["Steps"] = []any{}
		d["LastSnapshotId"] = nil
	}
	sp.coll(coll).put(sid, d)
	return sid
}

// undeletable returns why an entity cannot be deleted, or "".
func undeletable(spec *collSpec, doc map[string]any) string {
	if b, ok := doc["CanBeDeleted"].(bool); ok && !b {
		return "The " + spec.singular() + " '" + str(doc["Name"]) + "' is built in and cannot be deleted."
	}
	switch spec.Name {
	case "feeds":
		if strings.HasPrefix(str(doc["Id"]), "feeds-builtin") {
			return "The built-in feeds cannot be deleted."
		}
	case "machinepolicies", "workerpools":
		if b, _ := doc["IsDefault"].(bool); b {
			return "The default " + spec.singular() + " cannot be deleted."
		}
	case "channels":
		if b, _ := doc["IsDefault"].(bool); b {
			return "The default channel of a project cannot be deleted."
		}
	}
	return ""
}

// addSpaceDefaults creates what every space has and is missing from sp:
// Default Lifecycle, Default Project Group, Default Machine Policy,
// Default Worker Pool and the two built-in feeds.
func (s *Server) addSpaceDefaults(sp *space) {
	has := func(coll string, pred func(map[string]any) bool) bool {
		for _, d := range sp.coll(coll).all() {
			if pred(d) {
				return true
			}
		}
		return false
	}
	named := func(n string) func(map[string]any) bool {
		return func(d map[string]any) bool { return strings.EqualFold(str(d["Name"]), n) }
	}
	isDefault := func(d map[string]any) bool { b, _ := d["IsDefault"].(bool); return b }
	add := func(coll string, doc map[string]any) {
		spec := collByName[coll]
		if str(doc["Id"]) == "" {
			doc["Id"] = s.st.nextID(spec.IDPrefix)
		}
		doc["SpaceId"] = sp.id()
		s.prepare(sp, spec, doc, nil)
		sp.coll(coll).put(str(doc["Id"]), doc)
	}
	if !has("lifecycles", named("Default Lifecycle")) {
		add("lifecycles", map[string]any{"Name": "Default Lifecycle", "Description": "", "Phases": []any{}})
	}
	if !has("projectgroups", named("Default Project Group")) {
		add("projectgroups", map[string]any{"Name": "Default Project Group", "Description": nil, "EnvironmentIds": []any{}, "RetentionPolicyId": nil})
	}
	if !has("machinepolicies", isDefault) {
		add("machinepolicies", defaultMachinePolicy())
	}
	if !has("workerpools", isDefault) {
		add("workerpools", map[string]any{
			"Name": "Default Worker Pool", "Description": "", "IsDefault": true, "SortOrder": float64(1),
			"WorkerPoolType": "StaticWorkerPool", "CanAddWorkers": true,
		})
	}
	if sp.coll("feeds").get("feeds-builtin") == nil {
		add("feeds", map[string]any{
			"Id": "feeds-builtin", "Name": "Octopus Server (built-in)", "FeedType": "BuiltIn",
			"IsBuiltInRepoSyncEnabled": false, "DeleteUnreleasedPackagesAfterDays": float64(30),
			"DownloadAttempts": float64(5), "DownloadRetryBackoffSeconds": float64(10),
			"PackageAcquisitionLocationOptions": []any{"Server", "ExecutionTarget"},
		})
	}
	if sp.coll("feeds").get("feeds-builtin-releases") == nil {
		add("feeds", map[string]any{
			"Id": "feeds-builtin-releases", "Name": "Octopus Server Releases (built-in)", "FeedType": "OctopusProject",
			"DownloadAttempts": float64(5), "DownloadRetryBackoffSeconds": float64(10),
			"PackageAcquisitionLocationOptions": []any{"Server", "ExecutionTarget"},
		})
	}
	s.addStoredBuiltIns(sp)
}

func defaultMachinePolicy() map[string]any {
	return map[string]any{
		"Name": "Default Machine Policy", "Description": "This is the default machine policy.", "IsDefault": true,
		"MachineHealthCheckPolicy": map[string]any{
			"PowerShellHealthCheckPolicy": map[string]any{"RunType": "Inline", "ScriptBody": ""},
			"BashHealthCheckPolicy":       map[string]any{"RunType": "Inline", "ScriptBody": ""},
			"HealthCheckInterval":         "1.00:00:00", "HealthCheckCron": nil, "HealthCheckCronTimezone": "UTC",
			"HealthCheckType": "RunScript",
		},
		"MachineConnectivityPolicy": map[string]any{"MachineConnectivityBehavior": "ExpectedToBeOnline"},
		"MachineCleanupPolicy": map[string]any{
			"DeleteMachinesBehavior": "DoNotDelete", "DeleteMachinesElapsedTimeSpan": "1.00:00:00",
		},
		"MachineUpdatePolicy": map[string]any{
			"CalamariUpdateBehavior": "UpdateOnDeployment", "TentacleUpdateBehavior": "NeverUpdate",
			"KubernetesAgentUpdateBehavior": "Update", "TentacleUpdateAccountId": nil,
		},
		"ConnectionRetrySleepInterval":                  "00:00:01",
		"ConnectionRetryCountLimit":                     float64(5),
		"ConnectionRetryTimeLimit":                      "00:05:00",
		"ConnectionConnectTimeout":                      "00:01:00",
		"PollingRequestQueueTimeout":                    "00:02:00",
		"PollingRequestMaximumMessageProcessingTimeout": "00:10:00",
	}
}

// builtInUserRoles are the server's built-in roles: fixed IDs on every
// instance, never deletable.
var builtInUserRoles = []struct{ id, name, desc string }{
	{"userroles-systemadministrator", "System administrator", "System administrators can do everything at the system level."},
	{"userroles-systemmanager", "System manager", "System managers can do everything at the system level except certain administrative tasks."},
	{"userroles-spacemanager", "Space manager", "Space managers can do everything within the context of the space they own."},
	{"userroles-projectdeployer", "Project deployer", "Project deployers can do everything a project contributor can do, plus deploy releases."},
	{"userroles-projectcontributor", "Project contributor", "Project contributors can edit and view projects and variables."},
	{"userroles-projectviewer", "Project viewer", "Project viewers have read-only access to projects."},
	{"userroles-projectinitiator", "Project initiator", "Project initiators can create projects."},
	{"userroles-projectlead", "Project lead", "Project leads can do everything a project contributor can do, plus create releases."},
	{"userroles-environmentmanager", "Environment manager", "Environment managers can view and edit infrastructure."},
	{"userroles-environmentviewer", "Environment viewer", "Environment viewers have read-only access to infrastructure."},
	{"userroles-tenantmanager", "Tenant manager", "Tenant managers can edit tenants and their tags."},
	{"userroles-certificatemanager", "Certificate manager", "Certificate managers can edit certificates."},
	{"userroles-deploymentcreator", "Deployment creator", "Deployment creators can create deployments."},
	{"userroles-releasecreator", "Release creator", "Release creators can create releases."},
	{"userroles-runbookconsumer", "Runbook consumer", "Runbook consumers can view and run runbooks."},
	{"userroles-runbookproducer", "Runbook producer", "Runbook producers can edit and publish runbooks."},
	{"userroles-packagepublisher", "Package publisher", "Package publishers can push packages to the built-in feed."},
	{"userroles-buildserver", "Build server", "Build servers can publish packages and create releases."},
	{"userroles-usermanager", "User manager", "User managers can manage users and teams."},
}

func (s *Server) addBuiltInUserRoles() {
	c := s.st.server.coll("userroles")
	for _, r := range builtInUserRoles {
		if c.get(r.id) != nil {
			continue
		}
		c.put(r.id, map[string]any{
			"Id": r.id, "Name": r.name, "Description": r.desc, "CanBeDeleted": false,
			"SupportedRestrictions":        []any{},
			"SpacePermissionDescriptions":  []any{},
			"SystemPermissionDescriptions": []any{},
			"GrantedSpacePermissions":      []any{},
			"GrantedSystemPermissions":     []any{},
		})
	}
}
