package schema

import "regexp"

// Names of the collection kinds. Use these rather than string literals.
const (
	Environment           = "Environment"
	ProjectGroup          = "ProjectGroup"
	TagSet                = "TagSet"
	Feed                  = "Feed"
	Team                  = "Team"
	UserRole              = "UserRole"
	MachinePolicy         = "MachinePolicy"
	WorkerPool            = "WorkerPool"
	Account               = "Account"
	ActionTemplate        = "ActionTemplate"
	ScriptModule          = "ScriptModule"
	ScriptModuleVariables = "ScriptModuleVariables"
	Lifecycle             = "Lifecycle"
	Tenant                = "Tenant"
	TenantVariables       = "TenantVariables"
	Worker                = "Worker"
	DeploymentTarget      = "DeploymentTarget"
	Certificate           = "Certificate"
	LibraryVariableSet    = "LibraryVariableSet"
	LibraryVariables      = "LibraryVariables"
	Project               = "Project"
	Channel               = "Channel"
	DeploymentProcess     = "DeploymentProcess"
	Runbook               = "Runbook"
	RunbookProcess        = "RunbookProcess"
	ProjectVariables      = "ProjectVariables"
	ScopedUserRole        = "ScopedUserRole"
	Release               = "Release"
	Deployment            = "Deployment"
	RunbookSnapshot       = "RunbookSnapshot"
	RunbookRun            = "RunbookRun"
	DeploymentSettings    = "DeploymentSettings"
	ProjectTrigger        = "ProjectTrigger"
	ProjectLogo           = "ProjectLogo"
	ReleaseResult         = "ReleaseResult"
)

// AccountVariableTypes are the variable Types whose Value is an account ID.
var AccountVariableTypes = []string{
	"AmazonWebServicesAccount", "AzureAccount", "GoogleCloudAccount",
	"UsernamePasswordAccount", "GenericOidcAccount", "TokenAccount", "SshKeyPairAccount",
}

// processRefs are the references inside a deployment or runbook process.
func processRefs() []Ref {
	return []Ref{
		// Environments and Channels narrow where an action runs (empty:
		// everywhere); ExcludedEnvironments only excludes.
		{Path: "Steps/*/Actions/*/Environments", To: Environment, Restricts: true, Holder: actionHolder},
		{Path: "Steps/*/Actions/*/ExcludedEnvironments", To: Environment},
		{Path: "Steps/*/Actions/*/Channels", To: Channel, Within: ScopeOwner, Restricts: true, Holder: actionHolder},
		// An action cannot run without its worker pool, feed, template or
		// account: dropping one of those is an error unless the rules
		// leave it to the destination.
		{Path: "Steps/*/Actions/*/WorkerPoolId", To: WorkerPool, OnDrop: OnDropError},
		{Path: "Steps/*/Actions/*/Packages/*/FeedId", To: Feed, OnDrop: OnDropError, Accepts: AcceptSlugOrExpression},
		{Path: "Steps/*/Actions/*/Container/FeedId", To: Feed, OnDrop: OnDropError},
		{Path: "Steps/*/Actions/*/Properties/Octopus.Action.Template.Id", To: ActionTemplate, OnDrop: OnDropError,
			Stamp: &Stamp{Field: "Octopus.Action.Template.Version", From: "Version"}},
		{Path: "Steps/*/Actions/*/Properties/Octopus.Action.Package.FeedId", To: Feed, OnDrop: OnDropError, Accepts: AcceptAny},
		{Path: "Steps/*/Actions/*/Properties/Octopus.Action.Azure.AccountId", To: Account, OnDrop: OnDropError},
		{Path: "Steps/*/Actions/*/Properties/Octopus.Action.Aws.AccountId", To: Account, OnDrop: OnDropError},
		// The teams allowed to approve a manual intervention: empty means
		// anyone, so the list restricts the action.
		{Path: "Steps/*/Actions/*/Properties/Octopus.Action.Manual.ResponsibleTeamIds", To: Team, Split: ",", Restricts: true, Holder: actionHolder},
		// Step-template parameters of account, certificate or worker-pool
		// type, and any other free-form property that holds an ID.
		{Path: "Steps/*/Actions/*/Properties/*", To: AnyKind, OnDrop: OnDropError},
	}
}

// actionHolder is the path of a process's actions, the holders of their
// scope restrictions.
const actionHolder = "Steps/*/Actions/*"

// process gives k, a deployment or runbook process, what every process
// shares; qualify says whether its action names are qualified by the
// owner's name (runbook processes).
// variablesList is the list form of variable sets (GET
// /api/{space}/variables/all, which OctopusClients' VariableSetRepository
// reads as GetAll): a bare array; with ids, the sets of those IDs. The
// paged variables{?ids} of the root document's Variables link is not a
// route of the server (the 2021.2 API description lists variables/all
// and variables/{id} only; the sync client's Get(ids) says "VariableSet
// does not support this operation").
const variablesList = "variables/all"

func process(k *Kind, qualify bool) *Kind {
	k.Refs, k.Sets, k.Volatile = processRefs(), processSets(), processVolatile()
	k.Sensitive = mixedSecrets("Steps/*/Actions/*/Properties/*")
	k.Provides = []Provide{{Kind: Action, Path: actionHolder, Within: ScopeOwner, Qualify: qualify}}
	// An action's tenant tags narrow the tenants it runs for.
	k.TagRefs = []Ref{{Path: "Steps/*/Actions/*/TenantTags", To: TagSet, Restricts: true, Holder: actionHolder}}
	// A step whose actions are all gone is removed.
	k.Containers = []Container{{Path: "Steps/*", Items: "Actions"}}
	// Each action's inline script body, in a file named after the action.
	k.Texts = []TextField{{Path: "Steps/*/Actions/*/Properties/Octopus.Action.Script.ScriptBody", Syntax: "Properties/Octopus.Action.Script.Syntax"}}
	k.Lists = processLists()
	// Step names, and action names across all steps, are unique.
	k.Unique = []Unique{{Path: "Steps/*", Field: "Name", Noun: "Step"}, {Path: actionHolder, Field: "Name", Noun: "Action"}}
	return k
}

