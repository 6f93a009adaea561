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
//   - simulator-only collections of a space, outside the kind registry
//     (packages, build-information, tasks): registerSpaceRoute too.
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
	binaryUploads [][]string
)

// createHook is what the server does around storing a new entity of a
// collection beyond the registry's generic rules: Prepare fills in and
// checks the document before validation and storing (nil error: go on),
// Created acts once it is stored under its ID (a deployment queues its
// task). Either may be nil.
type createHook struct {
	Prepare func(s *Server, r *request, sp *space, doc map[string]any) error
	Created func(s *Server, r *request, sp *space, doc map[string]any)
}

// entityFallback answers /{coll}/{id} for an id the collection does not
// hold (a frozen snapshot of a process or variable set); nil, nil, nil
// means not found.
type entityFallback func(s *Server, r *request, sp *space, spec *collSpec, id string) (int, any, error)

var (
	createHooks      = map[string]createHook{}
	entityFallbacks  = map[string]entityFallback{}
	deletedWithOwner = map[string][]ownedRecord{}
)

// ownedRecord is a collection whose entities go when the entity their
// Field names is deleted (a project's releases, a release's deployments).
type ownedRecord struct{ Coll, Field string }

func registerCreateHook(coll string, h createHook) { createHooks[coll] = h }

func registerEntityFallback(coll string, h entityFallback) { entityFallbacks[coll] = h }

// registerOwnedRecords makes the entities of each record's collection
// whose Field holds a deleted owner's ID go with it.
func registerOwnedRecords(owner string, recs ...ownedRecord) {
	deletedWithOwner[owner] = append(deletedWithOwner[owner], recs...)
}

// registerSubResource serves /{coll}/{id}/{sub}. The entity's Links entry
// for it, if a real server has one, is in the subResources table
// (subresources.go) as an External entry.
func registerSubResource(coll, sub string, h subHandler) {
	if subHandlers[coll] == nil {
		subHandlers[coll] = map[string]subHandler{}
	}
	subHandlers[coll][strings.ToLower(sub)] = h
}

// registerBinary marks PUT/POST of a path as taking a non-JSON body (a
// file upload the handler reads from request.upload). pattern is the path
// below the space, "*" standing for any one segment: "projects/*/logo",
// "packages/raw", "packages/*/*/delta".
func registerBinary(pattern string) {
	binaryUploads = append(binaryUploads, strings.Split(strings.ToLower(pattern), "/"))
}

// registerCollAction serves /{coll}/{action}; action may span segments
// ("create/v1").
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

// registerSpaceRoute serves /api/{spaceId}/{name}/… (and /api/{name}/…
// for the default space) for a name that is not a registry collection:
// observability/kubernetes-monitors, and the simulator-only collections
// packages, build-information and tasks.
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
// ends in a path registered with registerBinary.
func isBinaryUpload(segs []string) bool {
	for _, pat := range binaryUploads {
		n := len(pat)
		if len(segs) < n {
			continue
		}
		tail := segs[len(segs)-n:]
		ok := true
		for i, p := range pat {
			if p != "*" && !strings.EqualFold(p, tail[i]) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}
