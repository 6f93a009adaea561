package octosim

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

const seedJSON = `{
  "Comment": "small seed with secrets",
  "ServerVersion": "2024.2.9000",
  "Spaces": [{
    "Id": "Spaces-1", "Name": "Default", "IsDefault": true,
    "Collections": {
      "environments": [{"Id": "Environments-7", "Name": "Production"}],
      "accounts": [{"Id": "Accounts-3", "Name": "Deployer", "AccountType": "UsernamePassword", "Username": "d", "Password": "clear-pw", "EnvironmentIds": ["Environments-7"]}],
      "lifecycles": [{"Id": "Lifecycles-2", "Name": "Prod only", "Phases": [{"Name": "Prod", "AutomaticDeploymentTargets": ["Environments-7"]}]}],
      "projectgroups": [{"Id": "ProjectGroups-4", "Name": "Apps"}],
      "projects": [{"Id": "Projects-5", "Name": "Web", "LifecycleId": "Lifecycles-2", "ProjectGroupId": "ProjectGroups-4",
        "Templates": [{"Id": "6d3c5a2e-0000-4000-8000-000000000001", "Name": "Key", "DisplaySettings": {"Octopus.ControlType": "Sensitive"}}]}],
      "variables": [{"Id": "variableset-Projects-5", "OwnerId": "Projects-5", "Version": 3, "Variables": [
        {"Id": "11111111-0000-4000-8000-000000000000", "Name": "Pw", "Type": "Sensitive", "IsSensitive": true, "Value": "var-secret", "Scope": {"Environment": ["Environments-7"]}}]}],
      "tenants": [{"Id": "Tenants-1", "Name": "Acme", "ProjectEnvironments": {"Projects-5": ["Environments-7"]}}],
      "tenantvariables": [{"TenantId": "Tenants-1", "ProjectVariables": {"Projects-5": {"Variables": {"Environments-7": {"6d3c5a2e-0000-4000-8000-000000000001": "tenant-secret"}}}}}]
    }
  }]
}`

func TestSeedLoading(t *testing.T) {
	seed, err := ParseSeed([]byte(seedJSON))
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, Options{Seed: seed})
	if v := f.get("/api/")["Version"]; v != "2024.2.9000" {
		t.Errorf("version from the seed: %v", v)
	}
	// Secrets given in clear are kept and never shown.
	acc := f.get(sp1("accounts/Accounts-3"))
	if pw := acc["Password"].(map[string]any); pw["HasValue"] != true || pw["NewValue"] != nil {
		t.Errorf("account password answered as %v", pw)
	}
	for _, c := range []struct{ coll, id, path, want string }{
		{"accounts", "Accounts-3", "Password", "clear-pw"},
		{"variables", "variableset-Projects-5", "Variables/Pw/Value", "var-secret"},
		{"tenantvariables", "Tenants-1", "ProjectVariables/0/Value", "tenant-secret"},
	} {
		if v, ok := f.sim.Secret("Spaces-1", c.coll, c.id, c.path); !ok || v != c.want {
			t.Errorf("%s %s %s: %q %v", c.coll, c.id, c.path, v, ok)
		}
	}
	// What the seed lacks is created: defaults, the process, the channel.
	for _, path := range []string{
		"lifecycles?name=Default%20Lifecycle", "projectgroups?name=Default%20Project%20Group",
		"machinepolicies?name=Default%20Machine%20Policy", "workerpools?name=Default%20Worker%20Pool",
		"feeds?ids=feeds-builtin,feeds-builtin-releases", "projects/Projects-5/channels",
	} {
		got := f.get(sp1(path))
		want := 1
		if strings.HasPrefix(path, "feeds") {
			want = 2
		}
		if n := int(got["TotalResults"].(float64)); n != want {
			t.Errorf("%s: %d results, want %d", path, n, want)
		}
	}
	proj := f.get(sp1("projects/Projects-5"))
	if proj["DeploymentProcessId"] != "deploymentprocess-Projects-5" || proj["VariableSetId"] != "variableset-Projects-5" {
		t.Errorf("project parts: %v %v", proj["DeploymentProcessId"], proj["VariableSetId"])
	}
	if v := f.get(sp1("variables/variableset-Projects-5"))["Version"]; v != float64(3) {
		t.Errorf("seeded variable set version %v", v)
	}
	// Counters continue past the seeded IDs.
	env := f.post(sp1("environments"), map[string]any{"Name": "Staging"})
	if env["Id"] != "Environments-8" {
		t.Errorf("next environment %v, want Environments-8", env["Id"])
	}
	// A dump loads back into the same instance.
	d1, _ := json.Marshal(f.sim.Dump())
	again, err := New(Options{Seed: f.sim.Dump()})
	if err != nil {
		t.Fatalf("dump does not load: %v", err)
	}
	d2, _ := json.Marshal(again.Dump())
	if string(d1) != string(d2) {
		t.Error("dump → load → dump changed the instance")
	}
}

