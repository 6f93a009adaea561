package schema

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
)

func decode(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func encode(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// names maps IDs to names the way export does, recording the scope seen.
func names(seen *[]string, doc ...any) RefFunc {
	return func(ref Ref, at []string, v any) (any, error) {
		s, _ := v.(string)
		scope := ""
		if ref.Within == ScopeKey1 {
			scope = at[1]
		}
		if ref.Within == ScopeSibling && len(doc) > 0 {
			scope, _ = SiblingValue(doc[0], ref, at)
		}
		*seen = append(*seen, ref.To+"@"+scope+":"+s)
		if s == "drop-me" {
			return Drop, nil
		}
		return "name(" + s + ")", nil
	}
}

func TestRewrite(t *testing.T) {
	tests := []struct {
		kind, in, want string
		seen           []string
	}{
		{
			kind: Lifecycle,
			in:   `{"Name":"L","Phases":[{"AutomaticDeploymentTargets":["Environments-1","drop-me"],"OptionalDeploymentTargets":[]}]}`,
			want: `{"Name":"L","Phases":[{"AutomaticDeploymentTargets":["name(Environments-1)"],"OptionalDeploymentTargets":[]}]}`,
			seen: []string{"Environment@:Environments-1", "Environment@:drop-me"},
		},
		{
			kind: Project,
			in:   `{"LifecycleId":"Lifecycles-1","ProjectGroupId":"","ReleaseCreationStrategy":{"ChannelId":"Channels-4"}}`,
			want: `{"LifecycleId":"name(Lifecycles-1)","ProjectGroupId":"","ReleaseCreationStrategy":{"ChannelId":"name(Channels-4)"}}`,
			seen: []string{"Channel@:Channels-4", "Lifecycle@:Lifecycles-1"},
		},
		{
			kind: ProjectVariables,
			in:   `{"Variables":[{"Name":"A","Type":"AzureAccount","Value":"Accounts-2","Scope":{"Environment":["Environments-3"]}},{"Name":"B","Type":"String","Value":"Accounts-2"}]}`,
			want: `{"Variables":[{"Name":"A","Scope":{"Environment":["name(Environments-3)"]},"Type":"AzureAccount","Value":"name(Accounts-2)"},{"Name":"B","Type":"String","Value":"Accounts-2"}]}`,
			seen: []string{"Environment@:Environments-3", "Account@:Accounts-2"},
		},
		{
			kind: TenantVariables,
			in:   `{"ProjectVariables":[{"ProjectId":"Projects-1","TemplateId":"g1","Scope":{"EnvironmentIds":["Environments-1","Environments-2"]},"Value":"v"}],"CommonVariables":[{"LibraryVariableSetId":"LibraryVariableSets-2","TemplateId":"g2","Scope":{"EnvironmentIds":[]},"Value":"w"}]}`,
			want: `{"CommonVariables":[{"LibraryVariableSetId":"name(LibraryVariableSets-2)","Scope":{"EnvironmentIds":[]},"TemplateId":"name(g2)","Value":"w"}],"ProjectVariables":[{"ProjectId":"name(Projects-1)","Scope":{"EnvironmentIds":["name(Environments-1)","name(Environments-2)"]},"TemplateId":"name(g1)","Value":"v"}]}`,
			// Sibling-scoped templates are visited while their sibling
			// still holds the ID.
			seen: []string{"Environment@:Environments-1", "Environment@:Environments-2", "LibraryTemplate@LibraryVariableSets-2:g2", "ProjectTemplate@Projects-1:g1", "LibraryVariableSet@:LibraryVariableSets-2", "Project@:Projects-1"},
		},
		{
			kind: DeploymentProcess,
			in:   `{"Steps":[{"Actions":[{"Environments":["Environments-1"],"Properties":{"Octopus.Action.Template.Id":"ActionTemplates-3","Param":"Accounts-9","Script":"echo"}}]}]}`,
			want: `{"Steps":[{"Actions":[{"Environments":["name(Environments-1)"],"Properties":{"Octopus.Action.Template.Id":"name(ActionTemplates-3)","Param":"name(Accounts-9)","Script":"name(echo)"}}]}]}`,
			seen: []string{"ActionTemplate@:ActionTemplates-3", "*@:Accounts-9", "*@:echo", "Environment@:Environments-1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			doc := decode(t, tt.in)
			var seen []string
			if err := MustLookup(tt.kind).Rewrite(doc, names(&seen, doc)); err != nil {
				t.Fatal(err)
			}
			if got := encode(t, doc); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if !reflect.DeepEqual(seen, tt.seen) {
				t.Errorf("visited %q, want %q", seen, tt.seen)
			}
		})
	}
}

func TestStripSortScrub(t *testing.T) {
	k := MustLookup(ProjectVariables)
	doc := decode(t, `{"Id":"variableset-Projects-1","OwnerId":"Projects-1","Version":3,"ScopeValues":{},
		"Variables":[{"Id":"g2","Name":"Z","Value":"z","Scope":{"Environment":["Prod","Dev"]}},
		             {"Id":"g1","Name":"A","IsSensitive":true,"Type":"Sensitive","Value":"leaked"}]}`)
	if err := k.Strip(doc); err != nil {
		t.Fatal(err)
	}
	if err := k.SortSets(doc); err != nil {
		t.Fatal(err)
	}
	changed, err := k.Scrub(doc)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Variables":[{"IsSensitive":true,"Name":"A","Type":"Sensitive","Value":null},{"Name":"Z","Scope":{"Environment":["Dev","Prod"]},"Value":"z"}]}`
	if got := encode(t, doc); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if !reflect.DeepEqual(changed, []string{"/Variables/0/Value"}) {
		t.Errorf("scrubbed %q", changed)
	}

	acct := decode(t, `{"Name":"AWS","SecretKey":{"HasValue":true,"NewValue":"s3cret"},"Password":"plain"}`)
	if _, err := MustLookup(Account).Scrub(acct); err != nil {
		t.Fatal(err)
	}
	if got := encode(t, acct); strings.Contains(got, "s3cret") || strings.Contains(got, "plain") {
		t.Errorf("secret survived: %s", got)
	}
	tv := decode(t, `{"ProjectVariables":[{"ProjectId":"P","TemplateId":"t1","Value":"plain"},{"ProjectId":"P","TemplateId":"t2","Value":{"HasValue":true,"NewValue":"x"}}]}`)
	if _, err := MustLookup(TenantVariables).Scrub(tv); err != nil {
		t.Fatal(err)
	}
	if got, want := encode(t, tv), `{"ProjectVariables":[{"ProjectId":"P","TemplateId":"t1","Value":"plain"},{"ProjectId":"P","TemplateId":"t2","Value":{"HasValue":true,"NewValue":null}}]}`; got != want {
		t.Errorf("tenant variables scrubbed to %s", got)
	}
}

func TestCheckIDFree(t *testing.T) {
	tests := []struct {
		kind, doc, wantErr string
	}{
		{Lifecycle, `{"Name":"L","Phases":[{"AutomaticDeploymentTargets":["Production"]}]}`, ""},
		{Lifecycle, `{"Name":"L","Phases":[{"AutomaticDeploymentTargets":["Environments-1"]}]}`, `/Phases/0/AutomaticDeploymentTargets/0: reference to Environment holds the ID "Environments-1"`},
		{Project, `{"Name":"P","Id":"Projects-1"}`, "/Id holds the server ID"},
		{Feed, `{"Name":"feeds-builtin"}`, ""},
		{DeploymentProcess, `{"Steps":[{"Actions":[{"Packages":[{"FeedId":"feeds-builtin"}]}]}]}`, "reference to Feed holds the ID"},
		{DeploymentProcess, `{"Steps":[{"Actions":[{"Properties":{"P":"Certificates-4"}}]}]}`, "reference to another entity holds the ID"},
		{DeploymentProcess, `{"Steps":[{"Actions":[{"Properties":{"P":{"$ref":"Certificate","name":"C"}}}]}]}`, ""},
		{ProjectVariables, `{"Variables":[{"Name":"x","Scope":{"Action":["5b2a6a62-1b0a-4e0c-9a43-7e6ad1c4b0f1"]}}]}`, "reference to Action holds the ID"},
		{ScopedUserRole, `[{"UserRoleId":"userroles-projectdeployer"}]`, "reference to UserRole holds the ID"},
		{ScopedUserRole, `[{"UserRoleId":"Project deployer","TenantIds":["Acme"]}]`, ""},
	}
	for _, tt := range tests {
		err := MustLookup(tt.kind).CheckIDFree(decode(t, tt.doc))
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s %s: unexpected error %v", tt.kind, tt.doc, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s %s: error %v, want %q", tt.kind, tt.doc, err, tt.wantErr)
		}
	}
}

