package octosim

import (
	"fmt"
	"net/http"

	"github.com/octobundle/octobundle/schema"
)

// A project's deployment settings, GET/PUT
// /api/{space}/projects/{id}/deploymentsettings (go-octopusdeploy's
// deployments.DeploymentSettings, linked from the project's
// Links.DeploymentSettings). The server keeps them on the project and
// mirrors them on the project document (go-octopusdeploy v2.115.0's
// projects.Project still carries every one of them), so the simulator
// stores them there once and serves this resource as a view:
//
//	ConnectivityPolicy              ↔ project ProjectConnectivityPolicy
//	DefaultGuidedFailureMode, DefaultToSkipIfAlreadyInstalled,
//	DeploymentChangesTemplate, ReleaseNotesTemplate, VersioningStrategy
//	                                ↔ the project fields of the same name
//
// A PUT replaces the fields it sends; VersioningStrategy.DonorPackageStepId
// must be a step or action of the project's processes.

// deploymentSettingsFields maps settings fields to project fields.
var deploymentSettingsFields = map[string]string{
	"ConnectivityPolicy":              "ProjectConnectivityPolicy",
	"DefaultGuidedFailureMode":        "DefaultGuidedFailureMode",
	"DefaultToSkipIfAlreadyInstalled": "DefaultToSkipIfAlreadyInstalled",
	"DeploymentChangesTemplate":       "DeploymentChangesTemplate",
	"ReleaseNotesTemplate":            "ReleaseNotesTemplate",
	"VersioningStrategy":              "VersioningStrategy",
}

func init() {
	registerSubResource("projects", "deploymentsettings", serveDeploymentSettings)
}

func serveDeploymentSettings(s *Server, r *request, sp *space, project map[string]any, segs []string) (int, any, error) {
	if len(segs) != 1 {
		return 0, nil, notFound(r.path)
	}
	switch r.method {
	case http.MethodGet:
		return http.StatusOK, renderDeploymentSettings(sp, project), nil
	case http.MethodPut:
		doc := copyDoc(project)
		for f, pf := range deploymentSettingsFields {
			if v, ok := r.body[f]; ok {
				doc[pf] = schema.DeepCopy(v)
			}
		}
		if vs, ok := doc["VersioningStrategy"].(map[string]any); ok {
			if id := str(vs["DonorPackageStepId"]); id != "" && !s.projectActions(sp, str(project["Id"]))[id] {
				return 0, nil, badRequest(fmt.Sprintf("VersioningStrategy.DonorPackageStepId refers to %s, which is not a step or action of this project's processes.", id))
			}
		}
		sp.coll("projects").put(str(project["Id"]), doc)
		return http.StatusOK, renderDeploymentSettings(sp, doc), nil
	}
	return 0, nil, methodNotAllowed(r.method, r.path)
}

// renderDeploymentSettings builds the resource from the project document.
func renderDeploymentSettings(sp *space, project map[string]any) map[string]any {
	pid := str(project["Id"])
	self := "/api/" + sp.id() + "/projects/" + pid + "/deploymentsettings"
	out := map[string]any{
		"Id": "deploymentsettings-" + pid, "ProjectId": pid, "SpaceId": sp.id(),
		"Links": map[string]any{"Self": self, "Project": "/api/" + sp.id() + "/projects/" + pid},
	}
	for f, pf := range deploymentSettingsFields {
		if v, ok := project[pf]; ok {
			out[f] = schema.DeepCopy(v)
		}
	}
	if _, ok := out["DefaultToSkipIfAlreadyInstalled"]; !ok {
		out["DefaultToSkipIfAlreadyInstalled"] = false
	}
	return out
}
