package octosim

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Deployments (the deployments collection of the kind registry) and the
// commands that create them:
//
//   - POST /api/{space}/deployments {ReleaseId, EnvironmentId, TenantId,
//     Comments, SkipActions, SpecificMachineIds, ExcludedMachineIds,
//     QueueTime, QueueTimeExpiry, …}: the release and environment must
//     exist, the lifecycle of the release's channel (else its project)
//     must allow the environment (see promotableEnvironments), and the
//     project's TenantedDeploymentMode decides whether a tenant is
//     required, allowed or refused; a tenant must be connected to the
//     project in that environment. The server fills ProjectId, ChannelId,
//     Name ("Deploy to Production"), Created, DeployedBy, the process
//     snapshot (DeploymentProcessId) and queues a Deploy task (TaskId).
//   - POST deployments/create/untenanted/v1 {projectName, releaseVersion,
//     environmentNames, …} and deployments/create/tenanted/v1
//     {projectName, releaseVersion, environmentName, tenants, tenantTags},
//     the Octopus CLI's commands: one deployment per environment (per
//     tenant), answered as {DeploymentServerTasks: [{DeploymentId,
//     ServerTaskId}]}.
//
// The task logs each step of the frozen process as not run: the
// simulator has no deployment targets. Tests decide how a deployment's
// task ends with simulator variables (see simulatorOutcome and
// docs/simulator.md): Octopus.Simulator.Fail and Octopus.Simulator.Cancel,
// as a value of the deployment's prompted variables (FormValues, the
// create command's variables), as a project variable of the release's
// snapshot (scoped to an environment or tenant, or not), or as a property
// of an action of the frozen process. A failed deployment's task ends
// Failed with the ErrorMessage a real server gives ("The deployment failed
// because one or more steps failed. Please see the deployment log for
// details.", as a real task resource shows it) and logs the variable's
// message as the step's error; a canceled one ends Canceled.
func init() {
	registerCreateHook("deployments", createHook{Prepare: prepareDeployment, Created: queueDeployment})
	registerCollAction("deployments", "create/untenanted/v1", createDeploymentsV1(false))
	registerCollAction("deployments", "create/tenanted/v1", createDeploymentsV1(true))
	subResources = append(subResources,
		subResource{Owner: "deployments", Link: "Release", Through: &linkThrough{Coll: "releases", Field: "ReleaseId"}},
		subResource{Owner: "deployments", Link: "Environment", Through: &linkThrough{Coll: "environments", Field: "EnvironmentId"}},
		subResource{Owner: "deployments", Link: "Project", Through: &linkThrough{Coll: "projects", Field: "ProjectId"}},
	)
}

