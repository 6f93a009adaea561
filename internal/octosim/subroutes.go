package octosim

import "strings"

// Routes that are not collections of the kind registry register here (in
// init), so the router in routes.go stays generic:
//
//   - sub-resources of an entity: tenants/{id}/commonvariables,
//     projects/{id}/logo …;
//   - actions on a collection: tenants/variables-missing;
//   - routes below a collection with more segments: workers/operatingsystem/names/all;
//   - server-level resources: configuration/feature-toggles;
//   - space-level resources that are not collections: observability/kubernetes-monitors,
//     and those below the space resource: spaces/{id}/parentEnvironments.
//
// Names match case-insensitively, as on a real server.

// subHandler answers /{coll}/{id}/{sub}…; segs starts with sub.
type subHandler func(s *Server, r *request, sp *space, owner map[string]any, segs []string) (int, any, error)

// collHandler answers /{coll}/{action}.
type collHandler func(s *Server, r *request, sp *space) (int, any, error)

// serverHandler answers /api/{name}/…; segs are the segments after name.
type serverHandler func(s *Server, r *request, segs []string) (int, any, error)

// collRouteHandler answers /{coll}/{name}/…; segs are the segments after
// name (workers/operatingsystem/names/all, environments/ephemeral/{id}/deprovision).
type collRouteHandler func(s *Server, r *request, sp *space, segs []string) (int, any, error)

// spaceHandler answers /api/{spaceId}/{name}/… (and /api/spaces/{spaceId}/{name}/…
// for routes a real server serves below the space resource); segs are the
// segments after name.
type spaceHandler func(s *Server, r *request, sp *space, segs []string) (int, any, error)

var (
	subHandlers   = map[string]map[string]subHandler{}
	collActions   = map[string]map[string]collHandler{}
	collRoutes    = map[string]map[string]collRouteHandler{}
	serverRoutes  = map[string]serverHandler{}
	spaceRoutes   = map[string]spaceHandler{}
	spaceSubs     = map[string]spaceHandler{}
	binaryUploads = map[string]map[string]bool{}
)

// registerSubResource serves /{coll}/{id}/{sub}. The entity's Links entry
// for it, if a real server has one, is in the subResources table
// (subresources.go) as an External entry.
func registerSubResource(coll, sub string, h subHandler) {
	if subHandlers[coll] == nil {
		subHandlers[coll] = map[string]subHandler{}
	}
	subHandlers[coll][strings.ToLower(sub)] = h
}

// registerBinary marks PUT/POST of coll/{id}/sub as taking a non-JSON body.
func registerBinary(coll, sub string) {
	if binaryUploads[coll] == nil {
		binaryUploads[coll] = map[string]bool{}
	}
	binaryUploads[coll][strings.ToLower(sub)] = true
}

func registerCollAction(coll, action string, h collHandler) {
	if collActions[coll] == nil {
		collActions[coll] = map[string]collHandler{}
	}
	collActions[coll][strings.ToLower(action)] = h
}

// seedOnlyCollection is a seed collection that is not an API collection:
// one document per entity of Owner, keyed by that entity's ID, which the
// document holds in Field. Deleting the owner deletes it.
type seedOnlyCollection struct{ Owner, Field string }

// seedOnlyCollections are the seed-only collections by name (tenant
// variables keyed by tenant, project logos keyed by project).
var seedOnlyCollections = map[string]seedOnlyCollection{seedTenantVariables: {Owner: "tenants", Field: "TenantId"}}

func registerSeedCollection(name, owner, field string) {
	seedOnlyCollections[name] = seedOnlyCollection{Owner: owner, Field: field}
}

func isSeedOnly(name string) bool { _, ok := seedOnlyCollections[name]; return ok }

func registerServerRoute(name string, h serverHandler) { serverRoutes[strings.ToLower(name)] = h }

// registerCollRoute serves /{coll}/{name}/… with any number of segments
// after name; it takes precedence over an entity whose ID or slug is name.
func registerCollRoute(coll, name string, h collRouteHandler) {
	if collRoutes[coll] == nil {
		collRoutes[coll] = map[string]collRouteHandler{}
	}
	collRoutes[coll][strings.ToLower(name)] = h
}

// registerSpaceRoute serves /api/{spaceId}/{name}/… for a name that is not
// a collection (observability/kubernetes-monitors).
func registerSpaceRoute(name string, h spaceHandler) { spaceRoutes[strings.ToLower(name)] = h }

// registerSpaceSub serves /api/spaces/{spaceId}/{name}/… (parentEnvironments).
func registerSpaceSub(name string, h spaceHandler) { spaceSubs[strings.ToLower(name)] = h }

func collRoute(coll, name string) collRouteHandler { return collRoutes[coll][strings.ToLower(name)] }

func spaceRoute(name string) spaceHandler { return spaceRoutes[strings.ToLower(name)] }

func spaceSub(name string) spaceHandler { return spaceSubs[strings.ToLower(name)] }

func subHandlerFor(coll, sub string) subHandler { return subHandlers[coll][strings.ToLower(sub)] }

func collAction(coll, action string) collHandler { return collActions[coll][strings.ToLower(action)] }

func serverRoute(name string) serverHandler { return serverRoutes[strings.ToLower(name)] }

// isBinaryUpload reports whether a request path (segments below /api/)
// names a sub-resource that takes a non-JSON body.
func isBinaryUpload(segs []string) bool {
	n := len(segs)
	if n < 3 {
		return false
	}
	coll := strings.ToLower(segs[n-3])
	for c, subs := range binaryUploads {
		if strings.EqualFold(c, coll) && subs[strings.ToLower(segs[n-1])] {
			return true
		}
	}
	return false
}
