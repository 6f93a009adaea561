package octosim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/schema"
)

// sv is a SensitiveValue given in clear, as a client writes a secret.
func sv(s string) map[string]any { return map[string]any{"HasValue": true, "NewValue": s} }

// maskedSet and maskedUnset are a SensitiveValue as a real server answers
// it: OctopusClients' SensitiveValue ("When reading from the API, only
// HasValue will be set, depending on whether a server-side value
// exists"); go-octopusdeploy's test/resources/deployment_target_test.go
// (an offline drop target's SensitiveVariablesEncryptionPassword,
// {"HasValue": false, "NewValue": null}).
const (
	maskedSet   = `{"HasValue":true,"NewValue":null}`
	maskedUnset = `{"HasValue":false,"NewValue":null}`
)

// maskCase is one write-only value: an entity holding it, where, and what
// a real server answers there instead.
type maskCase struct {
	name string
	// write stores the entity with secret in it and returns its
	// collection and ID.
	write func(f *fixture, secret string) (coll, id string)
	// at is the value's path in the entity (lookupPath).
	at string
	// want is the answer at at (JSON); kept says the stored value is the
	// secret itself (Server.Secret).
	want string
	kept bool
	// source is where the real server's answer comes from.
	source string
}

// post creates an entity of coll from body (a name added) and returns
// coll and its ID.
func post(coll string, body map[string]any) func(f *fixture, secret string) (string, string) {
	return func(f *fixture, secret string) (string, string) {
		b := map[string]any{"Name": "Masked " + coll}
		for k, v := range body {
			b[k] = v
		}
		withSecret(b, secret)
		return coll, str(f.post(sp1(coll), b)["Id"])
	}
}

// withSecret replaces the string "SECRET" anywhere in v by secret.
func withSecret(v any, secret string) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = withSecret(x, secret)
		}
	case []any:
		for i, x := range t {
			t[i] = withSecret(x, secret)
		}
	case string:
		if t == "SECRET" {
			return secret
		}
	}
	return v
}

// projectPart writes part ("deploymentprocesses", "variables") of a new
// project with body's fields.
func projectPart(part string, body map[string]any) func(f *fixture, secret string) (string, string) {
	return func(f *fixture, secret string) (string, string) {
		p := newProject(f.t, f, "Masked "+part)
		id := p.DeploymentProcessID
		if part == "variables" {
			id = p.VariableSetID
		}
		doc := f.get(sp1(part + "/" + id))
		for k, v := range body {
			doc[k] = withSecret(v, secret)
		}
		f.put(sp1(part+"/"+id), doc)
		return part, id
	}
}

