package octosim

import (
	"net/http"
	"strings"
)

// The audit log's filter lists (the root document's EventAgents,
// EventCategories, EventGroups and EventDocumentTypes links):
//
//	GET /api/events/agents                    [{Id, Name, Links}]
//	GET /api/events/categories{?appliesTo}    [{Id, Name, Links}]
//	GET /api/events/groups{?appliesTo}        [{Id, Name, EventCategories, Links}]
//	GET /api/events/documenttypes             [{Id, Name}]
//
// They describe the server, not its data, so they answer the same whether
// or not any event was recorded; /api/events itself stays the empty
// collection of empty.go. The lists are the part of a real server's that
// covers what the simulator models (documents, deployments, sign-ins).

// eventCategories are the event categories by ID.
var eventCategories = [][2]string{
	{"Created", "Document created"}, {"Modified", "Document modified"}, {"Deleted", "Document deleted"},
	{"DeploymentQueued", "Deployment queued"}, {"DeploymentStarted", "Deployment started"},
	{"DeploymentSucceeded", "Deployment succeeded"}, {"DeploymentFailed", "Deployment failed"},
	{"TaskCanceled", "Task canceled"}, {"LoginSucceeded", "Login succeeded"}, {"LoginFailed", "Login failed"},
	{"MachineAdded", "Machine added"}, {"MachineDeleted", "Machine deleted"},
}

// eventGroups group the categories as the audit log's filter does.
var eventGroups = []struct {
	ID, Name   string
	Categories []string
}{
	{"Document", "Document changes", []string{"Created", "Modified", "Deleted"}},
	{"Deployment", "Deployments", []string{"DeploymentQueued", "DeploymentStarted", "DeploymentSucceeded", "DeploymentFailed"}},
	{"Task", "Tasks", []string{"TaskCanceled"}},
	{"Login", "Sign-ins", []string{"LoginSucceeded", "LoginFailed"}},
	{"Machine", "Deployment targets and workers", []string{"MachineAdded", "MachineDeleted"}},
}

// eventAgents are the clients the audit log tells apart.
var eventAgents = [][2]string{
	{"OctopusWebPortal", "Octopus Web Portal"}, {"OctopusCLI", "Octopus CLI"},
	{"OctopusTerraformProvider", "Octopus Terraform Provider"}, {"OctopusClient", "Octopus API client"},
}

// eventDocumentTypes are the ID prefixes of the documents events refer to.
var eventDocumentTypes = [][2]string{
	{"Accounts", "Account"}, {"Certificates", "Certificate"}, {"Channels", "Channel"}, {"Deployments", "Deployment"},
	{"Environments", "Environment"}, {"Feeds", "Feed"}, {"Lifecycles", "Lifecycle"},
	{"LibraryVariableSets", "Library Variable Set"}, {"Machines", "Machine"}, {"Projects", "Project"},
	{"ProjectGroups", "Project Group"}, {"Releases", "Release"}, {"Runbooks", "Runbook"}, {"Spaces", "Space"},
	{"Teams", "Team"}, {"Tenants", "Tenant"}, {"Users", "User"}, {"WorkerPools", "Worker Pool"},
}

func init() { registerServerRoute("events", (*Server).serveEvents) }

// serveEvents answers /api/events/…: the filter lists, else the empty
// events collection.
func (s *Server) serveEvents(r *request, segs []string) (int, any, error) {
	if len(segs) != 1 {
		return eventsCollection(r, segs)
	}
	var out []any
	switch strings.ToLower(segs[0]) {
	case "agents":
		for _, a := range eventAgents {
			out = append(out, map[string]any{"Id": a[0], "Name": a[1], "Links": map[string]any{}})
		}
	case "categories":
		for _, c := range eventCategories {
			out = append(out, map[string]any{"Id": c[0], "Name": c[1], "Links": map[string]any{}})
		}
	case "groups":
		for _, g := range eventGroups {
			out = append(out, map[string]any{"Id": g.ID, "Name": g.Name, "EventCategories": g.Categories, "Links": map[string]any{}})
		}
	case "documenttypes":
		for _, d := range eventDocumentTypes {
			out = append(out, map[string]any{"Id": d[0], "Name": d[1]})
		}
	default:
		return eventsCollection(r, segs)
	}
	if r.method != http.MethodGet {
		return 0, nil, methodNotAllowed(r.method, r.path)
	}
	return http.StatusOK, out, nil
}

// eventsCollection answers the rest of /api/events as the events
// collection of empty.go does.
func eventsCollection(r *request, segs []string) (int, any, error) {
	if ec := lookupEmpty("events"); ec != nil {
		return serveEmpty(r, ec, segs)
	}
	return 0, nil, notFound(r.path)
}
