package octosim

import (
	"net/http"
	"strings"
)

// The step picker's lists (the root document's ActionTemplatesCategories
// and ActionTemplatesSearch links):
//
//	GET /api/{space}/actiontemplates/categories  [{Id, Name, DisplayOrder, Links}]
//	GET /api/{space}/actiontemplates/search{?type}
//	  [{Type, Name, Description, Category, Categories, Id, IsBuiltIn, IsInstalled, HasUpdate, …}]
//
// The search lists the server's built-in steps and the space's step
// templates (action templates, each under the category of the built-in
// step it is based on); ?type keeps the entries of one step type.
// Categories are those the listed steps use, in the server's order.

// builtInStep is one of the server's built-in step types.
type builtInStep struct{ Type, Name, Description, Category string }

// stepCategories are the step categories in display order.
var stepCategories = []string{"Script", "Package", "Azure", "AWS", "Google Cloud", "Kubernetes", "Terraform", "Windows", "Other"}

// builtInSteps are the built-in step types the simulator offers (a subset
// of a real server's, one or more per category).
var builtInSteps = []builtInStep{
	{"Octopus.Script", "Run a Script", "Runs a script on a deployment target, worker or the Octopus Server.", "Script"},
	{"Octopus.TentaclePackage", "Deploy a Package", "Deploys a package to a deployment target.", "Package"},
	{"Octopus.TransferPackage", "Transfer a Package", "Copies a package to a deployment target.", "Package"},
	{"Octopus.AzurePowerShell", "Run an Azure Script", "Runs a script with an Azure account's credentials.", "Azure"},
	{"Octopus.AzureResourceGroup", "Deploy an Azure Resource Manager template", "Deploys an ARM template to a resource group.", "Azure"},
	{"Octopus.AzureAppService", "Deploy an Azure App Service", "Deploys a package or container to an Azure App Service.", "Azure"},
	{"Octopus.AwsRunScript", "Run an AWS CLI Script", "Runs a script with an AWS account's credentials.", "AWS"},
	{"Octopus.AwsRunCloudFormation", "Deploy an AWS CloudFormation template", "Creates or updates a CloudFormation stack.", "AWS"},
	{"Octopus.GoogleCloudScripting", "Run gcloud in a Script", "Runs a script with a Google Cloud account's credentials.", "Google Cloud"},
	{"Octopus.KubernetesDeployRawYaml", "Deploy Kubernetes YAML", "Applies Kubernetes YAML to a cluster.", "Kubernetes"},
	{"Octopus.HelmChartUpgrade", "Deploy a Helm Chart", "Upgrades or installs a Helm chart.", "Kubernetes"},
	{"Octopus.KubernetesRunScript", "Run a kubectl script", "Runs a script against a Kubernetes cluster.", "Kubernetes"},
	{"Octopus.TerraformApply", "Apply a Terraform template", "Applies a Terraform template.", "Terraform"},
	{"Octopus.TerraformPlan", "Plan to apply a Terraform template", "Plans a Terraform apply.", "Terraform"},
	{"Octopus.IIS", "Deploy to IIS", "Deploys a package to an IIS web site.", "Windows"},
	{"Octopus.WindowsService", "Deploy a Windows Service", "Deploys a package as a Windows service.", "Windows"},
	{"Octopus.Email", "Send an Email", "Sends an email.", "Other"},
	{"Octopus.Manual", "Manual Intervention Required", "Pauses the deployment until someone approves it.", "Other"},
	{"Octopus.HealthCheck", "Health Check", "Checks the health of deployment targets.", "Other"},
	{"Octopus.DeployRelease", "Deploy a Release", "Deploys a release of another project.", "Other"},
}

func init() {
	registerCollRoute("actiontemplates", "categories", (*Server).serveStepCategories)
	registerCollRoute("actiontemplates", "search", (*Server).serveStepSearch)
}

// stepCategoryOf is the category of a step type ("Other" for types the
// table does not know).
func stepCategoryOf(actionType string) string {
	for _, b := range builtInSteps {
		if strings.EqualFold(b.Type, actionType) {
			return b.Category
		}
	}
	return "Other"
}

// stepCategoryID is a category's ID ("Google Cloud" → "googlecloud").
func stepCategoryID(name string) string { return strings.ToLower(strings.ReplaceAll(name, " ", "")) }

// serveStepCategories answers GET actiontemplates/categories.
func (s *Server) serveStepCategories(r *request, sp *space, segs []string) (int, any, error) {
	if len(segs) != 0 {
		return 0, nil, notFound(r.path)
	}
	if r.method != http.MethodGet {
		return 0, nil, methodNotAllowed(r.method, r.path)
	}
	out := []any{}
	for i, c := range stepCategories {
		out = append(out, map[string]any{"Id": stepCategoryID(c), "Name": c, "DisplayOrder": i, "Links": map[string]any{}})
	}
	return http.StatusOK, out, nil
}

// serveStepSearch answers GET actiontemplates/search{?type}.
func (s *Server) serveStepSearch(r *request, sp *space, segs []string) (int, any, error) {
	if len(segs) != 0 {
		return 0, nil, notFound(r.path)
	}
	if r.method != http.MethodGet {
		return 0, nil, methodNotAllowed(r.method, r.path)
	}
	typ := r.q("type")
	out := []any{}
	for _, b := range builtInSteps {
		if typ != "" && !strings.EqualFold(typ, b.Type) {
			continue
		}
		out = append(out, map[string]any{
			"Type": b.Type, "Name": b.Name, "Description": b.Description, "Category": b.Category,
			"Categories": []string{b.Category}, "Id": nil, "IsBuiltIn": true, "IsInstalled": true, "HasUpdate": false,
			"Author": "Octopus Deploy", "Website": nil, "Keywords": "", "CommunityActionTemplateId": nil, "Links": map[string]any{},
		})
	}
	for _, t := range s.st.collFor(sp, lookupColl("actiontemplates")).all() {
		at := str(t["ActionType"])
		if typ != "" && !strings.EqualFold(typ, at) {
			continue
		}
		cat := stepCategoryOf(at)
		out = append(out, map[string]any{
			"Type": at, "Name": t["Name"], "Description": t["Description"], "Category": cat, "Categories": []string{cat},
			"Id": t["Id"], "IsBuiltIn": false, "IsInstalled": true, "HasUpdate": false, "Author": nil, "Website": nil,
			"Keywords": "", "CommunityActionTemplateId": t["CommunityActionTemplateId"], "Links": map[string]any{},
		})
	}
	return http.StatusOK, out, nil
}