func TestRegistryConsistent(t *testing.T) {
	for _, k := range Kinds() {
		for _, r := range k.Refs {
			switch r.To {
			case Action, ProcessOwner, ProjectTemplate, LibraryTemplate, AnyKind:
			default:
				if Lookup(r.To) == nil {
					t.Errorf("%s: reference %s to unknown kind %s", k.Name, r.Path, r.To)
				}
			}
			if r.Within == ScopeOwner && k.Parent == "" {
				t.Errorf("%s: owner-scoped reference %s on a kind without an owner", k.Name, r.Path)
			}
		}
		if k.Parent != "" && Lookup(k.Parent) == nil {
			t.Errorf("%s: unknown parent %s", k.Name, k.Parent)
		}
		if k.Policy == PolicyNever {
			continue
		}
		want := k.Depth()
		if !k.IsSingleton() && k.Shape != ShapeItems {
			want++
		}
		if got := strings.Count(k.File, "{}"); got != want {
			t.Errorf("%s: file %q has %d names, want %d", k.Name, k.File, got, want)
		}
		if (len(k.DestOnlyKeys) > 0 || k.DeleteDestOnly) && k.Policy != PolicySync {
			t.Errorf("%s: only synced kinds may be pruned", k.Name)
		}
		if k.DeleteDestOnly && k.Parent == "" {
			t.Errorf("%s: a top-level kind must never be prunable (a bundle may be a partial export)", k.Name)
		}
		if len(k.Deferred) > 0 && k.DeferredOrder <= k.Order {
			t.Errorf("%s: deferred fields must be written after the kind", k.Name)
		}
	}
}

