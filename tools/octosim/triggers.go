package octosim

// Project triggers: the projecttriggers collection of the kind registry
// (GET/POST /api/{space}/projecttriggers, GET/PUT/DELETE …/{id}), also
// listed at /api/{space}/projects/{id}/triggers (the project's
// Links.Triggers). A trigger is {Name, ProjectId, IsDisabled, Description,
// Filter: {FilterType, …}, Action: {ActionType, …}}; the server refuses an
// unknown FilterType or ActionType and an action the filter cannot start
// (Octopus.Client's TriggerFilterType and ActionType; the table is the
// registry's schema.Kind.Pairs, checked by validate):
//
//	MachineFilter                              → AutoDeploy
//	FeedFilter, ArcFeedFilter (built-in feed)  → CreateRelease
//	GitFilter                                  → CreateRelease
//	scheduled filters (…Schedule)              → DeployLatestRelease, DeployNewRelease, RunRunbook
//	WebhookFilter                              → any
//
// References (channels, environments, runbooks, tenants, actions) are
// checked by the generic validation from the registry's Refs.

func init() {
	registerSubResource("projects", "triggers", serveProjectTriggers)
}

// serveProjectTriggers answers projects/{id}/triggers[/{triggerId}].
func serveProjectTriggers(s *Server, r *request, sp *space, project map[string]any, segs []string) (int, any, error) {
	return s.routeChildren(r, sp, collByName["projecttriggers"], map[string]string{"ProjectId": str(project["Id"])}, segs)
}
