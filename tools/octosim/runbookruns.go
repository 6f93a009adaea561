package octosim

import (
	"fmt"
	"net/http"
	"strings"
)

// Runbook snapshots and runs (registry collections the sync never writes):
//
//   - POST /api/{space}/runbookSnapshots[?publish=true] {Name, RunbookId,
//     ProjectId, Notes, SelectedPackages}: the runbook must exist (the
//     project is the runbook's), the name is required and unique for the
//     runbook, every package reference of the runbook process needs a
//     version. The server freezes the runbook process
//     (FrozenRunbookProcessId) and the project's variables
//     (FrozenProjectVariableSetId, LibraryVariableSetSnapshotIds) and
//     stamps Assembled; publish=true makes it the runbook's
//     PublishedRunbookSnapshotId.
//   - POST /api/{space}/runbookRuns {RunbookSnapshotId, EnvironmentId,
//     TenantId, …}: the environment must be one the runbook may run in
//     (EnvironmentScope All, Specified or FromProjectLifecycles) and its
//     MultiTenancyMode decides about the tenant. A RunbookRun task is
//     queued (TaskId), logging the frozen process's steps as not run.
//   - POST /api/{space}/runbook-runs/create/v1 {projectName, runbookName,
//     environmentNames, tenants, tenantTags, snapshot}, the Octopus CLI's
//     command: the snapshot by name or ID, else the runbook's published
//     one; one run per environment (per tenant), answered as
//     {RunbookRunServerTasks: [{RunbookRunId, ServerTaskId}]}.
//   - Deleting a runbook deletes its snapshots and runs.
func init() {
	registerCreateHook("runbookSnapshots", createHook{Prepare: prepareRunbookSnapshot, Created: publishRunbookSnapshot})
	registerCreateHook("runbookRuns", createHook{Prepare: prepareRunbookRun, Created: queueRunbookRun})
	registerOwnedRecords("runbooks", ownedRecord{"runbookSnapshots", "RunbookId"}, ownedRecord{"runbookRuns", "RunbookId"})
	registerSpaceRoute("runbook-runs", serveRunbookRunCommands)
}

// prepareRunbookSnapshot checks and completes a new runbook snapshot.
func prepareRunbookSnapshot(s *Server, r *request, sp *space, doc map[string]any) error {
	rb := lookupByIDOrName(sp, "runbooks", str(doc["RunbookId"]), str(doc["ProjectId"]))
	if rb == nil {
		return badRequestf("The runbook '%s' does not exist.", str(doc["RunbookId"]))
	}
	project := sp.coll("projects").get(str(rb["ProjectId"]))
	name := strings.TrimSpace(str(doc["Name"]))
	var errs []string
	if name == "" {
		errs = append(errs, "Please provide a name for the snapshot.")
	}
	for _, d := range sp.coll("runbookSnapshots").whereAny("RunbookId", str(rb["Id"])) {
		if name != "" && strings.EqualFold(str(d["Name"]), name) {
			errs = append(errs, fmt.Sprintf("A snapshot named '%s' already exists for the runbook '%s'.", name, str(rb["Name"])))
		}
	}
	proc := sp.coll("runbookProcesses").get(str(rb["RunbookProcessId"]))
	selected, perrs := selectedPackages(proc, asSlice(doc["SelectedPackages"]))
	if errs = append(errs, perrs...); len(errs) > 0 {
		return badRequest(errs...)
	}
	doc["Name"] = name
	doc["RunbookId"] = rb["Id"]
	doc["ProjectId"] = rb["ProjectId"]
	doc["SelectedPackages"] = selected
	doc["Assembled"] = timestampNow()
	doc["FrozenRunbookProcessId"] = s.freeze(sp, "runbookProcesses", str(rb["RunbookProcessId"]))
	vars, libs := s.freezeVariables(sp, project)
	doc["FrozenProjectVariableSetId"], doc["ProjectVariableSetSnapshotId"], doc["LibraryVariableSetSnapshotIds"] = vars, vars, libs
	if _, ok := doc["Notes"]; !ok {
		doc["Notes"] = nil
	}
	return nil
}

// publishRunbookSnapshot makes a snapshot created with ?publish=true its
// runbook's published one.
func publishRunbookSnapshot(s *Server, r *request, sp *space, doc map[string]any) {
	if r == nil || !strings.EqualFold(r.q("publish"), "true") {
		return
	}
	if rb := sp.coll("runbooks").get(str(doc["RunbookId"])); rb != nil {
		rb["PublishedRunbookSnapshotId"] = doc["Id"]
		sp.coll("runbooks").put(str(rb["Id"]), rb)
	}
}