// maskCases are every write-only value the kind registry and the stored
// collections name, and a SensitiveValue where neither does.
func maskCases() []maskCase {
	const ocAccounts = "OctopusClients Model/Accounts/*AccountResource.cs, go-octopusdeploy pkg/accounts: a SensitiveValue"
	const ocFeeds = "OctopusClients Model/*FeedResource.cs, go-octopusdeploy pkg/feeds: a SensitiveValue"
	const propertyValue = "go-octopusdeploy core.PropertyValue, OctopusClients PropertyValueResource: a sensitive value is a SensitiveValue"
	account := func(typ string, fields map[string]any) func(f *fixture, secret string) (string, string) {
		fields["AccountType"] = typ
		return post("accounts", fields)
	}
	feed := func(typ string, fields map[string]any) func(f *fixture, secret string) (string, string) {
		fields["FeedType"] = typ
		return post("feeds", fields)
	}
	return []maskCase{
		{"account password", account("UsernamePassword", map[string]any{"Username": "u", "Password": sv("SECRET")}), "Password", maskedSet, true, ocAccounts},
		{"account password in clear", account("UsernamePassword", map[string]any{"Username": "u", "Password": "SECRET"}), "Password", maskedSet, true, ocAccounts},
		{"account token", account("Token", map[string]any{"Token": sv("SECRET")}), "Token", maskedSet, true, ocAccounts},
		{"aws account secret key", account("AmazonWebServicesAccount", map[string]any{"AccessKey": "AK", "SecretKey": sv("SECRET")}), "SecretKey", maskedSet, true, ocAccounts},
		{"ssh private key", account("SshKeyPair", map[string]any{"Username": "u", "PrivateKeyFile": sv("SECRET")}), "PrivateKeyFile", maskedSet, true, ocAccounts},
		{"ssh passphrase", account("SshKeyPair", map[string]any{"Username": "u", "PrivateKeyFile": sv("k"), "PrivateKeyPassphrase": sv("SECRET")}), "PrivateKeyPassphrase", maskedSet, true, ocAccounts},
		{"azure subscription certificate", account("AzureSubscription", map[string]any{"SubscriptionNumber": "s", "CertificateBytes": sv("SECRET")}), "CertificateBytes", maskedSet, true, ocAccounts},
		{"azure service principal password", account("AzureServicePrincipal", map[string]any{"SubscriptionNumber": "s", "ClientId": "c", "TenantId": "t", "Password": sv("SECRET")}), "Password", maskedSet, true, ocAccounts},
		{"google cloud json key", account("GoogleCloudAccount", map[string]any{"JsonKey": sv("SECRET")}), "JsonKey", maskedSet, true, ocAccounts},
		{"account without a password", account("UsernamePassword", map[string]any{"Username": "u", "Password": nil}), "Password", maskedUnset, false, ocAccounts},
		{"nuget feed password", feed("NuGet", map[string]any{"FeedUri": "https://nuget.example.com/", "Username": "u", "Password": sv("SECRET")}), "Password", maskedSet, true, ocFeeds},
		{"docker feed password", feed("Docker", map[string]any{"FeedUri": "https://index.docker.io", "Username": "u", "Password": sv("SECRET")}), "Password", maskedSet, true, ocFeeds},
		{"ecr feed secret key", feed("AwsElasticContainerRegistry", map[string]any{"AccessKey": "AK", "SecretKey": sv("SECRET"), "Region": "eu-west-1"}), "SecretKey", maskedSet, true, ocFeeds},
		{"s3 feed secret key", feed("S3", map[string]any{"AccessKey": "AK", "SecretKey": sv("SECRET"), "UseMachineCredentials": false, "Region": "eu-west-1"}), "SecretKey", maskedSet, true, ocFeeds},
		{"gcs feed json key", feed("GcsStorage", map[string]any{"ServiceAccountJsonKey": sv("SECRET"), "UseServiceAccountKey": true, "Project": "p"}), "ServiceAccountJsonKey", maskedSet, true, ocFeeds},
		{"certificate data", post("certificates", map[string]any{"CertificateData": sv("SECRET"), "Password": map[string]any{"HasValue": false}}), "CertificateData", maskedSet, true, "OctopusClients CertificateResource.CertificateData, go-octopusdeploy certificates.CertificateResource: a SensitiveValue"},
		{"certificate password", post("certificates", map[string]any{"CertificateData": sv("MIIB"), "Password": sv("SECRET")}), "Password", maskedSet, true, "OctopusClients CertificateResource.Password: a SensitiveValue"},
		{"git credential password", post("git-credentials", map[string]any{"Details": map[string]any{"Type": "UsernamePassword", "Username": "bot", "Password": sv("SECRET")}}), "Details/Password", maskedSet, true, "OctopusClients GitCredentialDetails.Password, go-octopusdeploy credentials.UsernamePassword: a SensitiveValue"},
		{"proxy password", post("proxies", map[string]any{"Host": "proxy.example.com", "Username": "u", "Password": sv("SECRET")}), "Password", maskedSet, true, "OctopusClients ProxyResource.Password, go-octopusdeploy proxies.Proxy: a SensitiveValue"},
		{"sensitive variable", projectPart("variables", map[string]any{"Variables": []any{
			map[string]any{"Name": "DbPassword", "Value": "SECRET", "IsSensitive": true, "Type": "Sensitive"}}}),
			"Variables/DbPassword/Value", "null", true, "OctopusDeploy/docs pull request 1090: sensitive variable values are returned as null"},
		{"variable marked sensitive by its type", projectPart("variables", map[string]any{"Variables": []any{
			map[string]any{"Name": "DbPassword", "Value": "SECRET", "Type": "Sensitive"}}}),
			"Variables/DbPassword/Value", "null", true, "OctopusDeploy/docs pull request 1090"},
		{"plain variable", projectPart("variables", map[string]any{"Variables": []any{
			map[string]any{"Name": "ConnStr", "Value": "SECRET", "IsSensitive": false, "Type": "String"}}}),
			"Variables/ConnStr/Value", `"SECRET"`, false, "a variable that is not sensitive is answered as it is"},
		{"sensitive step property", projectPart("deploymentprocesses", map[string]any{"Steps": []any{map[string]any{
			"Name": "Run", "Actions": []any{map[string]any{"Name": "Run", "ActionType": "Octopus.Script",
				"Properties": map[string]any{"Octopus.Action.Script.ScriptBody": "echo", "Token": sv("SECRET")}}}}}}),
			"Steps/0/Actions/0/Properties/Token", maskedSet, true, propertyValue},
		{"plain step property", projectPart("deploymentprocesses", map[string]any{"Steps": []any{map[string]any{
			"Name": "Run", "Actions": []any{map[string]any{"Name": "Run", "ActionType": "Octopus.Script",
				"Properties": map[string]any{"Octopus.Action.Script.ScriptBody": "SECRET"}}}}}}),
			"Steps/0/Actions/0/Properties/Octopus.Action.Script.ScriptBody", `"SECRET"`, false, propertyValue},
		{"step template property", post("actiontemplates", map[string]any{"ActionType": "Octopus.Script",
			"Properties": map[string]any{"Octopus.Action.Script.ScriptBody": "echo", "Token": sv("SECRET")}}),
			"Properties/Token", maskedSet, true, propertyValue},
		{"step template parameter default", post("actiontemplates", map[string]any{"ActionType": "Octopus.Script",
			"Properties": map[string]any{"Octopus.Action.Script.ScriptBody": "echo"},
			"Parameters": []any{map[string]any{"Name": "Key", "DefaultValue": sv("SECRET"), "DisplaySettings": map[string]any{"Octopus.ControlType": "Sensitive"}}}}),
			"Parameters/0/DefaultValue", maskedSet, true, "OctopusClients ActionTemplateParameterResource.DefaultValue: a PropertyValueResource"},
		{"library template default", post("libraryvariablesets", map[string]any{"ContentType": "Variables",
			"Templates": []any{map[string]any{"Name": "Key", "DefaultValue": sv("SECRET"), "DisplaySettings": map[string]any{"Octopus.ControlType": "Sensitive"}}}}),
			"Templates/0/DefaultValue", maskedSet, true, "OctopusClients ActionTemplateParameterResource.DefaultValue: a PropertyValueResource"},
		{"project template default", func(f *fixture, secret string) (string, string) {
			p := newProject(f.t, f, "Masked project")
			doc := f.get(sp1("projects/" + p.ID))
			doc["Templates"] = []any{map[string]any{"Name": "Key", "DefaultValue": sv(secret), "DisplaySettings": map[string]any{"Octopus.ControlType": "Sensitive"}}}
			f.put(sp1("projects/"+p.ID), doc)
			return "projects", p.ID
		}, "Templates/0/DefaultValue", maskedSet, true,
			"OctopusClients ProjectResource.Templates: ActionTemplateParameterResources"},
		{"offline drop encryption password", func(f *fixture, secret string) (string, string) {
			env := str(f.post(sp1("environments"), map[string]any{"Name": "Masked"})["Id"])
			return post("machines", map[string]any{"EnvironmentIds": []any{env}, "Roles": []any{"web"},
				"Endpoint": map[string]any{"CommunicationStyle": "OfflineDrop", "SensitiveVariablesEncryptionPassword": sv("SECRET"),
					"Destination": map[string]any{"DestinationType": "Artifact"}}})(f, secret)
		}, "Endpoint/SensitiveVariablesEncryptionPassword", maskedSet, true,
			"OctopusClients OfflineDropEndpointResource; go-octopusdeploy test/resources/deployment_target_test.go"},
	}
}

