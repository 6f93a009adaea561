// Package octosim is an in-memory simulator of the Octopus Deploy REST API
// (as Octopus Server 2024–2025 answers it), faithful enough for
// go-octopusdeploy and octobundle's export and apply to run against it in
// tests. There is no real Octopus server on the build machines; every test
// of the tool talks to this package over real HTTP on loopback.
//
// # Go API
//
//	s, err := octosim.New(octosim.Options{APIKey, ServerVersion, IDOffset, Seed, Faults, Logger, TaskDuration})
//	s.Handler() http.Handler          // serve it yourself
//	s.Serve(ctx, listener) error      // or let it serve until ctx is done
//	s, baseURL := simtest.Start(t, opts) // (package simtest) a test server on 127.0.0.1:0, closed by t.Cleanup
//	inst, err := octosim.LoadSeed(path) // or ParseSeed(data); Instance is the seed format
//	s.Dump() *Instance                  // the whole instance, secrets in clear (loads back identically)
//	s.Entity(spaceID, collection, id)   // one stored entity, secrets in clear
//	s.Secret(spaceID, collection, id, path) // a write-only value, e.g. "Variables/DbPassword/Value"
//	s.SetFaults(Faults{...}); s.AddFaultRule(FaultRule{...}); s.RemoveFaultRule(id); s.ClearFaults(); s.FaultRuleHits(id)
//	s.Counters(); s.Requests(); s.Writes(); s.ResetCounters(); octosim.NormalizePath(p)
//	GET/DELETE CountersPath (/_octosim/counters): the counters over HTTP, for a parent process
//	s.APIKey(); s.Version()
//
// # What is simulated
//
//   - GET /api/ (public, as on a real server): Application, Version,
//     ApiVersion, InstallationId and the Links of the client's captured root
//     document; GET /api/{spaceId}: the space's links; spaces CRUD (a space
//     needs a manager; deleting needs TaskQueueStopped and not IsDefault). A
//     fresh instance has one space, Default (Spaces-1, IsDefault).
//   - Every collection of the kind registry (schema.Kinds), served from the
//     table: /api/{spaceId}/{collection} (server-level kinds at /api/…), list
//     with the paged envelope (skip, take default 30, Page.Next while pages
//     remain), ids, name, partialName and field filters (contentType,
//     feedType, accountType, projectIds, tenants?projectId …), the legacy
//     …/all bare arrays, POST (201 with the created entity), GET, PUT, DELETE.
//     Routes without a space ID act on the default space. Where a real
//     server lists a collection otherwise, the listForms table (listforms.go)
//     says how: deploymentprocesses and runbookProcesses paged and sorted
//     by Id (runbookProcesses without ids), variables only as
//     variables/all, projects, channels and runbooks sorted by name.
//   - Nested routes derived from the registry: children through their parent
//     field (projects/{id}/channels, projects/{id}/runbooks,
//     teams/{id}/scopeduserroles), singletons through their owner
//     (projects/{id}/deploymentprocesses, projects/{id}/variables,
//     projects/{id}/runbookProcesses/{id}), tenants/{id}/variables (legacy
//     shape, GET/PUT/POST) and tenantvariables/all.
//   - Tenant variables in one model, the scoped one of 2025.2+
//     (scopedtenantvars.go): tenants/{id}/commonvariables and projectvariables
//     (from 2025.2; 404 before), the legacy tenants/{id}/variables as a view
//     (its PUT refused from 2025.2), tenants/variables-missing,
//     configuration/feature-toggles (CommonVariableScopingFeatureToggle);
//     projects/{id}/deploymentsettings (a view of the project document),
//     projects/{id}/triggers and projecttriggers, projects/{id}/logo
//     (multipart upload). Routes outside the registry register in
//     subroutes.go.
//   - Singletons (deploymentprocesses, runbookProcesses, variables) with
//     optimistic concurrency: a PUT with a stale Version is 409, success
//     increments Version; variable sets answer ScopeValues on GET and in
//     variables/all.
//   - Server-side creation: IDs "Prefix-N" from per-prefix counters that
//     start past IDOffset and past every seeded ID; GUIDs for steps, actions,
//     package references, variables, templates, phases and channel rules
//     (tags get TagSets-N/Tags-M) when a write leaves them out; slugs; creating a
//     project creates its deployment process, variable set and Default
//     channel; a runbook its runbook process; a library variable set its
//     variable set. Deleting cascades to children and owned singletons and
//     unlinks tenants from a deleted project.
//   - Each space's built-ins: Default Lifecycle, Default Project Group,
//     Default Machine Policy, Default Worker Pool, feeds-builtin and
//     feeds-builtin-releases; built-in user roles (userroles-…) on the
//     server. Built-ins, default policies/pools and default channels cannot
//     be deleted (400).
//   - Validation as 400 {"ErrorMessage": "There was a problem with your
//     request.", "Errors": [...]}: names required and unique (per space, per
//     project for channels and runbooks, case-insensitive), required fields
//     (project LifecycleId and ProjectGroupId, …), every registry reference to
//     a collection kind naming an existing entity (channels and actions of the
//     same project; process owners), unique step and action names in a
//     process, tenant variables only for connected projects/environments and
//     existing templates. 401 without a valid X-Octopus-ApiKey; 404 for
//     unknown IDs and paths; 405 for unsupported methods.
//   - ASP.NET behaviour: paths and JSON field names match case-insensitively
//     (fields are stored under their canonical casing, see casing.go);
//     entities are found by slug as well as ID; tenants?clone= copies the
//     source tenant (clone.go); projects?clone= is refused (400).
//   - Links as real 2024–2025 payloads carry them, every one resolving
//     (subresources.go: project releases, summary, progression; project
//     group and lifecycle projects; worker pool workers; environment
//     machines; process templates …); collections stored nowhere answer
//     empty pages (empty.go).
//   - Users and their API keys (users.go): users CRUD, keys shown once on
//     creation, keys authenticate as their user, /users/me is the key's
//     user; configuration sections, server status, event filter lists, the
//     step picker's categories and search, machine operating systems and
//     shells, dynamic worker types; from 2025.3 Kubernetes monitors and
//     parent/ephemeral environments (serverFeatures, 404 before).
//   - Collections outside the registry that a sync copies, from one table
//     (storedcolls.go, served by stored.go): git credentials, proxies,
//     subscriptions, deployment freezes, rate limiting policies (2026.3+)
//     and each space's default retention policies (2025.3+, created with
//     the space) — POST, paged list with declared filters, /all, GET, PUT
//     replacing the document, DELETE, write-only passwords, built-ins.
//   - Server defaults and computed fields from tables (defaults.go):
//     environment SortOrder, ExtensionSettings, project PersistenceSettings,
//     machine HealthStatus "Unknown", CanAddWorkers by pool type … never
//     taken from a body.
//   - Deleting an entity still referenced (found from the registry's Refs
//     with the walker) is refused with the server's "cannot be deleted
//     because it is being used by the following …" (inuse.go).
//   - Shapes that changed between versions follow Options.ServerVersion
//     (versions.go: retention policies); ConformanceVersions lists the two
//     versions the conformance suite covers.
//   - PUT merges top-level fields: a field that is not sent keeps its stored
//     value ("absent is not cleared"); server-managed fields (Id, SpaceId,
//     process and variable set IDs, a child's parent field) are never taken
//     from the body.
//   - Write-only secrets: SensitiveValues answer {"HasValue", "NewValue":
//     null}; NewValue sets, HasValue true keeps, HasValue false clears.
//     Sensitive variables answer Value null; a PUT keeps a secret only for a
//     variable that carries its stored Id and no new value — without the Id
//     the secret is lost (go-octopusdeploy #449). Tenant variables of
//     sensitive templates behave like SensitiveValues. Where the secrets
//     are and how each is answered is one description, each collection's
//     mask (mask.go), compiled from the kind registry's Secret positions.
//   - Built-in feed packages (packages.go: upload with overwrite modes,
//     delta signature and delta upload, versions, download), build
//     information (buildinfo.go), server tasks with states from the clock
//     and activity logs (tasks.go), releases with frozen process and
//     variable snapshots and the CLI's create/v1 command (releases.go,
//     snapshots.go), deployments along the lifecycle (deployments.go),
//     runbook snapshots and runs (runbookruns.go); simulator-only
//     collections share one table (simcoll.go).
//   - Faults: latency and jitter, a rate of 5xx, 429 with Retry-After and
//     dropped connections, drawn from a seeded generator; targeted rules
//     (method + path prefix, skip N, fire M times, status or drop, drop after
//     handling). Request counters by method and normalized path.
//
// # What is knowingly not simulated
//
// Unknown request fields are stored and returned (a real server drops what
// its model lacks); tag renames do not rewrite canonical tag names held
// elsewhere; projects?clone=, config-as-code projects, system teams, permissions, a
// project's generated default logo (404 here) and the per-type required
// fields of accounts, feeds, targets and workers are not modelled; nothing
// is deployed (tasks succeed and log each step as not run), and events and
// the other listed collections are always empty; server-level stored
// collections are not in seeds or Dump. See docs/simulator.md.
package octosim