// processLists: steps and actions by name (the server refuses names that
// differ only in case, so a case-only change is a rename); a step whose
// action keeps its name is the same step renamed.
func processLists() []List {
	return []List{
		{Path: "Steps", Key: []string{"Name"}, Fold: true, Strategy: StrategyMerge, DestOnly: DestOnlyRemovable, Renames: true, SameIf: "Actions"},
		{Path: "Steps/*/Actions", Key: []string{"Name"}, Fold: true, Strategy: StrategyMerge, DestOnly: DestOnlyRemovable, Renames: true},
		{Path: "Steps/*/Actions/*/Packages", Key: []string{"Name"}, Fold: true, Strategy: StrategyMerge, DestOnly: DestOnlyKeep},
	}
}

// variableLists: values by name and scope, case-sensitively (the server
// keeps CaseVar and casevar apart).
func variableLists() []List {
	return []List{{Path: "Variables", Key: []string{"Name", "Scope"}, Strategy: StrategyMerge, DestOnly: DestOnlyRemovable}}
}

// templateLists: variable templates (a project's tenant templates, a
// library variable set's common templates) by name.
func templateLists() []List {
	return []List{{Path: "Templates", Key: []string{"Name"}, Fold: true, Strategy: StrategyMerge, DestOnly: DestOnlyKeep}}
}

// variableSet gives k, a variable set (project, library variable set or
// script module), what every variable set shares.
func variableSet(k *Kind) *Kind {
	k.Refs, k.Sets, k.Volatile, k.Sensitive = variableSetRefs(), variableSetSets(), variableSetVolatile(), variableSetSecrets()
	// A value scoped to tenant tags.
	k.TagRefs = []Ref{{Path: "Variables/*/Scope/TenantTag", To: TagSet, Restricts: true, Holder: valueHolder, OmitEmpty: true}}
	// Values by name and Scope map.
	k.Values = []ValueSpec{{Items: "Variables", Name: "Name", Value: "Value", Sensitive: sensitiveField, Scope: "Scope"}}
	// Multi-line values (script module bodies, configuration files), in
	// files named after the variable's name and scope.
	k.Texts = []TextField{{Path: "Variables/*/Value", MultiLine: true}}
	k.Lists = variableLists()
	return k
}

func processSets() []SetSpec {
	return []SetSpec{
		{Path: "Steps/*/Actions/*/Environments"},
		{Path: "Steps/*/Actions/*/ExcludedEnvironments"},
		{Path: "Steps/*/Actions/*/Channels"},
		{Path: "Steps/*/Actions/*/TenantTags"},
	}
}

func processVolatile() []string {
	return []string{
		"ProjectId", "Version", "LastSnapshotId", "RunbookId",
		"Steps/*/Id", "Steps/*/Actions/*/Id", "Steps/*/Actions/*/Packages/*/Id",
		// The stamp of the template reference (see processRefs): the
		// destination's template version differs.
		"Steps/*/Actions/*/Properties/Octopus.Action.Template.Version",
	}
}

// variableSetRefs are the references inside a variable set (project,
// library variable set or script module).
func variableSetRefs() []Ref {
	return []Ref{
		// Every scope dimension narrows where a value applies.
		{Path: "Variables/*/Scope/Environment", To: Environment, Restricts: true, Holder: valueHolder, OmitEmpty: true},
		{Path: "Variables/*/Scope/Machine", To: DeploymentTarget, Restricts: true, Holder: valueHolder, OmitEmpty: true},
		{Path: "Variables/*/Scope/Channel", To: Channel, Within: ScopeOwner, Restricts: true, Holder: valueHolder, OmitEmpty: true},
		{Path: "Variables/*/Scope/Action", To: Action, Within: ScopeOwner, Restricts: true, Holder: valueHolder, OmitEmpty: true},
		{Path: "Variables/*/Scope/ProcessOwner", To: ProcessOwner, Within: ScopeOwner, Restricts: true, Holder: valueHolder, OmitEmpty: true},
		// A value that is an account, certificate or worker pool goes with it.
		{Path: "Variables/*/Value", To: Account, When: &Cond{Field: "Type", Values: AccountVariableTypes}, OnDrop: OnDropHolder, Holder: valueHolder, Accepts: AcceptAny},
		{Path: "Variables/*/Value", To: Certificate, When: &Cond{Field: "Type", Values: []string{"Certificate"}}, OnDrop: OnDropHolder, Holder: valueHolder},
		{Path: "Variables/*/Value", To: WorkerPool, When: &Cond{Field: "Type", Values: []string{"WorkerPool"}}, OnDrop: OnDropHolder, Holder: valueHolder},
	}
}

// valueHolder is the path of a variable set's values.
const valueHolder = "Variables/*"

// restrictedToRefs: an account's or certificate's environment and tenant
// restrictions (empty: usable everywhere).
func restrictedToRefs() []Ref {
	return []Ref{{Path: "EnvironmentIds", To: Environment, Restricts: true}, {Path: "TenantIds", To: Tenant, Restricts: true}}
}