// TestMaskedFields: every write-only value, stored, is answered as a real
// server answers it — by GET of the entity, in its collection's list
// (paged and /all where the collection has it) — and its secret appears
// in no answer.
func TestMaskedFields(t *testing.T) {
	for _, c := range maskCases() {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, Options{})
			const secret = "s3cret-do-not-answer"
			coll, id := c.write(f, secret)
			if got, ok := f.sim.Secret("Spaces-1", coll, id, c.at); c.kept && (!ok || got != secret) {
				t.Fatalf("stored %q %v, want the secret (the case stores nothing to mask)", got, ok)
			}
			answers := map[string]any{}
			answers["GET"] = f.rawDoc(t, sp1(coll+"/"+id), secret)
			list := coll + "?ids=" + id
			if coll == "variables" {
				list = "variables/all?ids=" + id
			}
			switch page := f.rawAny(t, sp1(list), secret).(type) {
			case map[string]any:
				answers["list"] = itemWithID(t, page["Items"], id)
			case []any:
				answers["list"] = itemWithID(t, page, id)
			}
			if r := f.raw(http.MethodGet, sp1(coll+"/all"), testKey, nil); r.status == http.StatusOK && coll != "variables" {
				answers["all"] = itemWithID(t, f.rawAny(t, sp1(coll+"/all"), secret), id)
			}
			for how, doc := range answers {
				v, found := lookupPath(doc, c.at)
				if !found {
					t.Errorf("%s: no %s in %v", how, c.at, doc)
					continue
				}
				if got := compactJSON(t, v); got != strings.ReplaceAll(c.want, "SECRET", secret) {
					t.Errorf("%s: %s answered %s, want %s (%s)", how, c.at, got, c.want, c.source)
				}
			}
		})
	}
}