func TestPaths(t *testing.T) {
	k := MustLookup(RunbookProcess)
	p, err := k.Path("OctoFX", "Restart IIS")
	if err != nil || p != "projects/OctoFX/runbooks/Restart IIS/process.json" {
		t.Fatalf("Path = %q, %v", p, err)
	}
	got, names := KindForPath(p)
	if got != k || !reflect.DeepEqual(names, []string{"OctoFX", "Restart IIS"}) {
		t.Fatalf("KindForPath = %v %q", got, names)
	}
	if k, _ := KindForPath("projects/OctoFX/unknown.json"); k != nil {
		t.Fatalf("unknown file claimed by %s", k.Name)
	}
	if _, err := k.Path("only-one"); err == nil {
		t.Fatal("Path accepted too few names")
	}
}

func TestStamp(t *testing.T) {
	doc := decode(t, `{"Steps":[{"Actions":[{"Properties":{"Octopus.Action.Template.Id":"ActionTemplates-3"}},{"Properties":{"Octopus.Action.Script.ScriptBody":"x"}}]}]}`)
	var got []string
	err := MustLookup(DeploymentProcess).Stamp(doc, func(ref Ref, holder map[string]any, v string) {
		got = append(got, v+"→"+ref.Stamp.Field)
		holder[ref.Stamp.Field] = "7"
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, []string{"ActionTemplates-3→Octopus.Action.Template.Version"}) {
		t.Fatalf("stamped %q", got)
	}
	want := `{"Steps":[{"Actions":[{"Properties":{"Octopus.Action.Template.Id":"ActionTemplates-3","Octopus.Action.Template.Version":"7"}},{"Properties":{"Octopus.Action.Script.ScriptBody":"x"}}]}]}`
	if g := encode(t, doc); g != want {
		t.Errorf("got  %s\nwant %s", g, want)
	}
}

func TestRewriteSplitList(t *testing.T) {
	doc := decode(t, `{"Steps":[{"Actions":[{"Properties":{"Octopus.Action.Manual.ResponsibleTeamIds":"Teams-1, Teams-2,drop-me"}}]}]}`)
	var seen []string
	if err := MustLookup(DeploymentProcess).Rewrite(doc, names(&seen)); err != nil {
		t.Fatal(err)
	}
	want := `{"Steps":[{"Actions":[{"Properties":{"Octopus.Action.Manual.ResponsibleTeamIds":"name(Teams-1),name(Teams-2)"}}]}]}`
	if got := encode(t, doc); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if err := MustLookup(DeploymentProcess).CheckIDFree(decode(t, `{"Steps":[{"Actions":[{"Properties":{"Octopus.Action.Manual.ResponsibleTeamIds":"Ops,Teams-2"}}]}]}`)); err == nil || !strings.Contains(err.Error(), `"Teams-2"`) {
		t.Errorf("CheckIDFree missed a team ID in a list: %v", err)
	}
}

// TestScopeDimensions: every scope key a variable set sorts is a dimension
// with a valid default mode that never widens a value, every dimension
// names a kind or a namespace some kind provides, and every keyed value
// spec points its keys inside its path.
func TestScopeDimensions(t *testing.T) {
	provided := map[string]bool{}
	for _, k := range Kinds() {
		for _, p := range k.Provides {
			provided[p.Kind] = true
		}
	}
	for _, d := range ScopeDimensions {
		switch d.Mismatch {
		case "exact", "partial":
		case "":
			if Lookup(d.To) != nil {
				t.Errorf("%s: entries name %s entities, which have IDs: a default must decide what happens to a missing one", d.Name, d.To)
			}
		default:
			t.Errorf("%s: default mismatch mode %q (a default must be exact or partial: ignore modes may widen a value)", d.Name, d.Mismatch)
		}
		if Lookup(d.To) == nil && !provided[d.To] {
			t.Errorf("%s: entries name %s, which is neither a kind nor provided by one", d.Name, d.To)
		}
		if LookupDimension(strings.ToLower(d.Name)) != &ScopeDimensions[slices.IndexFunc(ScopeDimensions, func(x ScopeDimension) bool { return x.Name == d.Name })] {
			t.Errorf("LookupDimension(%q) does not find it", d.Name)
		}
	}
	for _, k := range Kinds() {
		if len(k.Values) == 0 {
			continue
		}
		for _, s := range k.Sets {
			if dim, ok := strings.CutPrefix(s.Path, "Variables/*/Scope/"); ok && LookupDimension(dim) == nil {
				t.Errorf("%s: scope key %s is not a dimension", k.Name, dim)
			}
		}
		for _, v := range k.Values {
			if v.Items == "" {
				t.Errorf("%s: value spec %+v: Items must be set", k.Name, v)
			}
		}
	}
	if LookupDimension("Tenant") != nil {
		t.Error("LookupDimension found a dimension that does not exist")
	}
}

// TestWithoutSecrets: the write-only positions of a kind (Kind.Sensitive)
// are removed from a copy; plain values at mixed positions, sensitive
// variables' other fields and the original stay.
func TestWithoutSecrets(t *testing.T) {
	tests := []struct {
		name, kind, in, want string
	}{
		{"certificate", Certificate,
			`{"Name":"Web","Password":{"HasValue":false,"NewValue":null},"CertificateData":{"HasValue":true,"NewValue":null},"Notes":"n"}`,
			`{"Name":"Web","Notes":"n"}`},
		{"account", Account,
			`{"Name":"A","AccountType":"UsernamePassword","Username":"u","Password":{"HasValue":true,"NewValue":null}}`,
			`{"AccountType":"UsernamePassword","Name":"A","Username":"u"}`},
		{"process: only the SensitiveValue objects of a mixed position", DeploymentProcess,
			`{"Steps":[{"Name":"S","Actions":[{"Name":"S","Properties":{"Plain":"x","Secret":{"HasValue":true,"NewValue":null}}}]}]}`,
			`{"Steps":[{"Actions":[{"Name":"S","Properties":{"Plain":"x"}}],"Name":"S"}]}`},
		{"variables: the value of a sensitive variable", ProjectVariables,
			`{"Variables":[{"Name":"P","IsSensitive":true,"Value":"s3cret"},{"Name":"Q","IsSensitive":false,"Value":"q"}]}`,
			`{"Variables":[{"IsSensitive":true,"Name":"P"},{"IsSensitive":false,"Name":"Q","Value":"q"}]}`},
		{"no secrets", Environment, `{"Name":"Prod"}`, `{"Name":"Prod"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := decode(t, tt.in)
			before := encode(t, in)
			got := MustLookup(tt.kind).WithoutSecrets(in)
			if g, w := encode(t, got), encode(t, decode(t, tt.want)); g != w {
				t.Errorf("got  %s\nwant %s", g, w)
			}
			if encode(t, in) != before {
				t.Error("WithoutSecrets changed its argument")
			}
		})
	}
}

// TestEachItemShapes checks the objects the walker finds in a document of
// each shape: the entity itself, each item of an items file, none in the
// bytes of a binary file; an array where an object belongs is an error.
func TestEachItemShapes(t *testing.T) {
	obj := map[string]any{"Name": "a"}
	items := []any{map[string]any{"Name": "a"}, map[string]any{"Name": "b"}}
	for _, tc := range []struct {
		shape   Shape
		doc     any
		want    []string // the prefixes fn sees
		wantErr bool
	}{
		{ShapeObject, obj, []string{""}, false},
		{ShapeParts, obj, []string{""}, false},
		{ShapeItems, items, []string{"0", "1"}, false},
		{ShapeItems, obj, []string{""}, false},
		{ShapeItems, []any{"x"}, nil, true},
		{ShapeBinary, []byte("PNG"), nil, false},
		{ShapeObject, items, nil, true},
		{ShapeParts, "x", nil, true},
	} {
		t.Run(tc.shape.String(), func(t *testing.T) {
			var got []string
			err := eachItem(&Kind{Name: "K", Shape: tc.shape}, tc.doc, func(_ map[string]any, prefix []string) error {
				got = append(got, strings.Join(prefix, "/"))
				return nil
			})
			if (err != nil) != tc.wantErr || !slices.Equal(got, tc.want) {
				t.Errorf("got %q, %v; want %q, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

// TestShapesOfKinds checks the registry's shapes against what each shape
// needs: parts exactly for ShapeParts, an item name for ShapeItems, and
// neither a name of its own nor a collection of its own for an items file
// (its items are the parent's).
func TestShapesOfKinds(t *testing.T) {
	seen := map[Shape]bool{}
	for _, k := range Kinds() {
		seen[k.Shape] = true
		if (k.Shape == ShapeParts) != (k.Parts != nil) {
			t.Errorf("%s: shape %s, parts %v", k.Name, k.Shape, k.Parts != nil)
		}
		if k.Shape == ShapeItems && (k.ItemName == "" || k.NameField != "" || k.Parent == "") {
			t.Errorf("%s: an items file needs ItemName and a Parent, and no NameField", k.Name)
		}
		if k.Shape == ShapeBinary && (len(k.Refs)+len(k.Sensitive)+len(k.Texts) > 0 || k.Read == "") {
			t.Errorf("%s: a binary file is read at Read and holds no references, secrets or texts", k.Name)
		}
	}
	for _, s := range []Shape{ShapeObject, ShapeItems, ShapeBinary, ShapeParts} {
		if !seen[s] {
			t.Errorf("no kind has shape %s", s)
		}
	}
}

// TestScrubEverySecretPosition: Scrub clears a NewValue at each position
// a real server holds a SensitiveValue (OctopusClients' Model and
// go-octopusdeploy's types), including those of targets, triggers and
// project templates.
func TestScrubEverySecretPosition(t *testing.T) {
	const leak = `{"HasValue":true,"NewValue":"s3cret"}`
	tests := []struct{ kind, doc, at string }{
		{Account, `{"Password":` + leak + `}`, "/Password"},
		{Feed, `{"ServiceAccountJsonKey":` + leak + `}`, "/ServiceAccountJsonKey"},
		{Certificate, `{"CertificateData":` + leak + `}`, "/CertificateData"},
		{DeploymentTarget, `{"Endpoint":{"CommunicationStyle":"OfflineDrop","SensitiveVariablesEncryptionPassword":` + leak + `}}`, "/Endpoint/SensitiveVariablesEncryptionPassword"},
		{DeploymentTarget, `{"Endpoint":{"CommunicationStyle":"AzureServiceFabricCluster","AadUserCredentialPassword":` + leak + `}}`, "/Endpoint/AadUserCredentialPassword"},
		{ProjectTrigger, `{"Filter":{"FilterType":"WebhookFilter","Secret":` + leak + `}}`, "/Filter/Secret"},
		{Project, `{"Templates":[{"Name":"Key","DefaultValue":` + leak + `}]}`, "/Templates/0/DefaultValue"},
		{LibraryVariableSet, `{"Templates":[{"Name":"Key","DefaultValue":` + leak + `}]}`, "/Templates/0/DefaultValue"},
		{ActionTemplate, `{"Parameters":[{"Name":"Key","DefaultValue":` + leak + `}]}`, "/Parameters/0/DefaultValue"},
	}
	for _, tc := range tests {
		doc := decode(t, tc.doc)
		changed, err := MustLookup(tc.kind).Scrub(doc)
		if err != nil {
			t.Fatal(err)
		}
		if got := encode(t, doc); strings.Contains(got, "s3cret") || !reflect.DeepEqual(changed, []string{tc.at}) {
			t.Errorf("%s: scrubbed %q to %s, want %s cleared", tc.kind, changed, got, tc.at)
		}
	}
}

// sortArrayStd is sortArray as it was, with encoding/json and fmt: the
// order sortArray must keep.
func sortArrayStd(arr []any, key []string) {
	enc := make([]string, len(arr))
	keys := make([][]string, len(arr))
	for i, el := range arr {
		if s, ok := el.(string); ok {
			enc[i] = s
			continue
		}
		b, _ := json.Marshal(el)
		enc[i] = string(b)
		if m, ok := el.(map[string]any); ok {
			for _, f := range key {
				keys[i] = append(keys[i], fmt.Sprint(m[f]))
			}
		}
	}
	idx := make([]int, len(arr))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		ka, kb := keys[idx[a]], keys[idx[b]]
		for f := 0; f < len(ka) && f < len(kb); f++ {
			if ka[f] != kb[f] {
				return ka[f] < kb[f]
			}
		}
		return enc[idx[a]] < enc[idx[b]]
	})
	sorted := make([]any, len(arr))
	for i, j := range idx {
		sorted[i] = arr[j]
	}
	copy(arr, sorted)
}

func TestSortArrayMatchesEncodingJSON(t *testing.T) {
	obj := func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	cases := []struct {
		name string
		key  []string
		arr  []any
	}{
		{"strings", nil, []any{"b", "a", "<", "&", "\u2028", "B"}},
		{"objects by encoding: HTML and line separators escaped", nil, []any{
			obj("Name", "a>b"), obj("Name", "a<b"), obj("Name", "a&b"), obj("Name", "xA"), obj("Name", "x<"), obj("Name", "x\u2028"), obj("Name", "x\u00ff"), obj("Name", "a\u2028"), obj("Name", "a\u00e9"), obj("Name", "a\x7f")}},
		{"numbers and kinds", nil, []any{json.Number("10"), json.Number("9"), true, false, nil, 1.5, obj("x", json.Number("2")), []any{"z"}, "s", obj()}},
		{"by key fields, then encoding", []string{"Name", "Order"}, []any{
			obj("Name", "b", "Order", json.Number("1")), obj("Name", "a", "Order", json.Number("2"), "X", "<"),
			obj("Name", "a", "Order", json.Number("2"), "X", ">"), obj("Name", nil), obj("Order", true), obj("Name", "a", "Order", json.Number("10")),
			obj("Name", []any{"q"}), "loose string", obj("Name", obj("In", "side"))}},
		{"nested", []string{"Id"}, []any{
			obj("Id", "1", "Values", []any{obj("b", "2", "a", "1")}), obj("Id", "1", "Values", []any{obj("a", "1")}), obj("Id", "0", "Values", nil)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := slices.Clone(tc.arr)
			sortArrayStd(want, tc.key)
			for _, rev := range []bool{false, true} {
				got := slices.Clone(tc.arr)
				if rev {
					slices.Reverse(got)
					want = slices.Clone(got)
					sortArrayStd(want, tc.key)
				}
				sortArray(got, tc.key)
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("sortArray = %v, want %v", got, want)
				}
			}
		})
	}
}
