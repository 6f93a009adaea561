package octosim

import (
	"fmt"
	"strings"
)

// storedCollections are the collections outside the kind registry that the
// simulator stores (see storedCollection). Evidence for each entry is in
// its comment; values no public source gives are marked as estimates.
var storedCollections = []*storedCollection{
	// Git credentials: GitCredentialResource of OctopusClients and
	// go-octopusdeploy's credentials.Resource (Name, Description, Details,
	// RepositoryRestrictions); the password of UsernamePassword details is
	// a SensitiveValue. go-octopusdeploy's e2e suite, run against real
	// servers, PUTs RepositoryRestrictions null and reads the old
	// restrictions back (TestCredentialServiceUpdateWithNullRepositoryRestrictions):
	// null means "unchanged". Links.Usage is OctopusClients'
	// GitCredentialRepository.Usage.
	{
		Name: "git-credentials", ItemType: "GitCredential", IDPrefix: "GitCredentials",
		Link: "GitCredentials", Query: "{/id}{?skip,take,name}",
		NameField: "Name", UniqueName: true, Required: []string{"Details"},
		Defaults: func() map[string]any {
			return map[string]any{"Description": nil,
				"RepositoryRestrictions": map[string]any{"Enabled": false, "AllowedRepositories": []any{}}}
		},
		Sensitive:    []string{"Details/Password"},
		KeptWhenNull: []string{"RepositoryRestrictions"},
		Filters:      []storedFilter{filterName("Name"), filterIDs(), filterPartialName("Name")},
		Links: func(self string, _ map[string]any) map[string]any {
			return map[string]any{"Self": self, "Usage": self + "/usage"}
		},
		Validate: gitCredentialErrors,
		Subs:     map[string]func(*Server, *space, map[string]any) any{"usage": gitCredentialUsage},
	},
	// Proxies: OctopusClients' ProxyResource (Name, Host, Port, ProxyType,
	// Username, Password as a SensitiveValue); go-octopusdeploy's
	// proxies.NewProxy sends ProxyType "HTTP" and Port 80, the values
	// taken here when a write leaves them out (an estimate).
	{
		Name: "proxies", ItemType: "Proxy", IDPrefix: "Proxies",
		Link: "Proxies", Query: "{/id}{?skip,take,ids,partialName}",
		NameField: "Name", UniqueName: true, Required: []string{"Host"},
		Defaults: func() map[string]any {
			return map[string]any{"ProxyType": "HTTP", "Port": float64(80), "Username": nil, "Password": nil}
		},
		Sensitive: []string{"Password"},
		Filters:   []storedFilter{filterIDs(), filterPartialName("Name"), filterName("Name")},
		Links:     selfLink,
	},
	// Subscriptions: OctopusClients' SubscriptionResource; the defaults of
	// EventNotificationSubscription are those of go-octopusdeploy's
	// subscriptions.NewSubscription (and OctopusClients' constructor).
	{
		Name: "subscriptions", ItemType: "Subscription", IDPrefix: "Subscriptions",
		Link: "Subscriptions", Query: "{/id}{?skip,take,ids,partialName,spaces}",
		NameField: "Name", UniqueName: true,
		Defaults: func() map[string]any {
			return map[string]any{"Type": "Event", "IsDisabled": false, "EventNotificationSubscription": defaultEventNotification()}
		},
		Filters: []storedFilter{filterIDs(), filterPartialName("Name"), filterName("Name")},
		Links:   selfLink,
	},
	// Deployment freezes, server-level: go-octopusdeploy's
	// deploymentfreezes package (the {DeploymentFreezes, Count} list, the
	// projectIds/tenantIds/environmentIds filters of its template) and a
	// probe of a real server (Id "DeploymentFreezes-N", Description,
	// OwnerId, RecurringSchedule null when not recurring).
	// includeComplete and status are accepted and not applied.
	{
		Name: "deploymentfreezes", ItemType: "DeploymentFreeze", IDPrefix: "DeploymentFreezes", ServerLevel: true,
		Link: "DeploymentFreezes", Query: "{/id}{?skip,take,ids,partialName,projectIds,tenantIds,environmentIds,includeComplete,status}",
		NameField: "Name", Required: []string{"Start", "End"},
		Defaults: func() map[string]any {
			return map[string]any{"Description": nil, "ProjectEnvironmentScope": map[string]any{},
				"TenantProjectEnvironmentScope": []any{}, "RecurringSchedule": nil, "OwnerId": nil}
		},
		Filters: []storedFilter{filterIDs(), filterPartialName("Name"),
			freezeScopeFilter("projectIds", "ProjectId"), freezeScopeFilter("tenantIds", "TenantId"),
			freezeScopeFilter("environmentIds", "EnvironmentId")},
		Envelope: "DeploymentFreezes",
		Links:    selfLink,
	},
	// Rate limiting policies, server-level, from Octopus 2026.3 (the
	// docs' Version Notes: "HTTP Rate Limiting functionality was added in
	// Octopus 2026.3"). Three built-in policies, RateLimitingPolicies-1 to
	// -3, that can be neither created nor deleted nor renamed nor
	// re-scoped (the API docs; go-octopusdeploy's e2e suite pins the
	// rename message). No Links (the API docs' examples have none).
	{
		Name: "ratelimitingpolicies", ItemType: "RateLimitingPolicy", IDPrefix: "RateLimitingPolicies", ServerLevel: true,
		NameField: "Name", Feature: "rateLimitingPolicies", NoCreate: true, NoDelete: true,
		Immutable: []string{"IsBuiltIn"},
		Validate:  rateLimitingErrors,
		BuiltIns:  builtInRateLimitingPolicies,
	},
	// A space's default retention policies, from Octopus 2025.3
	// (OctopusClients' SpaceDefaultRetentionPolicyRepository requires
	// 2025.3.13969): one per retention type, created with the space,
	// read by type (GET ?RetentionType=, required) and modified, never
	// created or deleted. No Links (SpaceDefaultRetentionPolicyResource
	// has none).
	{
		Name: "retentionpolicies", ItemType: "SpaceDefaultRetentionPolicy",
		Feature: "spaceRetentionPolicies", NoCreate: true, NoDelete: true,
		Immutable: []string{"RetentionType", "Name"},
		SingleBy:  "RetentionType",
		Validate:  retentionPolicyErrors,
		BuiltIns:  builtInRetentionPolicies,
	},
}