// TestMaskedInSnapshots: a release's and a runbook snapshot's frozen
// variable set and process, and a cloned tenant's variables, answer
// their secrets masked as the live documents do.
func TestMaskedInSnapshots(t *testing.T) {
	rf := newReleaseFixture(t, Options{})
	const secret = "s3cret-do-not-answer"
	p := rf.get(sp1("projects/" + rf.project))
	vs := rf.get(sp1("variables/" + str(p["VariableSetId"])))
	vs["Variables"] = []any{map[string]any{"Name": "DbPassword", "Value": secret, "IsSensitive": true, "Type": "Sensitive"}}
	rf.put(sp1("variables/"+str(p["VariableSetId"])), vs)
	proc := rf.get(sp1("deploymentprocesses/" + str(p["DeploymentProcessId"])))
	props := asMap(asMap(asSlice(asMap(asSlice(proc["Steps"])[0])["Actions"])[0])["Properties"])
	props["Token"] = sv(secret)
	rf.put(sp1("deploymentprocesses/"+str(p["DeploymentProcessId"])), proc)
	rel := rf.post(sp1("releases"), map[string]any{"ProjectId": rf.project, "Version": "1.0.0",
		"SelectedPackages": []any{map[string]any{"ActionName": "Deploy web", "PackageReferenceName": "", "Version": "1.0.0"}}})
	frozenVars := rf.rawDoc(t, sp1("variables/"+str(rel["ProjectVariableSetSnapshotId"])), secret)
	if v, _ := lookupPath(frozenVars, "Variables/DbPassword/Value"); v != nil {
		t.Errorf("release's variable snapshot answered %v, want null", v)
	}
	frozenProc := rf.rawDoc(t, sp1("deploymentprocesses/"+str(rel["ProjectDeploymentProcessSnapshotId"])), secret)
	if v, _ := lookupPath(frozenProc, "Steps/0/Actions/0/Properties/Token"); compactJSON(t, v) != maskedSet {
		t.Errorf("release's process snapshot answered %v, want %s", v, maskedSet)
	}
	rf.rawDoc(t, sp1("releases/"+str(rel["Id"])), secret)
	snap := rf.post(sp1("runbookSnapshots"), map[string]any{"Name": "Snapshot 1", "RunbookId": rf.runbook})
	rf.rawDoc(t, sp1("variables/"+str(snap["FrozenProjectVariableSetId"])), secret)
}

// rawDoc GETs path, fails the test if the answer holds secret, and
// returns it as an object.
func (f *fixture) rawDoc(t *testing.T, path, secret string) map[string]any {
	t.Helper()
	m, ok := f.rawAny(t, path, secret).(map[string]any)
	if !ok {
		t.Fatalf("GET %s: not an object", path)
	}
	return m
}

// rawAny GETs path, fails the test if the answer holds secret, and
// returns it decoded.
func (f *fixture) rawAny(t *testing.T, path, secret string) any {
	t.Helper()
	r := f.raw(http.MethodGet, path, testKey, nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, r.status, r.body)
	}
	if bytes.Contains(r.body, []byte(secret)) && !strings.Contains(t.Name(), "plain") {
		t.Errorf("GET %s answered the secret: %s", path, r.body)
	}
	var v any
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return v
}

// itemWithID is the item of a list answer with the ID.
func itemWithID(t *testing.T, items any, id string) map[string]any {
	t.Helper()
	for _, it := range asSlice(items) {
		if m, ok := it.(map[string]any); ok && m["Id"] == id {
			return m
		}
	}
	t.Fatalf("no %s in the list %v", id, items)
	return nil
}