func variableSetSets() []SetSpec {
	return []SetSpec{
		{Path: "Variables/*/Scope/Environment"},
		{Path: "Variables/*/Scope/Machine"},
		{Path: "Variables/*/Scope/Channel"},
		{Path: "Variables/*/Scope/Action"},
		{Path: "Variables/*/Scope/ProcessOwner"},
		{Path: "Variables/*/Scope/Role"},
		{Path: "Variables/*/Scope/TenantTag"},
		{Path: "Variables", Key: []string{"Name"}},
	}
}

// variableSetSecrets: a sensitive variable's Value is write-only.
func variableSetSecrets() []Secret {
	return []Secret{{Path: "Variables/*/Value", When: &Cond{Field: sensitiveField, Values: []string{"true"}}}}
}

// sensitiveField is the field marking a variable set's value sensitive.
const sensitiveField = "IsSensitive"

// mixedSecrets are positions whose plain strings are ordinary values and
// whose SensitiveValue objects are secrets.
func mixedSecrets(paths ...string) []Secret {
	out := secrets(paths...)
	for i := range out {
		out[i].Mixed = true
	}
	return out
}

func secrets(paths ...string) []Secret {
	out := make([]Secret, len(paths))
	for i, p := range paths {
		out[i] = Secret{Path: p}
	}
	return out
}

func variableSetVolatile() []string {
	return []string{"OwnerId", "Version", "ScopeValues", "Variables/*/Id"}
}