func defaultEventNotification() map[string]any {
	empty := func() []any { return []any{} }
	return map[string]any{
		"Filter": map[string]any{
			"Users": empty(), "Projects": empty(), "ProjectGroups": empty(), "Environments": empty(),
			"EventGroups": empty(), "EventCategories": empty(), "EventAgents": empty(), "Tenants": empty(),
			"Tags": empty(), "DocumentTypes": empty(),
		},
		"EmailTeams": empty(), "EmailFrequencyPeriod": "01:00:00", "EmailPriority": "Normal",
		"EmailShowDatesInTimeZoneId": "UTC", "EmailDigestLastProcessed": nil, "EmailDigestLastProcessedEventAutoId": nil,
		"WebhookURI": nil, "WebhookTeams": empty(), "WebhookTimeout": "00:00:10", "WebhookHeaderKey": nil,
		"WebhookHeaderValue": nil, "WebhookLastProcessed": nil, "WebhookLastProcessedEventAutoId": nil,
		"SlackChannelIds": empty(), "SlackChannelNames": empty(), "SlackFrequencyPeriod": "01:00:00",
		"SlackDigestFormat": "Summary",
	}
}

// gitCredentialTypes are the Details.Type values of go-octopusdeploy's
// credentials package.
var gitCredentialTypes = []string{"Anonymous", "UsernamePassword", "GitHub", "Reference"}

func gitCredentialErrors(doc, _ map[string]any) []string {
	d, ok := doc["Details"].(map[string]any)
	if !ok {
		return nil // Required reports a missing Details
	}
	t := str(d["Type"])
	for _, k := range gitCredentialTypes {
		if strings.EqualFold(k, t) {
			return nil
		}
	}
	return []string{"The Details.Type field must be one of " + strings.Join(gitCredentialTypes, ", ") + "."}
}

// gitCredentialUsage is GET git-credentials/{id}/usage: the version
// controlled projects of the space whose persistence settings use the
// credential (OctopusClients' GitCredentialUsage).
func gitCredentialUsage(s *Server, sp *space, doc map[string]any) any {
	projects := []any{}
	for _, p := range sp.coll("projects").all() {
		ps, _ := p["PersistenceSettings"].(map[string]any)
		cr, _ := ps["Credentials"].(map[string]any)
		if strings.EqualFold(str(cr["Id"]), str(doc["Id"])) {
			projects = append(projects, map[string]any{"ProjectId": p["Id"], "Slug": p["Slug"], "Name": p["Name"]})
		}
	}
	return map[string]any{"Projects": projects, "OtherProjects": 0}
}

// freezeScopeFilter selects deployment freezes whose scopes name one of
// the IDs asked for: the project keys and environment values of
// ProjectEnvironmentScope, and field of TenantProjectEnvironmentScope's
// entries.
func freezeScopeFilter(param, field string) storedFilter {
	return storedFilter{Param: param, Match: func(d map[string]any, want map[string]bool) bool {
		pes, _ := d["ProjectEnvironmentScope"].(map[string]any)
		for project, envs := range pes {
			if field == "ProjectId" && want[strings.ToLower(project)] {
				return true
			}
			if field == "EnvironmentId" {
				for _, e := range strs(envs) {
					if want[strings.ToLower(e)] {
						return true
					}
				}
			}
		}
		for _, x := range asSlice(d["TenantProjectEnvironmentScope"]) {
			if m, ok := x.(map[string]any); ok && want[strings.ToLower(str(m[field]))] {
				return true
			}
		}
		return false
	}}
}