// prepareDeployment checks and completes a new deployment.
func prepareDeployment(s *Server, r *request, sp *space, doc map[string]any) error {
	rel := sp.coll("releases").get(str(doc["ReleaseId"]))
	if rel == nil {
		if str(doc["ReleaseId"]) == "" {
			return badRequest("Please select the release to deploy (ReleaseId).")
		}
		return badRequestf("The release '%s' does not exist.", str(doc["ReleaseId"]))
	}
	env := lookupByIDOrName(sp, "environments", str(doc["EnvironmentId"]), "")
	if env == nil {
		if str(doc["EnvironmentId"]) == "" {
			return badRequest("Please select the environment to deploy to (EnvironmentId).")
		}
		return badRequestf("The environment '%s' does not exist.", str(doc["EnvironmentId"]))
	}
	project := sp.coll("projects").get(str(rel["ProjectId"]))
	if project == nil {
		return badRequestf("The project of release '%s' does not exist.", str(rel["Id"]))
	}
	envID := str(env["Id"])
	allowed := false
	for _, e := range s.promotableEnvironments(sp, rel) {
		allowed = allowed || strings.EqualFold(e, envID)
	}
	if !allowed {
		return badRequestf("Release %s of the project '%s' cannot be deployed to the environment '%s': the lifecycle does not allow it yet.",
			str(rel["Version"]), str(project["Name"]), str(env["Name"]))
	}
	tenantID := str(doc["TenantId"])
	mode := cmpOrStr(str(project["TenantedDeploymentMode"]), "Untenanted")
	switch {
	case tenantID == "" && mode == "Tenanted":
		return badRequestf("The project '%s' can only be deployed for a tenant: please select one (TenantId).", str(project["Name"]))
	case tenantID != "" && mode == "Untenanted":
		return badRequestf("The project '%s' is not tenanted; deploy it without a tenant.", str(project["Name"]))
	case tenantID != "":
		tenant := lookupByIDOrName(sp, "tenants", tenantID, "")
		if tenant == nil {
			return badRequestf("The tenant '%s' does not exist.", tenantID)
		}
		if !tenantConnected(tenant, str(project["Id"]), envID) {
			return badRequestf("The tenant '%s' is not connected to the project '%s' in the environment '%s'.",
				str(tenant["Name"]), str(project["Name"]), str(env["Name"]))
		}
		doc["TenantId"] = tenant["Id"]
	default:
		doc["TenantId"] = nil
	}
	now := time.Now()
	doc["EnvironmentId"] = envID
	doc["ProjectId"] = rel["ProjectId"]
	doc["ChannelId"] = rel["ChannelId"]
	doc["DeploymentProcessId"] = rel["ProjectDeploymentProcessSnapshotId"]
	doc["Name"] = "Deploy to " + str(env["Name"])
	doc["Created"] = timestamp(now)
	doc["DeployedBy"] = "admin"
	doc["DeployedById"] = apiKeyUserID
	doc["FailureEncountered"] = false
	doc["Changes"] = []any{}
	doc["ChangesMarkdown"] = ""
	doc["DeployedToMachineIds"] = []any{}
	for _, f := range []string{"SkipActions", "SpecificMachineIds", "ExcludedMachineIds"} {
		if _, ok := doc[f].([]any); !ok {
			doc[f] = []any{}
		}
	}
	for _, f := range []string{"ForcePackageDownload", "ForcePackageRedeployment", "UseGuidedFailure"} {
		if _, ok := doc[f].(bool); !ok {
			doc[f] = false
		}
	}
	if _, ok := doc["FormValues"].(map[string]any); !ok {
		doc["FormValues"] = map[string]any{}
	}
	for _, f := range []string{"QueueTime", "QueueTimeExpiry", "Comments"} {
		if _, ok := doc[f]; !ok {
			doc[f] = nil
		}
	}
	return nil
}

// tenantConnected reports whether tenant deploys project to environment.
func tenantConnected(tenant map[string]any, projectID, envID string) bool {
	for p, envs := range asMap(tenant["ProjectEnvironments"]) {
		if strings.EqualFold(p, projectID) {
			for _, e := range strs(envs) {
				if strings.EqualFold(e, envID) {
					return true
				}
			}
		}
	}
	return false
}

// queueDeployment queues the Deploy task of a stored deployment.
func queueDeployment(s *Server, r *request, sp *space, doc map[string]any) {
	rel := sp.coll("releases").get(str(doc["ReleaseId"]))
	project := sp.coll("projects").get(str(doc["ProjectId"]))
	env := sp.coll("environments").get(str(doc["EnvironmentId"]))
	desc := fmt.Sprintf("Deploy %s release %s to %s", str(project["Name"]), str(rel["Version"]), str(env["Name"]))
	if t := sp.coll("tenants").get(str(doc["TenantId"])); t != nil {
		desc += " for " + str(t["Name"])
	}
	proc := frozen(sp, "deploymentprocesses", str(doc["DeploymentProcessId"]))
	steps := processSteps(proc, strs(doc["SkipActions"]))
	outcome, message := simulatorOutcome(sp, rel, proc, doc, steps)
	task := s.newTask(sp, taskSpec{
		Name: "Deploy", Description: desc,
		Arguments: map[string]any{"DeploymentId": doc["Id"]},
		Regarding: map[string]string{"ProjectId": str(doc["ProjectId"]), "EnvironmentId": str(doc["EnvironmentId"]), "TenantId": str(doc["TenantId"])},
		QueueTime: parseStamp(str(doc["QueueTime"])), QueueTimeExpiry: parseStamp(str(doc["QueueTimeExpiry"])),
		Steps: steps, Outcome: outcome, ErrorMessage: message,
	})
	doc["TaskId"] = task["Id"]
	doc["ManifestVariableSetId"] = "variableset-" + str(doc["Id"])
	sp.coll("deployments").put(str(doc["Id"]), doc)
}

// Simulator variables: how a test makes a deployment fail or be canceled.
const (
	// SimFailVariable makes a deployment fail: "true" (or True) with the
	// default step error, any other text (but "false") as the error.
	SimFailVariable = "Octopus.Simulator.Fail"
	// SimCancelVariable ("true") makes a deployment end Canceled.
	SimCancelVariable = "Octopus.Simulator.Cancel"
)