// compactJSON is v encoded.
func compactJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestMaskedInClear: a secret stored in clear at a registry position (as
// a document put in the store without a write's normalization) is
// answered as a SensitiveValue, never as the string: the position, not
// the stored shape, makes it a secret.
func TestMaskedInClear(t *testing.T) {
	f := newFixture(t, Options{})
	const secret = "s3cret-do-not-answer"
	_, id := post("accounts", map[string]any{"AccountType": "UsernamePassword", "Username": "u", "Password": sv("x")})(f, "")
	f.sim.mu.Lock()
	sp := f.sim.st.lookupSpace("Spaces-1")
	sp.coll("accounts").get(id)["Password"] = secret
	f.sim.mu.Unlock()
	for _, path := range []string{"accounts/" + id, "accounts?ids=" + id, "accounts/all"} {
		doc, ok := f.rawAny(t, sp1(path), secret).(map[string]any)
		if !ok || doc["Items"] != nil {
			doc = itemWithID(t, firstOf(doc, f.rawAny(t, sp1(path), secret)), id)
		}
		if got := compactJSON(t, doc["Password"]); got != maskedSet {
			t.Errorf("%s: Password answered %s, want %s", path, got, maskedSet)
		}
	}
}

// firstOf is a page's Items, or a bare array answer.
func firstOf(page map[string]any, answer any) any {
	if page != nil {
		return page["Items"]
	}
	return answer
}

// TestCompileMask: a mask finds each rule at its position, "*" at every
// key or element, beside named keys too; a conditional rule only where
// its condition holds on the holder.
func TestCompileMask(t *testing.T) {
	m := compileMask([]schema.Secret{
		{Path: "Password"},
		{Path: "Props/*", Mixed: true},
		{Path: "Props/Named/Inner"},
		{Path: "Vars/*/Value", When: &schema.Cond{Field: "IsSensitive", Values: []string{"true"}}},
		{Path: "Password"}, // a second kind's duplicate
	})
	sens := map[string]any{"IsSensitive": true}
	plain := map[string]any{"IsSensitive": false}
	cases := []struct {
		path   []string
		value  any
		holder map[string]any
		want   secretForm
	}{
		{[]string{"Password"}, "s", nil, formSensitiveValue},
		{[]string{"Other"}, "s", nil, 0},
		{[]string{"Props", "Any"}, sv("s"), nil, formSensitiveValue},
		{[]string{"Props", "Any"}, "plain", nil, 0},
		{[]string{"Props", "Named"}, sv("s"), nil, formSensitiveValue},
		{[]string{"Props", "Named", "Inner"}, "s", nil, formSensitiveValue},
		{[]string{"Vars", "", "Value"}, "s", sens, formNull},
		{[]string{"Vars", "", "Value"}, "s", plain, 0},
	}
	for _, c := range cases {
		n := m
		for _, k := range c.path {
			n = n.child(k)
		}
		got := secretForm(0)
		if n != nil {
			got = n.formOf(c.value, c.holder)
		}
		if got != c.want {
			t.Errorf("%v (%v): form %d, want %d", c.path, c.value, got, c.want)
		}
	}
	if n := m.child("Password"); len(n.rules) != 1 {
		t.Errorf("Password has %d rules, want 1 (duplicates count once)", len(n.rules))
	}
}

// TestMaskedTenantClone: a cloned tenant's sensitive values, copied from
// its source, are answered masked by both tenant variable views (built,
// not stored: renderTenantValue), and the clone answer holds no secret.
func TestMaskedTenantClone(t *testing.T) {
	f := newFixture(t, Options{ServerVersion: "2025.4.1200"})
	tf := newTenantFixture(t, f)
	const secret = "s3cret-do-not-answer"
	f.put(sp1("tenants/"+tf.tenant.ID+"/projectvariables"), map[string]any{"Variables": []any{map[string]any{
		"ProjectId": tf.project.ID, "TemplateId": tf.apiKey, "Value": sv(secret),
		"Scope": map[string]any{"EnvironmentIds": []any{tf.prod}}}}})
	clone := f.post(sp1("tenants?clone="+tf.tenant.ID), map[string]any{"Name": "Acme Copy"})
	id := str(clone["Id"])
	if s, ok := f.sim.TenantSecret("Spaces-1", id, tf.project.ID, tf.apiKey, tf.prod); !ok || s != secret {
		t.Fatalf("clone's secret stored as %q %v", s, ok)
	}
	f.rawDoc(t, sp1("tenants/"+id), secret)
	pv := f.rawDoc(t, sp1("tenants/"+id+"/projectvariables"), secret)
	if v := asMap(asSlice(pv["Variables"])[0])["Value"]; compactJSON(t, v) != maskedSet {
		t.Errorf("clone's sensitive value answered %s, want %s", compactJSON(t, v), maskedSet)
	}
	f.rawDoc(t, sp1("tenants/"+id+"/variables"), secret)
}