// runbookEnvironments are the environments a runbook may run in.
func runbookEnvironments(sp *space, rb map[string]any) []string {
	switch str(rb["EnvironmentScope"]) {
	case "Specified":
		return strs(rb["Environments"])
	case "FromProjectLifecycles":
		var out []string
		project := sp.coll("projects").get(str(rb["ProjectId"]))
		if lc := sp.coll("lifecycles").get(str(project["LifecycleId"])); lc != nil && len(asSlice(lc["Phases"])) > 0 {
			for _, ph := range asSlice(lc["Phases"]) {
				pm := asMap(ph)
				out = append(out, strs(pm["AutomaticDeploymentTargets"])...)
				out = append(out, strs(pm["OptionalDeploymentTargets"])...)
			}
			return out
		}
	}
	var out []string
	for _, e := range sp.coll("environments").all() {
		out = append(out, str(e["Id"]))
	}
	return out
}

// prepareRunbookRun checks and completes a new runbook run.
func prepareRunbookRun(s *Server, r *request, sp *space, doc map[string]any) error {
	snap := sp.coll("runbookSnapshots").get(str(doc["RunbookSnapshotId"]))
	if snap == nil {
		return badRequestf("The runbook snapshot '%s' does not exist.", str(doc["RunbookSnapshotId"]))
	}
	rb := sp.coll("runbooks").get(str(snap["RunbookId"]))
	if rb == nil {
		return badRequestf("The runbook of snapshot '%s' does not exist.", str(snap["Id"]))
	}
	env := lookupByIDOrName(sp, "environments", str(doc["EnvironmentId"]), "")
	if env == nil {
		return badRequestf("The environment '%s' does not exist.", str(doc["EnvironmentId"]))
	}
	ok := false
	for _, e := range runbookEnvironments(sp, rb) {
		ok = ok || strings.EqualFold(e, str(env["Id"]))
	}
	if !ok {
		return badRequestf("The runbook '%s' cannot be run in the environment '%s'.", str(rb["Name"]), str(env["Name"]))
	}
	tenantID := str(doc["TenantId"])
	mode := cmpOrStr(str(rb["MultiTenancyMode"]), "Untenanted")
	switch {
	case tenantID == "" && mode == "Tenanted":
		return badRequestf("The runbook '%s' can only be run for a tenant: please select one (TenantId).", str(rb["Name"]))
	case tenantID != "" && mode == "Untenanted":
		return badRequestf("The runbook '%s' is not tenanted; run it without a tenant.", str(rb["Name"]))
	case tenantID != "":
		t := lookupByIDOrName(sp, "tenants", tenantID, "")
		if t == nil || !tenantConnected(t, str(rb["ProjectId"]), str(env["Id"])) {
			return badRequestf("The tenant '%s' is not connected to the runbook's project in the environment '%s'.", tenantID, str(env["Name"]))
		}
		doc["TenantId"] = t["Id"]
	default:
		doc["TenantId"] = nil
	}
	doc["EnvironmentId"] = env["Id"]
	doc["RunbookId"] = rb["Id"]
	doc["ProjectId"] = rb["ProjectId"]
	doc["FrozenRunbookProcessId"] = snap["FrozenRunbookProcessId"]
	doc["Name"] = "Run " + str(rb["Name"])
	doc["Created"] = timestampNow()
	doc["DeployedBy"], doc["DeployedById"] = "admin", apiKeyUserID
	doc["FailureEncountered"] = false
	doc["DeployedToMachineIds"] = []any{}
	for _, f := range []string{"SkipActions", "SpecificMachineIds", "ExcludedMachineIds"} {
		if _, ok := doc[f].([]any); !ok {
			doc[f] = []any{}
		}
	}
	if _, ok := doc["FormValues"].(map[string]any); !ok {
		doc["FormValues"] = map[string]any{}
	}
	return nil
}

