package octosim

import (
	"fmt"
	"slices"
)

// Project triggers: the projecttriggers collection of the kind registry
// (GET/POST /api/{space}/projecttriggers, GET/PUT/DELETE …/{id}), also
// listed at /api/{space}/projects/{id}/triggers (the project's
// Links.Triggers). A trigger is {Name, ProjectId, IsDisabled, Description,
// Filter: {FilterType, …}, Action: {ActionType, …}}; the server refuses an
// unknown FilterType or ActionType and an action the filter cannot start
// (Octopus.Client's TriggerFilterType and ActionType):
//
//	MachineFilter                              → AutoDeploy
//	FeedFilter, ArcFeedFilter (built-in feed)  → CreateRelease
//	GitFilter                                  → CreateRelease
//	scheduled filters (…Schedule)              → DeployLatestRelease, DeployNewRelease, RunRunbook
//	WebhookFilter                              → any
//
// References (channels, environments, runbooks, tenants, actions) are
// checked by the generic validation from the registry's Refs.

var triggerActions = map[string][]string{
	"MachineFilter":           {"AutoDeploy"},
	"FeedFilter":              {"CreateRelease"},
	"ArcFeedFilter":           {"CreateRelease"},
	"GitFilter":               {"CreateRelease"},
	"OnceDailySchedule":       {"DeployLatestRelease", "DeployNewRelease", "RunRunbook"},
	"ContinuousDailySchedule": {"DeployLatestRelease", "DeployNewRelease", "RunRunbook"},
	"DaysPerMonthSchedule":    {"DeployLatestRelease", "DeployNewRelease", "RunRunbook"},
	"DaysPerWeekSchedule":     {"DeployLatestRelease", "DeployNewRelease", "RunRunbook"},
	"DailySchedule":           {"DeployLatestRelease", "DeployNewRelease", "RunRunbook"},
	"CronExpressionSchedule":  {"DeployLatestRelease", "DeployNewRelease", "RunRunbook"},
	"WebhookFilter":           {"AutoDeploy", "CreateRelease", "DeployLatestRelease", "DeployNewRelease", "RunRunbook"},
}

func init() {
	registerValidator("projecttriggers", triggerErrors)
	registerSubResource("projects", "triggers", serveProjectTriggers)
}

// serveProjectTriggers answers projects/{id}/triggers[/{triggerId}].
func serveProjectTriggers(s *Server, r *request, sp *space, project map[string]any, segs []string) (int, any, error) {
	return s.routeChildren(r, sp, collByName["projecttriggers"], map[string]string{"ProjectId": str(project["Id"])}, segs)
}

// triggerErrors checks a trigger's filter and action types.
func triggerErrors(s *Server, sp *space, doc map[string]any) []string {
	filter, _ := doc["Filter"].(map[string]any)
	action, _ := doc["Action"].(map[string]any)
	if filter == nil || action == nil {
		return []string{"A trigger needs a Filter and an Action."}
	}
	ft, at := str(filter["FilterType"]), str(action["ActionType"])
	allowed, ok := triggerActions[ft]
	if !ok {
		return []string{fmt.Sprintf("Filter.FilterType %q is not a trigger filter type.", ft)}
	}
	if !slices.Contains(allowed, at) {
		return []string{fmt.Sprintf("Action.ActionType %q cannot be used with a %s trigger.", at, ft)}
	}
	return nil
}