func TestSeedErrors(t *testing.T) {
	base := func(colls string) string {
		return `{"Spaces":[{"Id":"Spaces-1","Name":"Default","IsDefault":true,"Collections":{` + colls + `}}]}`
	}
	cases := []struct{ name, seed, want string }{
		{"dangling lifecycle", base(`"projectgroups":[{"Id":"ProjectGroups-1","Name":"G"}],"projects":[{"Id":"Projects-1","Name":"Web","LifecycleId":"Lifecycles-9","ProjectGroupId":"ProjectGroups-1"}]`),
			"projects Projects-1 (Web): LifecycleId refers to Lifecycles-9"},
		{"duplicate name", base(`"environments":[{"Id":"Environments-1","Name":"Prod"},{"Id":"Environments-2","Name":"prod"}]`), "already exists"},
		{"unknown collection", base(`"widgets":[{"Id":"Widgets-1"}]`), `unknown collection "widgets"`},
		{"tenant variables of an unknown tenant", base(`"tenantvariables":[{"TenantId":"Tenants-3"}]`), "Tenants-3"},
		{"missing name", base(`"environments":[{"Id":"Environments-1"}]`), "environments Environments-1: Please provide a name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			seed, err := ParseSeed([]byte(tc.seed))
			if err != nil {
				t.Fatal(err)
			}
			_, err = New(Options{Seed: seed})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	if _, err := ParseSeed([]byte("{")); err == nil {
		t.Error("ParseSeed accepted broken JSON")
	}
	if _, err := LoadSeed(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("LoadSeed of a missing file succeeded")
	}
}

func TestIDOffset(t *testing.T) {
	ids := func(offset int) []string {
		f := newFixture(t, Options{IDOffset: offset})
		var out []string
		out = append(out, str(f.post(sp1("environments"), map[string]any{"Name": "Prod"})["Id"]))
		out = append(out, str(f.get(sp1("lifecycles"))["Items"].([]any)[0].(map[string]any)["Id"]))
		return out
	}
	a, b := ids(0), ids(1000)
	if a[0] != "Environments-1" || a[1] != "Lifecycles-1" {
		t.Errorf("no offset: %v", a)
	}
	if b[0] != "Environments-1001" || b[1] != "Lifecycles-1001" {
		t.Errorf("offset 1000: %v", b)
	}
	f := newFixture(t, Options{IDOffset: 1000})
	if sp := f.get("/api/spaces")["Items"].([]any)[0].(map[string]any); sp["Id"] != "Spaces-1" {
		t.Errorf("the default space is %v", sp["Id"])
	}
}

// TestSampleInstanceRoundTrip loads the source sample instance, dumps it
// and loads the dump: the simulator keeps everything it was given.
func TestSampleInstanceRoundTrip(t *testing.T) {
	seed, err := LoadSeed(filepath.Join("..", "..", "testdata", "instances", "source.json"))
	if err != nil {
		t.Fatalf("loading the sample instance: %v", err)
	}
	s1, err := New(Options{Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := json.Marshal(s1.Dump())
	s2, err := New(Options{Seed: s1.Dump()})
	if err != nil {
		t.Fatal(err)
	}
	d2, _ := json.Marshal(s2.Dump())
	if string(d1) != string(d2) {
		t.Error("source instance changed across dump and load")
	}
}