func init() {
	register(
		// --- no dependencies -------------------------------------------------
		&Kind{
			Name: Environment, Title: "environments", File: "environments/{}.json",
			Collection: "environments", IDPrefix: "Environments", NameField: "Name",
			Sets:   []SetSpec{{Path: "EnvironmentTags"}},
			Order:  10,
			Policy: PolicyExist,
		},
		&Kind{
			Name: ProjectGroup, Title: "project groups", File: "project-groups/{}.json",
			Collection: "projectgroups", IDPrefix: "ProjectGroups", NameField: "Name",
			Refs:     []Ref{{Path: "EnvironmentIds", To: Environment}},
			Sets:     []SetSpec{{Path: "EnvironmentIds"}},
			Volatile: []string{"RetentionPolicyId"},
			Order:    10,
			Policy:   PolicyExist,
		},
		&Kind{
			Name: TagSet, Title: "tag sets", File: "tag-sets/{}.json",
			Collection: "tagsets", IDPrefix: "TagSets", NameField: "Name",
			Sets:     []SetSpec{{Path: "Scopes"}},
			Volatile: []string{"Tags/*/Id"},
			Provides: []Provide{{Kind: TenantTag, Path: "Tags/*", Within: ScopeSpace, Qualify: true}},
			TagNames: "Tags/*/Name",
			Order:    10,
			Lists:    []List{{Path: "Tags", Key: []string{"Name"}, Fold: true, Strategy: StrategyMerge, DestOnly: DestOnlyKeep}},
			Policy:   PolicyExact,
		},
		&Kind{
			Name: Feed, Title: "feeds", File: "feeds/{}.json",
			Collection: "feeds", IDPrefix: "Feeds", NameField: "Name",
			Required:  []string{"FeedType"},
			ExtraIDs:  regexp.MustCompile(`^feeds-builtin(-releases)?$`),
			Sensitive: secrets("Password", "SecretKey", "ServiceAccountJsonKey", "AccessKeySecret"),
			Sets:      []SetSpec{{Path: "PackageAcquisitionLocationOptions"}},
			Order:     10,
			Policy:    PolicyExist,
		},
		&Kind{
			Name: Team, Title: "teams", File: "teams/{}/team.json",
			Collection: "teams", IDPrefix: "Teams", NameField: "Name",
			// System teams (teams-everyone …) belong to the server; a
			// space's own built-in team has the space in its ID.
			ExtraIDs: regexp.MustCompile(`^teams-[a-z]+$`),
			Export:   ExportSpaceOwn,
			// Users are never synced; membership belongs to the destination.
			Volatile: []string{"MemberUserIds", "ExternalSecurityGroups"},
			Order:    10,
			Policy:   PolicyExist,
		},
		&Kind{
			Name: UserRole, Title: "user roles", File: "user-roles/{}.json",
			Collection: "userroles", ServerLevel: true, IDPrefix: "UserRoles", NameField: "Name",
			ExtraIDs: regexp.MustCompile(`^userroles-[a-z]+$`),
			// Custom roles, and the built-in ones exported team
			// permissions grant.
			Export:   ExportUsed,
			Sets:     []SetSpec{{Path: "GrantedSpacePermissions"}, {Path: "GrantedSystemPermissions"}, {Path: "SpacePermissionDescriptions"}, {Path: "SystemPermissionDescriptions"}},
			Volatile: []string{"SpacePermissionDescriptions", "SystemPermissionDescriptions"},
			Order:    10,
			Lists:    []List{{Path: "SupportedRestrictions", Strategy: StrategyReplace}},
			Policy:   PolicyExist,
		},
		&Kind{
			Name: WorkerPool, Title: "worker pools", File: "worker-pools/{}.json",
			Collection: "workerpools", IDPrefix: "WorkerPools", NameField: "Name",
			Volatile: []string{"CanAddWorkers"},
			Order:    10,
			Policy:   PolicyExist,
		},
		// --- tenants, first pass: name and tags only. Accounts and
		// certificates may be restricted to tenants, so tenants come before
		// them (the seed's order puts accounts first, which cannot work for a
		// tenanted account); project links are deferred to a second pass.
		&Kind{
			Name: Tenant, Title: "tenants", File: "tenants/{}/tenant.json",
			Collection: "tenants", IDPrefix: "Tenants", NameField: "Name",
			Refs: []Ref{
				// A link to a project narrows the tenant to those
				// environments; a link left with none is removed.
				{Path: "ProjectEnvironments/*", To: Environment, Restricts: true, Holder: "ProjectEnvironments/*"},
				{Path: "ProjectEnvironments/~", To: Project, Soft: true},
			},
			TagRefs:       []Ref{{Path: "TenantTags", To: TagSet}},
			Sets:          []SetSpec{{Path: "TenantTags"}, {Path: "ProjectEnvironments/*"}},
			Volatile:      []string{"ClonedFromTenantId"},
			Order:         20,
			Deferred:      []string{"ProjectEnvironments"},
			DeferredOrder: 100,
			DestOnlyKeys:  []string{"ProjectEnvironments"},
			Policy:        PolicySync,
		},
		&Kind{
			Name: Account, Title: "accounts", File: "accounts/{}.json",
			Collection: "accounts", IDPrefix: "Accounts", NameField: "Name",
			Required: []string{"AccountType"},
			Refs:     restrictedToRefs(),
			TagRefs:  []Ref{{Path: "TenantTags", To: TagSet, Restricts: true}},
			Sets:     []SetSpec{{Path: "EnvironmentIds"}, {Path: "TenantIds"}, {Path: "TenantTags"}},
			Sensitive: secrets(
				"Password", "Token", "SecretKey", "PrivateKeyFile", "PrivateKeyPassphrase",
				"CertificateBytes", "JsonKey",
			),
			Order:  30,
			Policy: PolicyExist,
		},
		&Kind{
			Name: MachinePolicy, Title: "machine policies", File: "machine-policies/{}.json",
			Collection: "machinepolicies", IDPrefix: "MachinePolicies", NameField: "Name",
			Refs:   []Ref{{Path: "MachineUpdatePolicy/TentacleUpdateAccountId", To: Account}},
			Order:  35,
			Policy: PolicyExist,
		},
		&Kind{
			Name: ActionTemplate, Title: "step templates", File: "step-templates/{}.json",
			Collection: "actiontemplates", IDPrefix: "ActionTemplates", NameField: "Name",
			Refs: []Ref{
				{Path: "Packages/*/FeedId", To: Feed, OnDrop: OnDropError, Accepts: AcceptSlugOrExpression},
				{Path: "Properties/Octopus.Action.Package.FeedId", To: Feed, OnDrop: OnDropError, Accepts: AcceptAny},
				{Path: "Properties/*", To: AnyKind, OnDrop: OnDropError},
			},
			Volatile:  []string{"CommunityActionTemplateId", "Version", "Parameters/*/Id", "Packages/*/Id"},
			Sensitive: mixedSecrets("Properties/*", "Parameters/*/DefaultValue"),
			Texts:     []TextField{{Path: "Properties/Octopus.Action.Script.ScriptBody", File: "script", Syntax: "Properties/Octopus.Action.Script.Syntax"}},
			Order:     40,
			Lists:     []List{{Path: "Parameters", Key: []string{"Name"}, Fold: true, Strategy: StrategyMerge, DestOnly: DestOnlyKeep}, {Path: "Packages", Key: []string{"Name"}, Fold: true, Strategy: StrategyMerge, DestOnly: DestOnlyKeep}},
			Policy:    PolicyExact,
		},
		&Kind{
			Name: ScriptModule, Title: "script modules", File: "script-modules/{}/script-module.json",
			Collection: "libraryvariablesets", Filter: map[string]string{"contentType": "ScriptModule"},
			IDPrefix: "LibraryVariableSets", NameField: "Name", IndexAs: LibraryVariableSet,
			Volatile: []string{"VariableSetId", "Templates/*/Id"},
			Order:    40,
			Lists:    templateLists(),
			Policy:   PolicyExact,
		},
		variableSet(&Kind{
			Name: ScriptModuleVariables, Title: "script module bodies", File: "script-modules/{}/variables.json",
			Parent: ScriptModule, Read: "variables/{VariableSetId}", ReadAll: variablesList, ReadAllBy: "VariableSetId", ReadAllIDs: true,
			Order:  41,
			Policy: PolicyExact,
		}),
		&Kind{
			Name: Lifecycle, Title: "lifecycles", File: "lifecycles/{}.json",
			Collection: "lifecycles", IDPrefix: "Lifecycles", NameField: "Name",
			Refs: []Ref{
				// A phase's targets, automatic and optional together, say
				// where it deploys; a phase left with none is removed, and
				// an environment merged into one that is already in a
				// phase stays where that one was.
				{Path: "Phases/*/AutomaticDeploymentTargets", To: Environment, Restricts: true, Holder: "Phases/*", Group: "targets", Distinct: "Phases"},
				{Path: "Phases/*/OptionalDeploymentTargets", To: Environment, Restricts: true, Holder: "Phases/*", Group: "targets", Distinct: "Phases"},
			},
			// A lifecycle with no phases allows every environment.
			Containers: []Container{{Items: "Phases"}},
			Sets:       []SetSpec{{Path: "Phases/*/AutomaticDeploymentTargets"}, {Path: "Phases/*/OptionalDeploymentTargets"}},
			Volatile:   []string{"Phases/*/Id"},
			Order:      50,
			Lists:      []List{{Path: "Phases", Key: []string{"Name"}, Fold: true, Strategy: StrategyMerge, DestOnly: DestOnlyKeep, Renames: true}},
			Policy:     PolicyExist,
		},
		&Kind{
			Name: Worker, Title: "workers", File: "workers/{}.json",
			Collection: "workers", IDPrefix: "Workers", NameField: "Name",
			Required: []string{"WorkerPoolIds"},
			Refs: []Ref{
				{Path: "WorkerPoolIds", To: WorkerPool},
				{Path: "MachinePolicyId", To: MachinePolicy},
				{Path: "Endpoint/AccountId", To: Account},
				{Path: "Endpoint/Authentication/AccountId", To: Account},
			},
			Sets:     []SetSpec{{Path: "WorkerPoolIds"}},
			Volatile: []string{"HealthStatus", "HasLatestCalamari", "StatusSummary", "IsInProcess", "Status", "OperatingSystem", "ShellName", "ShellVersion", "Architecture"},
			Order:    60,
			Policy:   PolicyExist,
			Optional: true,
		},
		&Kind{
			Name: DeploymentTarget, Title: "deployment targets", File: "deployment-targets/{}.json",
			Collection: "machines", IDPrefix: "Machines", NameField: "Name",
			Required: []string{"EnvironmentIds"},
			Refs: []Ref{
				{Path: "EnvironmentIds", To: Environment, Restricts: true},
				{Path: "TenantIds", To: Tenant, Restricts: true},
				{Path: "MachinePolicyId", To: MachinePolicy, OnDrop: OnDropError},
				{Path: "Endpoint/AccountId", To: Account},
				{Path: "Endpoint/DefaultWorkerPoolId", To: WorkerPool, Accepts: AcceptAnySpace},
				{Path: "Endpoint/Authentication/AccountId", To: Account},
				{Path: "Endpoint/Container/FeedId", To: Feed},
			},
			Sets: []SetSpec{{Path: "EnvironmentIds"}, {Path: "TenantIds"}, {Path: "TenantTags"}, {Path: "Roles"}},
			// SensitiveValues of an offline drop and a Service Fabric
			// endpoint (OctopusClients' OfflineDropEndpointResource,
			// ServiceFabricEndpointResource; go-octopusdeploy's
			// machines.EndpointResource).
			Sensitive: secrets("Endpoint/SensitiveVariablesEncryptionPassword", "Endpoint/AadUserCredentialPassword"),
			Provides:  []Provide{{Kind: MachineRole, Path: "Roles/*", Within: ScopeSpace}},
			Volatile:  []string{"HealthStatus", "HasLatestCalamari", "StatusSummary", "IsInProcess", "Status", "OperatingSystem", "ShellName", "ShellVersion", "Architecture"},
			Order:     60,
			Policy:    PolicyExist,
			Optional:  true,
		},
		&Kind{
			Name: Certificate, Title: "certificates", File: "certificates/{}.json",
			Collection: "certificates", IDPrefix: "Certificates", NameField: "Name",
			Refs:    restrictedToRefs(),
			TagRefs: []Ref{{Path: "TenantTags", To: TagSet, Restricts: true}},
			Sets:    []SetSpec{{Path: "EnvironmentIds"}, {Path: "TenantIds"}, {Path: "TenantTags"}},
			// A new certificate gets a generated placeholder certificate,
			// which has no password.
			Sensitive: []Secret{{Path: "CertificateData", Role: SecretCertificate}, {Path: "Password", Role: SecretCertificatePassword}},
			Volatile:  []string{"ReplacedBy", "CertificateDataFormat"},
			Order:     70,
			// The server derives them from the certificate: one value.
			Lists:  []List{{Path: "SubjectAlternativeNames", Strategy: StrategyReplace}},
			Policy: PolicyExist,
		},
		&Kind{
			Name: LibraryVariableSet, Title: "library variable sets", File: "library-variable-sets/{}/library-variable-set.json",
			Collection: "libraryvariablesets", Filter: map[string]string{"contentType": "Variables"},
			IDPrefix: "LibraryVariableSets", NameField: "Name",
			Volatile:  []string{"VariableSetId", "Templates/*/Id"},
			Sensitive: mixedSecrets("Templates/*/DefaultValue"),
			Provides:  []Provide{{Kind: LibraryTemplate, Path: "Templates/*", Within: ScopeSelf}},
			Order:     80,
			Lists:     templateLists(),
			Policy:    PolicySync,
		},
		variableSet(&Kind{
			Name: LibraryVariables, Title: "library variables", File: "library-variable-sets/{}/variables.json",
			Parent: LibraryVariableSet, Read: "variables/{VariableSetId}", KeepDestination: []string{"Variables/*/Value"},
			ReadAll: variablesList, ReadAllBy: "VariableSetId", ReadAllIDs: true,
			Order:  81,
			Policy: PolicySync,
		}),
		// --- projects and their content ------------------------------------
		&Kind{
			Name: Project, Title: "projects", File: "projects/{}/project.json",
			Collection: "projects", IDPrefix: "Projects", NameField: "Name",
			Required: []string{"LifecycleId", "ProjectGroupId"},
			Refs: []Ref{
				// A project cannot exist without its lifecycle and group.
				{Path: "LifecycleId", To: Lifecycle, OnDrop: OnDropError},
				{Path: "ProjectGroupId", To: ProjectGroup, OnDrop: OnDropError},
				{Path: "IncludedLibraryVariableSetIds", To: LibraryVariableSet},
				{Path: "ReleaseCreationStrategy/ChannelId", To: Channel, Within: ScopeSelf},
				{Path: "ReleaseCreationStrategy/ReleaseCreationPackageStepId", To: Action, Within: ScopeSelf},
			},
			Sets: []SetSpec{{Path: "IncludedLibraryVariableSetIds"}, {Path: "ProjectTags"}},
			Volatile: []string{
				"DeploymentProcessId", "VariableSetId", "ClonedFromProjectId", "Templates/*/Id",
				"AutoDeployReleaseOverrides", "ProvisioningRunbookId", "DeprovisioningRunbookId",
				// The project's deployment settings, which the server also
				// mirrors on the project document: they live in
				// deployment-settings.json (DeploymentSettings).
				"VersioningStrategy", "ReleaseNotesTemplate", "DeploymentChangesTemplate",
				"DefaultGuidedFailureMode", "DefaultToSkipIfAlreadyInstalled", "ProjectConnectivityPolicy",
			},
			Provides: []Provide{
				{Kind: ProjectTemplate, Path: "Templates/*", Within: ScopeSelf},
				{Kind: ProcessOwner, Within: ScopeSelf},
			},
			// A template's default is a property value: sensitive ones are
			// SensitiveValues (OctopusClients' ProjectResource.Templates,
			// ActionTemplateParameterResource.DefaultValue), as a library
			// variable set's.
			Sensitive:     mixedSecrets("Templates/*/DefaultValue"),
			Order:         90,
			Deferred:      []string{"ReleaseCreationStrategy"},
			DeferredOrder: 97,
			Lists:         templateLists(),
			Policy:        PolicySync,
		},
		&Kind{
			Name: Channel, Title: "channels", File: "projects/{}/channels/{}.json",
			Tally:      &Tally{As: "Channels"},
			Collection: "channels", IDPrefix: "Channels", NameField: "Name",
			Parent: Project, ParentField: "ProjectId",
			// A channel whose lifecycle is dropped goes with it.
			Refs:           []Ref{{Path: "LifecycleId", To: Lifecycle, OnDrop: OnDropHolder}},
			TagRefs:        []Ref{{Path: "TenantTags", To: TagSet, Restricts: true}},
			Sets:           []SetSpec{{Path: "TenantTags"}},
			Volatile:       []string{"ProjectId", "Rules/*/Id"},
			Order:          91,
			Deferred:       []string{"Rules"},
			DeferredOrder:  96,
			DeleteDestOnly: true,
			// The project needs its default channel and the one its
			// release creation strategy uses.
			Keep: []Keep{
				{Field: "IsDefault", Why: "it is the project's default channel"},
				{OwnerRef: "ReleaseCreationStrategy/ChannelId", Why: "the project's release creation strategy uses it"},
			},
			Lists:  []List{{Path: "Rules", Strategy: StrategyReplace}, {Path: "Rules/*/ActionPackages", Strategy: StrategyReplace}},
			Policy: PolicySync,
			// A new project comes with a Default channel.
			MadeWithParent: true,
		},
		process(&Kind{
			Name: DeploymentProcess, Title: "deployment processes", File: "projects/{}/deployment-process.json",
			Tally:  &Tally{As: "Steps", Items: "Steps"},
			Parent: Project, Read: "deploymentprocesses/{DeploymentProcessId}", IDPrefix: "deploymentprocess",
			// Root link DeploymentProcesses: deploymentprocesses{/id}{?skip,take,ids};
			// ids is a parameter in the 2021.2 and 2026 API descriptions
			// (docs/simulator.md).
			ReadAll: "deploymentprocesses", ReadAllBy: "DeploymentProcessId", ReadAllIDs: true, ReadAllPaged: true,
			Order:  92,
			Policy: PolicySync,
		}, false),
		&Kind{
			Name: Runbook, Title: "runbooks", File: "projects/{}/runbooks/{}/runbook.json",
			Tally:      &Tally{As: "Runbooks"},
			Collection: "runbooks", IDPrefix: "Runbooks", NameField: "Name",
			Parent: Project, ParentField: "ProjectId",
			// The list (with EnvironmentScope "Specified") narrows where the
			// runbook may run; it is only non-empty then.
			Refs:           []Ref{{Path: "Environments", To: Environment, Restricts: true}},
			Sets:           []SetSpec{{Path: "Environments"}, {Path: "RunbookTags"}},
			Volatile:       []string{"ProjectId", "RunbookProcessId", "PublishedRunbookSnapshotId"},
			Provides:       []Provide{{Kind: ProcessOwner, Within: ScopeOwner}},
			Order:          93,
			DeleteDestOnly: true,
			// The server deletes its process and snapshots with it.
			DeletesWith: "its process and snapshots",
			Policy:      PolicySync,
		},
		process(&Kind{
			Name: RunbookProcess, Title: "runbook processes", File: "projects/{}/runbooks/{}/process.json",
			Parent: Runbook, Read: "runbookProcesses/{RunbookProcessId}", IDPrefix: "RunbookProcess",
			// runbookProcesses{?skip,take}: the 2021.2 and 2026 API
			// descriptions give it no ids parameter, although the root
			// link's template reads {?skip,take,ids} (docs/simulator.md),
			// so the space's list is read whole, page by page.
			ReadAll: "runbookProcesses", ReadAllBy: "RunbookProcessId", ReadAllPaged: true,
			Order:  94,
			Policy: PolicySync,
		}, true),
		variableSet(&Kind{
			Name: ProjectVariables, Title: "project variables", File: "projects/{}/variables.json",
			Tally:  &Tally{As: "Variables", Items: "Variables"},
			Parent: Project, Read: "variables/{VariableSetId}", IDPrefix: "variableset", KeepDestination: []string{"Variables/*/Value"},
			ReadAll: variablesList, ReadAllBy: "VariableSetId", ReadAllIDs: true,
			Order:  95,
			Policy: PolicySync,
		}),
		&Kind{
			// GET/PUT projects/{id}/deploymentsettings (Links.DeploymentSettings):
			// versioning strategy, release notes and deployment changes
			// templates, connectivity policy, guided failure and skip
			// defaults. Written after the processes its versioning strategy
			// may name a package step of, and after the project's own writes.
			Name: DeploymentSettings, Title: "deployment settings", File: "projects/{}/deployment-settings.json",
			Parent: Project, Read: "projects/{Id}/deploymentsettings",
			Refs: []Ref{
				{Path: "VersioningStrategy/DonorPackageStepId", To: Action, Within: ScopeOwner},
			},
			Volatile: []string{"ProjectId"},
			// After the project's second pass (97): a project PUT carries
			// the server's mirror of these fields, as read before.
			Order:  98,
			Policy: PolicySync,
		},
		&Kind{
			// Project triggers (projects/{id}/triggers, projecttriggers):
			// deployment target triggers (MachineFilter), scheduled triggers,
			// package feed triggers (FeedFilter, and ArcFeedFilter: the
			// built-in package repository trigger) and their actions (auto
			// deploy, deploy latest or new release, run a runbook).
			Name: ProjectTrigger, Title: "project triggers", File: "projects/{}/triggers/{}.json",
			Collection: "projecttriggers", IDPrefix: "ProjectTriggers", NameField: "Name",
			Parent: Project, ParentField: "ProjectId",
			Refs: []Ref{
				{Path: "Filter/EnvironmentIds", To: Environment},
				{Path: "Filter/ChannelId", To: Channel, Within: ScopeOwner},
				{Path: "Filter/Packages/*/DeploymentActionId", To: Action, Within: ScopeOwner},
				{Path: "Action/ChannelId", To: Channel, Within: ScopeOwner},
				{Path: "Action/SourceEnvironmentIds", To: Environment},
				{Path: "Action/DestinationEnvironmentId", To: Environment},
				{Path: "Action/EnvironmentId", To: Environment},
				{Path: "Action/EnvironmentIds", To: Environment},
				{Path: "Action/RunbookId", To: Runbook, Within: ScopeOwner},
				{Path: "Action/TenantIds", To: Tenant},
			},
			Sets: []SetSpec{
				{Path: "Filter/EnvironmentIds"}, {Path: "Filter/Roles"}, {Path: "Filter/EventGroups"}, {Path: "Filter/EventCategories"},
				{Path: "Filter/DaysOfWeek"},
				{Path: "Action/SourceEnvironmentIds"}, {Path: "Action/EnvironmentIds"}, {Path: "Action/TenantIds"}, {Path: "Action/TenantTags"},
			},
			Volatile: []string{"ProjectId", "Filter/Id", "Filter/Links", "Action/Id", "Action/Links"},
			// A webhook trigger's Secret (go-octopusdeploy's
			// filters.WebhookTriggerFilter: a SensitiveValue).
			Sensitive: secrets("Filter/Secret"),
			// The action must suit the filter.
			Pairs:          []Pair{{Field: "Filter/FilterType", With: "Action/ActionType", Noun: "trigger", Allowed: triggerActions}},
			Order:          99,
			DeleteDestOnly: true,
			Lists:          []List{{Path: "Filter/Packages", Strategy: StrategyReplace}},
			Policy:         PolicySync,
		},
		&Kind{
			// A project's logo (GET projects/{id}/logo, uploaded as a
			// multipart file): the image's bytes as the server answers
			// them. A project without a logo has no file.
			Name: ProjectLogo, Title: "project logos", File: "projects/{}/logo",
			Parent: Project, Read: "projects/{Id}/logo",
			Shape:  ShapeBinary,
			Order:  99,
			Policy: PolicySync,
		},
		// --- tenants, second pass: project links (deferred above), variables
		&Kind{
			Name: TenantVariables, Title: "tenant variables", File: "tenants/{}/variables.json",
			Parent: Tenant, ParentField: "TenantId",
			// Older servers: the legacy document, one request for every
			// tenant (root link TenantVariables: tenantvariables/all
			// {?projectId}). Current servers: the scoped common and
			// project values, two resources per tenant (see
			// schema/tenantvars.go).
			Read: "tenants/{Id}/variables", ReadAll: "tenantvariables/all",
			Shape: ShapeParts,
			Parts: &Parts{
				Toggle: "CommonVariableScopingFeatureToggle", Since: "2025.2",
				Parts: []Part{
					{Field: "CommonVariables", Path: "tenants/{Id}/commonvariables", Items: "Variables"},
					{Field: "ProjectVariables", Path: "tenants/{Id}/projectvariables", Items: "Variables"},
				},
				FromLegacy: TenantVariablesFromLegacy,
				ToLegacy:   TenantVariablesToLegacy,
			},
			Refs: []Ref{
				// A value goes with its template, set or project; a value
				// whose environments are all dropped lost its scope (an
				// empty list would widen it to every environment).
				{Path: "CommonVariables/*/TemplateId", To: LibraryTemplate, Within: ScopeSibling, Sibling: "LibraryVariableSetId", OnDrop: OnDropHolder, Holder: "CommonVariables/*"},
				{Path: "CommonVariables/*/LibraryVariableSetId", To: LibraryVariableSet, Soft: true, OnDrop: OnDropHolder, Holder: "CommonVariables/*"},
				{Path: "CommonVariables/*/Scope/EnvironmentIds", To: Environment, Restricts: true, Holder: "CommonVariables/*"},
				{Path: "ProjectVariables/*/TemplateId", To: ProjectTemplate, Within: ScopeSibling, Sibling: "ProjectId", OnDrop: OnDropHolder, Holder: "ProjectVariables/*"},
				{Path: "ProjectVariables/*/ProjectId", To: Project, Soft: true, OnDrop: OnDropHolder, Holder: "ProjectVariables/*"},
				{Path: "ProjectVariables/*/Scope/EnvironmentIds", To: Environment, Restricts: true, Holder: "ProjectVariables/*"},
			},
			KeepDestination: []string{"ProjectVariables/*/Value", "CommonVariables/*/Value"},
			Values: []ValueSpec{
				{Items: "ProjectVariables", Name: "TemplateId", Value: "Value", ScopeFields: map[string]string{"Project": "ProjectId", "Environment": "Scope/EnvironmentIds"}, Required: []string{"Environment"},
					// Only in the environments the tenant is connected to the project in.
					Linked: &Linked{Path: "ProjectEnvironments", Dimension: "Environment", Legacy: "ProjectVariables"}, Exclusive: "Environment"},
				{Items: "CommonVariables", Name: "TemplateId", Value: "Value", ScopeFields: map[string]string{"LibraryVariableSet": "LibraryVariableSetId", "Environment": "Scope/EnvironmentIds"},
					// Only for the sets a connected project includes.
					Linked:    &Linked{Path: "ProjectEnvironments", Through: &Through{Kind: Project, Field: "IncludedLibraryVariableSetIds"}, Legacy: "LibraryVariables"},
					Exclusive: "Environment"},
			},
			Sets: []SetSpec{
				{Path: "CommonVariables/*/Scope/EnvironmentIds"},
				{Path: "ProjectVariables/*/Scope/EnvironmentIds"},
				{Path: "CommonVariables", Key: []string{"LibraryVariableSetId", "TemplateId", "Scope"}},
				{Path: "ProjectVariables", Key: []string{"ProjectId", "TemplateId", "Scope"}},
			},
			Volatile: []string{
				"TenantId", "TenantName", "MissingVariables",
				"CommonVariables/*/Id", "CommonVariables/*/LibraryVariableSetName", "CommonVariables/*/Template", "CommonVariables/*/Links",
				"ProjectVariables/*/Id", "ProjectVariables/*/ProjectName", "ProjectVariables/*/Template", "ProjectVariables/*/Links",
			},
			Sensitive: mixedSecrets("CommonVariables/*/Value", "ProjectVariables/*/Value"),
			Order:     101,
			// Values only under the projects and library variable sets the
			// bundle's document has values for (see apply/prune.go).
			Lists: []List{
				{Path: "CommonVariables", Key: []string{"LibraryVariableSetId", "TemplateId", "Scope"}, Strategy: StrategyMerge, DestOnly: DestOnlyRemovable, Owner: "LibraryVariableSetId", Supersede: "TemplateId"},
				{Path: "ProjectVariables", Key: []string{"ProjectId", "TemplateId", "Scope"}, Strategy: StrategyMerge, DestOnly: DestOnlyRemovable, Owner: "ProjectId", Supersede: "TemplateId"},
			},
			Policy: PolicySync,
		},
		// --- team permissions last: they refer to projects, tenants …
		&Kind{
			Name: ScopedUserRole, Title: "scoped user roles", File: "teams/{}/scoped-user-roles.json",
			Collection: "scopeduserroles", IDPrefix: "ScopedUserRoles",
			Parent: Team, ParentField: "TeamId", Shape: ShapeItems,
			Required: []string{"UserRoleId"},
			Refs: []Ref{
				// A role whose user role is dropped goes with it; every
				// scope list narrows the role, and a role whose scope is
				// emptied is dropped, never widened (projects and project
				// groups are one dimension).
				{Path: "UserRoleId", To: UserRole, OnDrop: OnDropHolder},
				{Path: "EnvironmentIds", To: Environment, Restricts: true},
				{Path: "ProjectIds", To: Project, Restricts: true, Group: "projects"},
				{Path: "ProjectGroupIds", To: ProjectGroup, Restricts: true, Group: "projects"},
				{Path: "TenantIds", To: Tenant, Restricts: true},
			},
			ItemName: "UserRoleId",
			Sets:     []SetSpec{{Path: "EnvironmentIds"}, {Path: "ProjectIds"}, {Path: "ProjectGroupIds"}, {Path: "TenantIds"}, {Path: "", Key: []string{"UserRoleId"}}},
			Volatile: []string{"TeamId", "SpaceId"},
			Order:    110,
			Lists:    []List{{Key: []string{"UserRoleId"}, Strategy: StrategyMerge, DestOnly: DestOnlyKeep}},
			Policy:   PolicyExist,
		},
		// --- audit data: never synced; listed so the tool and the
		// simulator know them.
		&Kind{Name: Release, Title: "releases", Collection: "releases", IDPrefix: "Releases", Order: 200, Policy: PolicyNever},
		&Kind{Name: Deployment, Title: "deployments", Collection: "deployments", IDPrefix: "Deployments", Order: 200, Policy: PolicyNever},
		&Kind{Name: RunbookSnapshot, Title: "runbook snapshots", Collection: "runbookSnapshots", IDPrefix: "RunbookSnapshots", Order: 200, Policy: PolicyNever},
		&Kind{Name: RunbookRun, Title: "runbook runs", Collection: "runbookRuns", IDPrefix: "RunbookRuns", Order: 200, Policy: PolicyNever},
		// --- results bundles (octobundle release report): what the
		// deployments of one promoted release did on the destination, by
		// project and version; never exported from a space nor applied.
		&Kind{Name: ReleaseResult, Title: "release results", File: "results/{}/{}.json", NameField: "Name", Order: 210, Policy: PolicyNever},
	)
}