// deploymentFailedMessage is a failed deployment task's ErrorMessage on a
// real server.
const deploymentFailedMessage = "The deployment failed because one or more steps failed. Please see the deployment log for details."

// simulatorOutcome is the state a deployment's task ends in ("" for
// Success) and its ErrorMessage, from the simulator variables (see the
// comment above init): the deployment's prompted values first, then the
// release's project variables (the one scoped to the deployment's
// environment or tenant before an unscoped one), then the actions of the
// frozen process. A failure's message is added to steps as the error of
// the failing step (the action's, else the last step).
func simulatorOutcome(sp *space, rel, proc, dep map[string]any, steps []taskStep) (string, string) {
	lookup := func(name string) (string, int) {
		for k, v := range asMap(dep["FormValues"]) {
			if strings.EqualFold(k, name) {
				return fmt.Sprint(v), -1
			}
		}
		vars := frozen(sp, "variables", str(rel["ProjectVariableSetSnapshotId"]))
		best, bestScoped, found := "", false, false
		for _, v := range asSlice(vars["Variables"]) {
			vm := asMap(v)
			if !strings.EqualFold(str(vm["Name"]), name) {
				continue
			}
			scope := asMap(vm["Scope"])
			envs, tenants := strs(scope["Environment"]), strs(scope["Tenant"])
			if (len(envs) > 0 && !containsFold(envs, str(dep["EnvironmentId"]))) ||
				(len(tenants) > 0 && !containsFold(tenants, str(dep["TenantId"]))) {
				continue
			}
			scoped := len(envs)+len(tenants) > 0
			if !found || (scoped && !bestScoped) {
				best, bestScoped, found = str(vm["Value"]), scoped, true
			}
		}
		if found {
			return best, -1
		}
		for i, st := range asSlice(proc["Steps"]) {
			for _, a := range asSlice(asMap(st)["Actions"]) {
				am := asMap(a)
				if am["IsDisabled"] == true || containsFold(strs(dep["SkipActions"]), str(am["Id"])) {
					continue
				}
				for k, v := range asMap(am["Properties"]) {
					if strings.EqualFold(k, name) {
						return str(v), i
					}
				}
			}
		}
		return "", -1
	}
	set := func(v string) bool { return v != "" && !strings.EqualFold(v, "false") }
	if v, _ := lookup(SimCancelVariable); set(v) {
		return "Canceled", "The task was canceled."
	}
	v, at := lookup(SimFailVariable)
	if !set(v) {
		return "", ""
	}
	msg := v
	if strings.EqualFold(v, "true") {
		msg = "The step failed: " + SimFailVariable + " is set."
	}
	if at < 0 || at >= len(steps) {
		at = len(steps) - 1
	}
	steps[at].Errors = append(steps[at].Errors, msg)
	return "Failed", deploymentFailedMessage
}

// processSteps are the activity log entries of a task running proc: one
// per step, saying what the simulator did instead of running it.
func processSteps(proc map[string]any, skip []string) []taskStep {
	skipped := map[string]bool{}
	for _, id := range skip {
		skipped[strings.ToLower(id)] = true
	}
	var out []taskStep
	for i, st := range asSlice(proc["Steps"]) {
		sm := asMap(st)
		var lines []string
		for _, a := range asSlice(sm["Actions"]) {
			am := asMap(a)
			switch {
			case skipped[strings.ToLower(str(am["Id"]))]:
				lines = append(lines, fmt.Sprintf("The action '%s' was skipped, as requested.", str(am["Name"])))
			case am["IsDisabled"] == true:
				lines = append(lines, fmt.Sprintf("The action '%s' is disabled and was not run.", str(am["Name"])))
			default:
				lines = append(lines, fmt.Sprintf("The action '%s' (%s) was not run: the simulator has no deployment targets or workers.",
					str(am["Name"]), str(am["ActionType"])))
			}
		}
		out = append(out, taskStep{Name: fmt.Sprintf("Step %d: %s", i+1, str(sm["Name"])), Lines: lines})
	}
	if len(out) == 0 {
		out = append(out, taskStep{Name: "Deployment", Lines: []string{"The process has no steps; there was nothing to run."}})
	}
	return out
}