// queueRunbookRun queues the RunbookRun task of a stored run.
func queueRunbookRun(s *Server, r *request, sp *space, doc map[string]any) {
	rb := sp.coll("runbooks").get(str(doc["RunbookId"]))
	env := sp.coll("environments").get(str(doc["EnvironmentId"]))
	desc := fmt.Sprintf("Run %s in %s", str(rb["Name"]), str(env["Name"]))
	if t := sp.coll("tenants").get(str(doc["TenantId"])); t != nil {
		desc += " for " + str(t["Name"])
	}
	task := s.newTask(sp, taskSpec{
		Name: "RunbookRun", Description: desc,
		Arguments: map[string]any{"RunbookRunId": doc["Id"]},
		Regarding: map[string]string{"ProjectId": str(doc["ProjectId"]), "EnvironmentId": str(doc["EnvironmentId"]),
			"TenantId": str(doc["TenantId"]), "RunbookId": str(doc["RunbookId"])},
		QueueTime: parseStamp(str(doc["QueueTime"])), QueueTimeExpiry: parseStamp(str(doc["QueueTimeExpiry"])),
		Steps: processSteps(frozen(sp, "runbookProcesses", str(doc["FrozenRunbookProcessId"])), strs(doc["SkipActions"])),
	})
	doc["TaskId"] = task["Id"]
	sp.coll("runbookRuns").put(str(doc["Id"]), doc)
}

// serveRunbookRunCommands answers runbook-runs/create/v1.
func serveRunbookRunCommands(s *Server, r *request, sp *space, segs []string) (int, any, error) {
	path := strings.ToLower(strings.Join(segs, "/"))
	switch {
	case path == "git/create/v1":
		return 0, nil, badRequest("The simulator keeps projects in its database only; it has no version-controlled runbooks to run.")
	case path != "create/v1":
		return 0, nil, notFound(r.path)
	case r.method != http.MethodPost:
		return 0, nil, methodNotAllowed(r.method, r.path)
	}
	b := r.body
	project := lookupByIDOrName(sp, "projects", str(fieldFold(b, "projectName")), "")
	if project == nil {
		return 0, nil, badRequestf("Could not find a project named or with the ID '%s'.", str(fieldFold(b, "projectName")))
	}
	rb := lookupByIDOrName(sp, "runbooks", str(fieldFold(b, "runbookName")), str(project["Id"]))
	if rb == nil {
		return 0, nil, badRequestf("Could not find a runbook named or with the ID '%s' in the project '%s'.", str(fieldFold(b, "runbookName")), str(project["Name"]))
	}
	var snap map[string]any
	if key := str(fieldFold(b, "snapshot")); key != "" {
		snap = sp.coll("runbookSnapshots").get(key)
		if snap == nil || !strings.EqualFold(str(snap["RunbookId"]), str(rb["Id"])) {
			snap = nil
			for _, d := range sp.coll("runbookSnapshots").where("RunbookId", str(rb["Id"])) {
				if strings.EqualFold(str(d["Name"]), key) {
					snap = d
				}
			}
		}
		if snap == nil {
			return 0, nil, badRequestf("Could not find a snapshot named or with the ID '%s' of the runbook '%s'.", key, str(rb["Name"]))
		}
	} else if snap = sp.coll("runbookSnapshots").get(str(rb["PublishedRunbookSnapshotId"])); snap == nil {
		return 0, nil, badRequestf("The runbook '%s' has no published snapshot: publish one or name the snapshot to run.", str(rb["Name"]))
	}
	names := strs(fieldFold(b, "environmentNames"))
	if len(names) == 0 {
		return 0, nil, badRequest("Please name the environment(s) to run the runbook in.")
	}
	var envs []map[string]any
	for _, n := range names {
		e := lookupByIDOrName(sp, "environments", n, "")
		if e == nil {
			return 0, nil, badRequestf("Could not find an environment named or with the ID '%s'.", n)
		}
		envs = append(envs, e)
	}
	base, err := executionFields(sp, sp.coll("runbookProcesses").get(str(rb["RunbookProcessId"])), b)
	if err != nil {
		return 0, nil, err
	}
	tenantNames, tags := strs(fieldFold(b, "tenants")), strs(fieldFold(b, "tenantTags"))
	out := []any{}
	spec := collByName["runbookRuns"]
	for _, e := range envs {
		tenants := []any{nil}
		if len(tenantNames) > 0 || len(tags) > 0 {
			ts, err := commandTenants(sp, project, e, tenantNames, tags)
			if err != nil {
				return 0, nil, err
			}
			tenants = ts
		}
		for _, t := range tenants {
			doc := copyDoc(base)
			doc["RunbookSnapshotId"], doc["EnvironmentId"], doc["TenantId"] = snap["Id"], e["Id"], t
			d, err := s.insert(r, sp, spec, doc, nil)
			if err != nil {
				return 0, nil, err
			}
			out = append(out, map[string]any{"RunbookRunId": d["Id"], "ServerTaskId": d["TaskId"]})
		}
	}
	return http.StatusOK, map[string]any{"RunbookRunServerTasks": out}, nil
}