// builtInRateLimitingPolicies are the three policies of a 2026.3 server
// (the API docs list "Unauthenticated requests", "Authenticated requests"
// and "AI Agent requests", in that order; go-octopusdeploy's own tests
// name RateLimitingPolicies-2 "Authenticated requests", scope
// AuthenticatedHuman). A new 2026.3 installation has them all enabled
// (the docs' Default Enabled State); the limits are the API docs' example
// values (an estimate).
func builtInRateLimitingPolicies(string, *space) []map[string]any {
	policy := func(n int, name, scope string) map[string]any {
		return map[string]any{
			"Id": fmt.Sprintf("RateLimitingPolicies-%d", n), "IsBuiltIn": true, "Name": name, "IsEnabled": true,
			"ScopeType": scope, "RequestsPerMinute": float64(600), "BurstLimit": float64(200), "AuditMode": false,
		}
	}
	return []map[string]any{
		policy(1, "Unauthenticated requests", "Unauthenticated"),
		policy(2, "Authenticated requests", "AuthenticatedHuman"),
		policy(3, "AI Agent requests", "AuthenticatedAgent"),
	}
}

// rateLimitingScopes are the ScopeType values of go-octopusdeploy's
// ratelimitingpolicies package.
var rateLimitingScopes = []string{"Unauthenticated", "AuthenticatedHuman", "AuthenticatedAgent"}

func rateLimitingErrors(doc, stored map[string]any) []string {
	var errs []string
	if b, _ := stored["IsBuiltIn"].(bool); b {
		if str(doc["Name"]) != str(stored["Name"]) {
			errs = append(errs, "The name of a built-in rate limiting policy cannot be changed.")
		}
		if !strings.EqualFold(str(doc["ScopeType"]), str(stored["ScopeType"])) {
			errs = append(errs, "The scope of a built-in rate limiting policy cannot be changed.")
		}
	}
	if !containsFold(rateLimitingScopes, str(doc["ScopeType"])) {
		errs = append(errs, "The ScopeType field must be one of "+strings.Join(rateLimitingScopes, ", ")+".")
	}
	for _, f := range []string{"RequestsPerMinute", "BurstLimit"} {
		if n, ok := doc[f].(float64); !ok || n < 0 {
			errs = append(errs, "The "+f+" field must be a number, 0 or more.")
		}
	}
	return errs
}

// retentionTypes are a space's default retention policies: the type, the
// policy's name, its values on a new space (those of a new lifecycle's and
// runbook's own retention, defaults.go) and the first version that has it
// (runbook retention moved to the space with the runbook retention shape
// of 2025.4, versions.go). Names and IDs are estimates: the public clients
// only read them back (OctopusClients' tests use IDs of the form
// "RunbookRetentionDefault-Spaces-999").
var retentionTypes = []struct {
	Type, Name string
	Quantity   float64
	Unit       string
	Feature    string // serverFeatures: the first version that has it
}{
	{"LifecycleRelease", "Default lifecycle release retention policy", 30, "Days", "spaceRetentionPolicies"},
	{"LifecycleTentacle", "Default lifecycle tentacle retention policy", 30, "Days", "spaceRetentionPolicies"},
	{"RunbookRetention", "Default runbook retention policy", 100, "Items", "runbookSpaceRetentionType"},
}

func builtInRetentionPolicies(version string, sp *space) []map[string]any {
	var out []map[string]any
	for _, rt := range retentionTypes {
		if !featureAt(version, rt.Feature) {
			continue
		}
		out = append(out, map[string]any{
			"Id": rt.Type + "Default-" + sp.id(), "Name": rt.Name, "RetentionType": rt.Type,
			"Strategy": "Count", "QuantityToKeep": rt.Quantity, "Unit": rt.Unit,
		})
	}
	return out
}

// retentionPolicyErrors: a strategy of Count or Forever (OctopusClients'
// Modify…RetentionPolicyCommand: Strategy required, ['Count', 'Forever'];
// Unit ['Days', 'Items']); Count needs a quantity of at least 1.
func retentionPolicyErrors(doc, _ map[string]any) []string {
	var errs []string
	switch st := str(doc["Strategy"]); {
	case st == "":
		errs = append(errs, "The Strategy field is required.")
	case strings.EqualFold(st, "Count"):
		if n, _ := doc["QuantityToKeep"].(float64); n < 1 {
			errs = append(errs, "The QuantityToKeep field must be at least 1 when the Strategy is Count.")
		}
	case !strings.EqualFold(st, "Forever"):
		errs = append(errs, "The Strategy field must be one of Count, Forever.")
	}
	if u := str(doc["Unit"]); u != "" && !containsFold([]string{"Days", "Items"}, u) {
		errs = append(errs, "The Unit field must be one of Days, Items.")
	}
	return errs
}

func containsFold(list []string, v string) bool {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}