// promotableEnvironments are the environments rel may be deployed to now:
// every environment when its lifecycle has no phases, else the
// environments of each phase up to and including the first one that is
// neither optional nor complete (a phase is complete when the release has
// succeeded in MinimumEnvironmentsBeforePromotion of its environments, or
// in all of them when that is 0).
func (s *Server) promotableEnvironments(sp *space, rel map[string]any) []string {
	var lcID string
	if ch := sp.coll("channels").get(str(rel["ChannelId"])); ch != nil {
		lcID = str(ch["LifecycleId"])
	}
	if lcID == "" {
		if p := sp.coll("projects").get(str(rel["ProjectId"])); p != nil {
			lcID = str(p["LifecycleId"])
		}
	}
	lc := sp.coll("lifecycles").get(lcID)
	var out []string
	if lc == nil || len(asSlice(lc["Phases"])) == 0 {
		for _, e := range sp.coll("environments").all() {
			out = append(out, str(e["Id"]))
		}
		return out
	}
	deployed := map[string]bool{}
	now := time.Now()
	for _, d := range sp.coll("deployments").where("ReleaseId", str(rel["Id"])) {
		if t, _ := s.findTask(sp, str(d["TaskId"])); t != nil && taskTimesAt(t, now).State == "Success" {
			deployed[strings.ToLower(str(d["EnvironmentId"]))] = true
		}
	}
	for _, ph := range asSlice(lc["Phases"]) {
		pm := asMap(ph)
		envs := append(strs(pm["AutomaticDeploymentTargets"]), strs(pm["OptionalDeploymentTargets"])...)
		out = append(out, envs...)
		done := 0
		for _, e := range envs {
			if deployed[strings.ToLower(e)] {
				done++
			}
		}
		need := int(num(pm["MinimumEnvironmentsBeforePromotion"]))
		if need == 0 || need > len(envs) {
			need = len(envs)
		}
		if pm["IsOptionalPhase"] != true && done < need {
			break
		}
	}
	return out
}

// releaseDeploymentTemplate is GET releases/{id}/deployments/template.
func releaseDeploymentTemplate(s *Server, sp *space, rel map[string]any) any {
	promote := []any{}
	for _, id := range s.promotableEnvironments(sp, rel) {
		if e := sp.coll("environments").get(id); e != nil {
			promote = append(promote, map[string]any{"Id": e["Id"], "Name": e["Name"], "UseGuidedFailure": false})
		}
	}
	return map[string]any{
		"PromoteTo": promote, "TenantPromotions": []any{}, "IsDeploymentProcessModified": false,
		"IsVariableSetModified": false, "IsLibraryVariableSetModified": false, "DeploymentNotes": nil, "Links": map[string]any{},
	}
}

// createDeploymentsV1 is POST deployments/create/untenanted/v1 (tenanted
// false) or deployments/create/tenanted/v1.
func createDeploymentsV1(tenanted bool) collHandler {
	return func(s *Server, r *request, sp *space) (int, any, error) {
		if r.method != http.MethodPost {
			return 0, nil, methodNotAllowed(r.method, r.path)
		}
		b := r.body
		project := lookupByIDOrName(sp, "projects", str(fieldFold(b, "projectName")), "")
		if project == nil {
			return 0, nil, badRequestf("Could not find a project named or with the ID '%s'.", str(fieldFold(b, "projectName")))
		}
		version := str(fieldFold(b, "releaseVersion"))
		var rel map[string]any
		for _, d := range sp.coll("releases").whereAny("ProjectId", str(project["Id"])) {
			if strings.EqualFold(str(d["Version"]), version) {
				rel = d
			}
		}
		if rel == nil {
			return 0, nil, badRequestf("Could not find release %s of the project '%s'.", version, str(project["Name"]))
		}
		envNames := strs(fieldFold(b, "environmentNames"))
		if tenanted {
			envNames = strs(fieldFold(b, "environmentName"))
		}
		if len(envNames) == 0 {
			return 0, nil, badRequest("Please name the environment(s) to deploy to.")
		}
		var envs []map[string]any
		for _, n := range envNames {
			e := lookupByIDOrName(sp, "environments", n, "")
			if e == nil {
				return 0, nil, badRequestf("Could not find an environment named or with the ID '%s'.", n)
			}
			envs = append(envs, e)
		}
		tenants := []any{nil}
		if tenanted {
			ts, err := commandTenants(sp, project, envs[0], strs(fieldFold(b, "tenants")), strs(fieldFold(b, "tenantTags")))
			if err != nil {
				return 0, nil, err
			}
			tenants = ts
		}
		base, err := executionFields(sp, sp.coll("deploymentprocesses").get(str(project["DeploymentProcessId"])), b)
		if err != nil {
			return 0, nil, err
		}
		out := []any{}
		spec := collByName["deployments"]
		for _, e := range envs {
			for _, t := range tenants {
				doc := copyDoc(base)
				doc["ReleaseId"], doc["EnvironmentId"], doc["TenantId"] = rel["Id"], e["Id"], t
				doc["ForcePackageRedeployment"] = fieldFold(b, "forcePackageRedeployment") == true
				d, err := s.insert(r, sp, spec, doc, nil)
				if err != nil {
					return 0, nil, err
				}
				out = append(out, map[string]any{"DeploymentId": d["Id"], "ServerTaskId": d["TaskId"]})
			}
		}
		return http.StatusOK, map[string]any{"DeploymentServerTasks": out}, nil
	}
}

