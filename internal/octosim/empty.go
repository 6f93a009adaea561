package octosim

import (
	"net/http"
	"strings"
)

// emptyCollection is a collection a real server has that the simulator
// stores nothing in: it answers an empty page (and an empty /all array),
// 404 for any ID, and refuses writes, so clients that list it see what a
// fresh server shows instead of a 404.
type emptyCollection struct {
	// Name is the path segment ("git-credentials").
	Name string
	// ItemType is the envelope's ItemType.
	ItemType string
	// Link is the root document's link name.
	Link string
	// Query is the root link's URI template query part.
	Query string
	// ServerLevel collections live under /api/ only; the others under
	// /api/{spaceId}/ (and /api/ for the default space).
	ServerLevel bool
}

// emptyCollections are the real collections that are always empty here.
// Triggers and feature toggles are not in this list: they have their own
// handlers.
var emptyCollections = []emptyCollection{
	{Name: "git-credentials", ItemType: "GitCredential", Link: "GitCredentials", Query: "{/id}{?skip,take,name}"},
	{Name: "proxies", ItemType: "Proxy", Link: "Proxies", Query: "{/id}{?skip,take,ids,partialName}"},
	{Name: "interruptions", ItemType: "Interruption", Link: "Interruptions", Query: "{/id}{?skip,take,regarding,pendingOnly,ids}"},
	{Name: "subscriptions", ItemType: "Subscription", Link: "Subscriptions", Query: "{/id}{?skip,take,ids,partialName,spaces}"},
	{Name: "artifacts", ItemType: "Artifact", Link: "Artifacts", Query: "{/id}{?skip,take,regarding,ids,partialName,order}"},
	{Name: "deploymentfreezes", ItemType: "DeploymentFreeze", Link: "DeploymentFreezes", ServerLevel: true, Query: "{/id}{?skip,take,ids,partialName,projectIds,tenantIds,environmentIds,includeComplete,status}"},
	{Name: "events", ItemType: "Event", Link: "Events", ServerLevel: true, Query: "{/id}{?skip,take,ids,regarding,from,to,spaces,includeSystem}"},
	{Name: "communityactiontemplates", ItemType: "CommunityActionTemplate", Link: "CommunityActionTemplates", ServerLevel: true, Query: "{/id}{?skip,take,ids}"},
}

func lookupEmpty(name string) *emptyCollection {
	for i := range emptyCollections {
		if strings.EqualFold(emptyCollections[i].Name, name) {
			return &emptyCollections[i]
		}
	}
	return nil
}

// serveEmpty answers a request below an empty collection.
func serveEmpty(r *request, ec *emptyCollection, segs []string) (int, any, error) {
	if r.method != http.MethodGet {
		return 0, nil, &apiError{Status: http.StatusMethodNotAllowed,
			Message: "The simulator does not store " + ec.Name + "; it only lists them (always empty)."}
	}
	switch {
	case len(segs) == 0:
		return http.StatusOK, page(r, ec.ItemType, nil), nil
	case len(segs) == 1 && strings.EqualFold(segs[0], "all"):
		return http.StatusOK, []any{}, nil
	}
	return 0, nil, notFound(r.path)
}

// The API key's user. A real server answers /users/me with the user the
// key belongs to; the simulator has one key, so one user.
const apiKeyUserID = "Users-1"

func apiKeyUser() map[string]any {
	return map[string]any{
		"Id": apiKeyUserID, "Username": "admin", "DisplayName": "Administrator", "EmailAddress": "admin@example.com",
		"IsActive": true, "IsService": false, "IsRequestor": true, "CanPasswordBeEdited": true,
		"Identities": []any{}, "Links": userLinks("/api/users/" + apiKeyUserID),
	}
}

// serveUsers answers /api/users[/me|/all|/{id}].
func (s *Server) serveUsers(r *request, segs []string) (int, any, error) {
	if len(segs) >= 2 && (strings.EqualFold(segs[0], "me") || strings.EqualFold(segs[0], apiKeyUserID)) {
		if sr := findSubResource("users", segs[1:]); sr != nil {
			return s.serveSubResource(r, nil, sr, apiKeyUser())
		}
	}
	if r.method != http.MethodGet {
		return 0, nil, &apiError{Status: http.StatusMethodNotAllowed,
			Message: "The simulator has one user, the API key's own; users cannot be created or changed."}
	}
	switch {
	case len(segs) == 0:
		return http.StatusOK, page(r, "User", []map[string]any{apiKeyUser()}), nil
	case len(segs) == 1 && strings.EqualFold(segs[0], "all"):
		return http.StatusOK, []any{apiKeyUser()}, nil
	case len(segs) == 1 && (strings.EqualFold(segs[0], "me") || strings.EqualFold(segs[0], apiKeyUserID)):
		return http.StatusOK, apiKeyUser(), nil
	}
	return 0, nil, notFound(r.path)
}
