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

// emptyCollections are the real collections that are always empty here:
// audit and read-only collections a sync never writes, and those another
// part of the simulator will model. Triggers and feature toggles have their
// own handlers; collections the simulator stores outside the registry are
// storedCollections (stored.go).
var emptyCollections = []emptyCollection{
	{Name: "interruptions", ItemType: "Interruption", Link: "Interruptions", Query: "{/id}{?skip,take,regarding,pendingOnly,ids}"},
	{Name: "artifacts", ItemType: "Artifact", Link: "Artifacts", Query: "{/id}{?skip,take,regarding,ids,partialName,order}"},
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