// executionFields are the fields of a deployment or runbook run the
// execution commands share: machines and steps by name, schedule,
// guided failure, prompted variables; steps to skip are named in proc.
func executionFields(sp *space, proc map[string]any, b map[string]any) (map[string]any, error) {
	doc := map[string]any{
		"ForcePackageDownload": fieldFold(b, "forcePackageDownload") == true,
		"UseGuidedFailure":     fieldFold(b, "useGuidedFailure") == true,
		"FormValues":           map[string]any{},
	}
	for field, param := range map[string]string{"SpecificMachineIds": "specificMachineNames", "ExcludedMachineIds": "excludedMachineNames"} {
		ids := []any{}
		for _, n := range strs(fieldFold(b, param)) {
			m := lookupByIDOrName(sp, "machines", n, "")
			if m == nil {
				return nil, badRequestf("Could not find a deployment target named or with the ID '%s'.", n)
			}
			ids = append(ids, m["Id"])
		}
		doc[field] = ids
	}
	skip := []any{}
	for _, n := range strs(fieldFold(b, "skipStepNames")) {
		found := false
		for _, st := range asSlice(proc["Steps"]) {
			for _, a := range asSlice(asMap(st)["Actions"]) {
				am := asMap(a)
				if strings.EqualFold(str(am["Name"]), n) || strings.EqualFold(str(asMap(st)["Name"]), n) {
					skip, found = append(skip, am["Id"]), true
				}
			}
		}
		if !found {
			return nil, badRequestf("Could not find a step named '%s' to skip.", n)
		}
	}
	doc["SkipActions"] = skip
	for field, param := range map[string]string{"QueueTime": "runAt", "QueueTimeExpiry": "noRunAfter"} {
		if v := str(fieldFold(b, param)); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return nil, badRequestf("'%s' is not a date and time (%s).", v, param)
			}
			doc[field] = timestamp(t)
		}
	}
	for k, v := range asMap(fieldFold(b, "variables")) {
		doc["FormValues"].(map[string]any)[k] = v
	}
	return doc, nil
}

// commandTenants are the tenants a tenanted command names, by name or ID
// or by tag ("TagSet/Tag"), each connected to project in env.
func commandTenants(sp *space, project, env map[string]any, names, tags []string) ([]any, error) {
	seen := map[string]bool{}
	var out []any
	add := func(t map[string]any) error {
		if !tenantConnected(t, str(project["Id"]), str(env["Id"])) {
			return badRequestf("The tenant '%s' is not connected to the project '%s' in the environment '%s'.",
				str(t["Name"]), str(project["Name"]), str(env["Name"]))
		}
		if !seen[str(t["Id"])] {
			seen[str(t["Id"])] = true
			out = append(out, t["Id"])
		}
		return nil
	}
	for _, n := range names {
		t := lookupByIDOrName(sp, "tenants", n, "")
		if t == nil {
			return nil, badRequestf("Could not find a tenant named or with the ID '%s'.", n)
		}
		if err := add(t); err != nil {
			return nil, err
		}
	}
	for _, tag := range tags {
		for _, t := range sp.coll("tenants").all() {
			for _, tt := range strs(t["TenantTags"]) {
				if strings.EqualFold(tt, tag) && tenantConnected(t, str(project["Id"]), str(env["Id"])) {
					_ = add(t)
				}
			}
		}
	}
	if len(out) == 0 {
		return nil, badRequest("Please name the tenants to deploy for (tenants or tenantTags); none matched.")
	}
	return out, nil
}
