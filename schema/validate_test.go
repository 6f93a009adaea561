package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

var update = flag.Bool("update", false, "regenerate the per-kind schemas in jsonschemas/")

// Per-kind entity schemas are generated from the registry: the common base
// (entity, named entity, variable set, process, tenant variables), the
// kind's reference fields typed as names (string, array of strings or null),
// its set-like arrays typed as arrays, and its top-level volatile fields
// forbidden. Regenerate with
//
//	go test ./schema -run TestKindSchemas -update
func TestKindSchemas(t *testing.T) {
	want := map[string][]byte{}
	for _, k := range Kinds() {
		if k.File == "" || k.Shape == ShapeBinary {
			continue
		}
		data, err := marshalSchema(kindSchemaDoc(k))
		if err != nil {
			t.Fatal(err)
		}
		want[KindSchema(k)] = data
	}
	for name, data := range want {
		file := filepath.Join("jsonschemas", name)
		if *update {
			if err := os.WriteFile(file, data, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(file)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s is out of date with the kind registry; run: go test ./schema -run TestKindSchemas -update", file)
		}
	}
	// Every embedded schema is either hand-written (listed here) or generated.
	hand := map[string]bool{
		ManifestSchema: true, "base-entity.schema.json": true, "base-named-entity.schema.json": true,
		"base-variable-set.schema.json": true, "base-process.schema.json": true, "base-tenant-variables.schema.json": true,
	}
	entries, _ := os.ReadDir("jsonschemas")
	for _, e := range entries {
		if !hand[e.Name()] && want[e.Name()] == nil && strings.HasSuffix(e.Name(), ".schema.json") && *update {
			t.Logf("note: %s is neither hand-written nor generated", e.Name())
		}
	}
}

func marshalSchema(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// node is a schema being built from slash paths.
type node struct {
	props  map[string]*node
	elem   *node // "*": array items and map values
	keys   bool  // "~": the map's keys are references
	ref    bool  // leaf holds a reference (string, array of strings, null)
	set    bool  // leaf is a set-like array
	strs   bool  // set of strings
	denied bool  // volatile: must not appear
}

func (n *node) child(seg string) *node {
	switch seg {
	case "*":
		if n.elem == nil {
			n.elem = &node{}
		}
		return n.elem
	default:
		if n.props == nil {
			n.props = map[string]*node{}
		}
		c := n.props[seg]
		if c == nil {
			c = &node{}
			n.props[seg] = c
		}
		return c
	}
}

func (n *node) walk(p string) *node {
	cur := n
	if p == "" {
		return cur
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "~" {
			cur.keys = true
			return nil
		}
		cur = cur.child(seg)
	}
	return cur
}

func (n *node) emit() any {
	if n.denied {
		return false
	}
	out := map[string]any{}
	switch {
	case n.set:
		out["type"] = []string{"array", "null"}
		if n.strs {
			out["items"] = map[string]any{"type": "string"}
		}
	case n.ref:
		out["type"] = []string{"string", "array", "null"}
		out["items"] = map[string]any{"type": "string"}
	case n.keys:
		out["type"] = []string{"object", "null"}
	}
	if len(n.props) > 0 {
		props := map[string]any{}
		for k, c := range n.props {
			props[k] = c.emit()
		}
		out["properties"] = props
	}
	if n.elem != nil {
		e := n.elem.emit()
		if n.set {
			out["items"] = e
		} else {
			out["items"] = e
			out["additionalProperties"] = e
		}
	}
	return out
}

func kindSchemaDoc(k *Kind) map[string]any {
	root := &node{}
	for _, r := range k.Refs {
		if r.To == AnyKind {
			continue // free-form: a string or a {"$ref", "name"} object
		}
		if leaf := root.walk(r.Path); leaf != nil {
			leaf.ref = true
		}
	}
	for _, s := range k.Sets {
		if s.Path == "" {
			continue
		}
		if leaf := root.walk(s.Path); leaf != nil {
			leaf.set = true
			leaf.strs = len(s.Key) == 0
		}
	}
	for _, v := range append(append([]string(nil), GlobalVolatile...), k.Volatile...) {
		if !strings.Contains(v, "/") {
			root.child(v).denied = true
		}
	}
	if k.Name == Lifecycle {
		// Phases are a sequence of named phases.
		phases := root.child("Phases")
		phases.child("*").child("Name")
	}
	body, _ := root.emit().(map[string]any)
	if k.Name == Lifecycle {
		body["properties"].(map[string]any)["Phases"].(map[string]any)["type"] = []string{"array", "null"}
		body["properties"].(map[string]any)["Phases"].(map[string]any)["items"].(map[string]any)["required"] = []string{"Name"}
		body["properties"].(map[string]any)["Phases"].(map[string]any)["items"].(map[string]any)["type"] = "object"
		body["properties"].(map[string]any)["Phases"].(map[string]any)["items"].(map[string]any)["properties"].(map[string]any)["Name"] = map[string]any{"type": "string", "minLength": 1}
		delete(body["properties"].(map[string]any)["Phases"].(map[string]any), "additionalProperties")
	}
	base := "base-entity.schema.json"
	switch {
	case k.Name == ProjectVariables || k.Name == LibraryVariables || k.Name == ScriptModuleVariables:
		base = "base-variable-set.schema.json"
	case k.Name == DeploymentProcess || k.Name == RunbookProcess:
		base = "base-process.schema.json"
	case k.Name == TenantVariables:
		base = "base-tenant-variables.schema.json"
	case !k.IsSingleton():
		base = "base-named-entity.schema.json"
	}
	body["allOf"] = []any{map[string]any{"$ref": base}}
	if !k.IsSingleton() && k.NameField != "" && k.Shape != ShapeItems {
		body["required"] = []string{k.NameField}
		props, _ := body["properties"].(map[string]any)
		if props == nil {
			props = map[string]any{}
			body["properties"] = props
		}
		props[k.NameField] = map[string]any{"type": "string", "minLength": 1}
	}
	doc := map[string]any{
		"$schema":     "https://json-schema.org/draft/2020-12/schema",
		"$id":         SchemaBase + KindSchema(k),
		"title":       "octobundle " + k.Name + " (" + k.File + ")",
		"description": "Generated from the kind registry (schema/kinds.go) by `go test ./schema -run TestKindSchemas -update`; do not edit. Reference fields hold names, never IDs; unknown fields are allowed.",
	}
	if k.Shape == ShapeItems {
		body["type"] = "object"
		doc["type"] = "array"
		doc["items"] = body
		return doc
	}
	for key, v := range body {
		doc[key] = v
	}
	return doc
}

// TestSchemasCompile: every embedded schema compiles (Validate compiles
// each on first use), and every kind with a JSON file has one.
func TestSchemasCompile(t *testing.T) {
	names, _ := fs.Glob(Schemas(), "*.json")
	if len(names) == 0 {
		t.Fatal("no embedded schemas")
	}
	for _, n := range names {
		if _, err := compiledSchema(n); err != nil {
			t.Error(err)
		}
	}
	for _, k := range Kinds() {
		if k.File == "" || k.Shape == ShapeBinary {
			continue
		}
		if _, err := compiledSchema(KindSchema(k)); err != nil {
			t.Errorf("kind %s: %v", k.Name, err)
		}
	}
	if _, err := compiledSchema("no-such.schema.json"); err == nil || !strings.Contains(err.Error(), `no embedded schema "no-such.schema.json"`) {
		t.Errorf("unknown schema: got %v", err)
	}
}

func decodeDoc(t *testing.T, s string) any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSchemaFor(t *testing.T) {
	for _, c := range []struct{ path, want string }{
		{"manifest.json", "manifest.schema.json"},
		{"environments/Production.json", "environment.schema.json"},
		{"projects/OctoFX/deployment-process.json", "deployment-process.schema.json"},
		{"projects/OctoFX/runbooks/Restart IIS/process.json", "runbook-process.schema.json"},
		{"teams/Ops/scoped-user-roles.json", "scoped-user-role.schema.json"},
		{"checksums.txt", ""},
		{"nope/x.json", ""},
	} {
		got, ok := SchemaFor(c.path)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("SchemaFor(%q) = %q, %v; want %q", c.path, got, ok, c.want)
		}
	}
}

func TestValidateFile(t *testing.T) {
	cases := []struct {
		name, path, doc string
		wantErr         []string // substrings; nil means valid
	}{
		{"environment", "environments/Production.json", `{"Name":"Production","UseGuidedFailure":false,"Extra":{"a":1}}`, nil},
		{"environment id", "environments/Production.json", `{"Name":"Production","Id":"Environments-1"}`, []string{"environments/Production.json", "/Id"}},
		{"environment no name", "environments/Production.json", `{"Description":"x"}`, []string{"environments/Production.json", "Name"}},
		{"environment name type", "environments/Production.json", `{"Name":3}`, []string{"/Name"}},
		{"lifecycle", "lifecycles/Default.json", `{"Name":"Default","Phases":[{"Name":"Dev","OptionalDeploymentTargets":["Dev"],"AutomaticDeploymentTargets":[]}]}`, nil},
		{"lifecycle phase targets", "lifecycles/Default.json", `{"Name":"Default","Phases":[{"Name":"Dev","OptionalDeploymentTargets":"Dev"}]}`, []string{"/Phases/0/OptionalDeploymentTargets"}},
		{"lifecycle phase name", "lifecycles/Default.json", `{"Name":"Default","Phases":[{"OptionalDeploymentTargets":[]}]}`, []string{"/Phases/0"}},
		{"project", "projects/OctoFX/project.json", `{"Name":"OctoFX","LifecycleId":"Default","IncludedLibraryVariableSetIds":["Common"]}`, nil},
		{"project lifecycle type", "projects/OctoFX/project.json", `{"Name":"OctoFX","LifecycleId":7}`, []string{"/LifecycleId"}},
		{"process", "projects/OctoFX/deployment-process.json", `{"Steps":[{"Name":"Deploy","Actions":[{"Name":"Deploy","ActionType":"Octopus.Script","Environments":["Dev"],"Properties":{"a":"b"}}]}]}`, nil},
		{"process no actions", "projects/OctoFX/deployment-process.json", `{"Steps":[{"Name":"Deploy"}]}`, []string{"projects/OctoFX/deployment-process.json", "/Steps/0"}},
		{"process action id", "projects/OctoFX/deployment-process.json", `{"Steps":[{"Name":"Deploy","Actions":[{"Name":"A","Id":"x"}]}]}`, []string{"/Steps/0/Actions/0/Id"}},
		{"variables", "projects/OctoFX/variables.json", `{"Variables":[{"Name":"A","Value":"1","Type":"String","IsSensitive":false,"Scope":{"Environment":["Dev"]}},{"Name":"S","Value":null,"Type":"Sensitive","IsSensitive":true,"Scope":{}}]}`, nil},
		{"variables sensitive value", "projects/OctoFX/variables.json", `{"Variables":[{"Name":"S","Value":"secret","IsSensitive":true}]}`, []string{"/Variables/0/Value"}},
		{"variables scope", "projects/OctoFX/variables.json", `{"Variables":[{"Name":"A","Scope":{"Environment":"Dev"}}]}`, []string{"/Variables/0/Scope/Environment"}},
		{"variables value number", "library-variable-sets/Common/variables.json", `{"Variables":[{"Name":"A","Value":1}]}`, []string{"library-variable-sets/Common/variables.json", "/Variables/0/Value"}},
		{"tenant variables", "tenants/Acme/variables.json", `{"ProjectVariables":[{"ProjectId":"OctoFX","TemplateId":"Url","Scope":{"EnvironmentIds":["Dev","Test"]},"Value":"x"}],"CommonVariables":[{"LibraryVariableSetId":"Common","TemplateId":"Key","Scope":{"EnvironmentIds":[]},"Value":"v"}]}`, nil},
		{"tenant variables legacy shape", "tenants/Acme/variables.json", `{"ProjectVariables":{"OctoFX":{"Variables":{"Dev":{"Url":"x"}}}}}`, []string{"tenants/Acme/variables.json"}},
		{"tenant variables without template", "tenants/Acme/variables.json", `{"CommonVariables":[{"LibraryVariableSetId":"Common","Value":"v"}]}`, []string{"tenants/Acme/variables.json"}},
		{"scoped user roles", "teams/Ops/scoped-user-roles.json", `[{"UserRoleId":"Project deployer","EnvironmentIds":["Dev"]}]`, nil},
		{"scoped user roles object", "teams/Ops/scoped-user-roles.json", `{"UserRoleId":"x"}`, []string{"teams/Ops/scoped-user-roles.json"}},
		{"manifest", "manifest.json", `{"Format":"octobundle/v1","ToolVersion":"dev","Source":{"Server":"https://octo.example.com","ServerVersion":"2024.1.1","Space":"Default"},"ExportedAt":"2024-01-02T03:04:05Z","Counts":{"Environment":2},"Digest":"sha256:` + strings.Repeat("a", 64) + `"}`, nil},
		{"manifest credentials", "manifest.json", `{"Format":"octobundle/v1","ToolVersion":"dev","Source":{"Server":"https://u:p@octo.example.com","ServerVersion":"2024.1.1","Space":"Default"},"ExportedAt":"2024-01-02T03:04:05Z","Counts":{},"Digest":"sha256:` + strings.Repeat("a", 64) + `"}`, []string{"/Source/Server"}},
		{"manifest format", "manifest.json", `{"Format":"octobundle/v9","ToolVersion":"dev","Source":{"Server":"","ServerVersion":"","Space":""},"ExportedAt":"2024-01-02T03:04:05Z","Counts":{},"Digest":"sha256:` + strings.Repeat("a", 64) + `"}`, []string{"/Format"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := ValidateFile(c.path, decodeDoc(t, c.doc))
			if c.wantErr == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error; want one mentioning %q", c.wantErr)
			}
			for _, w := range c.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestKindSchemaNames(t *testing.T) {
	seen := map[string]string{}
	var names []string
	for _, k := range Kinds() {
		n := KindSchema(k)
		if other, dup := seen[n]; dup {
			t.Errorf("kinds %s and %s share schema name %s", other, k.Name, n)
		}
		seen[n] = k.Name
		names = append(names, n)
	}
	sort.Strings(names)
	if KindSchema(MustLookup(DeploymentProcess)) != "deployment-process.schema.json" {
		t.Errorf("KindSchema(DeploymentProcess) = %s", KindSchema(MustLookup(DeploymentProcess)))
	}
}

// TestValidateConcurrently: goroutines validating against schemas not yet
// compiled compile each once and agree (run with -race).
func TestValidateConcurrently(t *testing.T) {
	names, _ := fs.Glob(Schemas(), "*.json")
	var wg sync.WaitGroup
	errs := make([]error, 4*len(names))
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = Validate(names[i%len(names)], "not an object")
		}()
	}
	wg.Wait()
	for i, err := range errs {
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Schema != names[i%len(names)] {
			t.Errorf("%s: got %v, want a validation error", names[i%len(names)], err)
		}
	}
}
