package transform

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/schema"
)

// renameHead starts the rule files of TestRenames: rule 1 is on line 3.
const renameHead = "apiVersion: octobundle/rules/v1\nrules:\n"

// devTestGone drops Development, Test and the QA lifecycle (which would be
// left without phases), as testdata/rules/staging-production.yaml does.
const devTestGone = `  - drop: {kind: Environment, name: [Development, Test]}
  - drop: {kind: Lifecycle, name: QA}
`

// TestRenames checks that a rename is tracked through later rules and the
// cascade: a renamed entity that is then dropped, merged or left to the
// destination is reported under both names, later rules select it by its
// new name, a rule naming it by the wrong name says why it matched
// nothing, and what still refers to it is rewritten, removed or an error.
func TestRenames(t *testing.T) {
	const devTest, nonProd = "Azure Dev/Test Subscription", "Azure NonProd"
	tests := []struct {
		name  string
		rules string // after renameHead
		// lines must each be a line (prefix) of the text report.
		lines []string
		// warnings and errors must each be a warning or error (prefix).
		warnings, errors []string
		// gone are the account names the output must not hold or refer to.
		gone  []string
		check func(t *testing.T, out *bundles.Bundle)
	}{
		{
			name:  "renamed then dropped by the cascade",
			rules: "  - rename: {kind: Account, name: " + devTest + ", to: " + nonProd + "}\n" + devTestGone,
			lines: []string{
				`dropped              accounts/Azure NonProd.json (renamed from "Azure Dev/Test Subscription" by inline.yaml:3): lost its whole Environment ("Development", "Test") scope`,
				`dropped              projects/OctoFX/variables.json Variables["OctoFX.Azure.Account" Environment=Development,Test]: it refers to Account "Azure Dev/Test Subscription" (renamed to "Azure NonProd" by inline.yaml:3), which is dropped`,
			},
			gone: []string{devTest, nonProd},
		},
		{
			name:  "renamed then dropped by a rule naming the new name",
			rules: "  - rename: {kind: Account, name: " + devTest + ", to: " + nonProd + "}\n  - drop: {kind: Account, name: " + nonProd + "}\n",
			lines: []string{
				`dropped              accounts/Azure NonProd.json (renamed from "Azure Dev/Test Subscription" by inline.yaml:3)  (inline.yaml:4)`,
			},
			gone: []string{devTest, nonProd},
		},
		{
			name:  "renamed then left to the destination by its new name",
			rules: "  - rename: {kind: Account, name: " + devTest + ", to: " + nonProd + "}\n  - destination: {kind: Account, name: " + nonProd + "}\n",
			lines: []string{
				`left-to-destination  accounts/Azure NonProd.json (renamed from "Azure Dev/Test Subscription" by inline.yaml:3): references to it stay  (inline.yaml:4)`,
			},
			check: func(t *testing.T, out *bundles.Bundle) {
				if has(out, schema.Account, nonProd) || has(out, schema.Account, devTest) {
					t.Error("the account is still in the bundle")
				}
				if got := values(doc(t, out, schema.ProjectVariables, "OctoFX"), "OctoFX.Azure.Account"); !strings.Contains(strings.Join(got, "\n"), "→ "+nonProd) {
					t.Errorf("OctoFX.Azure.Account does not refer to the new name: %q", got)
				}
				pol, err := out.ApplyPolicy()
				if err != nil || pol == nil || !reflect.DeepEqual(pol.Provided[schema.Account], []string{nonProd}) {
					t.Errorf("policy Provided = %+v, %v; want the new name", pol, err)
				}
			},
		},
		{
			name:  "a later rule naming the old name matches nothing and says why",
			rules: "  - rename: {kind: Account, name: " + devTest + ", to: " + nonProd + "}\n  - destination: {kind: Account, name: " + devTest + "}\n",
			warnings: []string{
				`inline.yaml:4: destination matched nothing: Account "Azure Dev/Test Subscription" was renamed to "Azure NonProd" by inline.yaml:3; name the new name`,
			},
			check: func(t *testing.T, out *bundles.Bundle) {
				if !has(out, schema.Account, nonProd) || has(out, schema.Account, devTest) {
					t.Error("the account is not in the bundle under its new name only")
				}
			},
		},
		{
			name:  "an earlier rule naming the new name matches nothing and says why",
			rules: "  - drop: {kind: Account, name: " + nonProd + "}\n  - rename: {kind: Account, name: " + devTest + ", to: " + nonProd + "}\n",
			warnings: []string{
				`inline.yaml:3: drop matched nothing: Account "Azure Dev/Test Subscription" is renamed to "Azure NonProd" only later, by inline.yaml:4 (rules apply in order)`,
			},
			check: func(t *testing.T, out *bundles.Bundle) {
				if !has(out, schema.Account, nonProd) {
					t.Error("the account is not in the bundle under its new name")
				}
			},
		},
		{
			name:  "renamed then dropped where a reference must stay is an error naming the field",
			rules: "  - rename: {kind: Account, name: Azure Production Subscription, to: Azure Prod}\n  - drop: {kind: Account, name: Azure Prod}\n",
			errors: []string{
				`projects/Customer Portal/deployment-process.json: /Steps/1/Actions/0/Properties/Octopus.Action.Azure.AccountId: refers to Account "Azure Production Subscription" (renamed to "Azure Prod" by inline.yaml:3), which the rules drop (inline.yaml:4)`,
			},
		},
		{
			name:  "a renamed project then dropped takes what it owns",
			rules: "  - rename: {kind: Project, name: OctoFX, to: FX}\n  - drop: {kind: Project, name: FX}\n",
			lines: []string{
				`dropped              projects/FX/project.json (renamed from "OctoFX" by inline.yaml:3)  (inline.yaml:4)`,
				`dropped              projects/OctoFX/channels/Default.json: its owner is dropped or merged  (inline.yaml:4)`,
			},
			check: func(t *testing.T, out *bundles.Bundle) {
				for _, p := range out.Paths() {
					if strings.HasPrefix(p, "projects/FX/") || strings.HasPrefix(p, "projects/OctoFX/") {
						t.Errorf("%s is still in the bundle", p)
					}
				}
				assertNoMention(t, out, `"FX"`, `"OctoFX"`)
			},
		},
		{
			name:  "renamed then merged",
			rules: "  - rename: {kind: Environment, name: Test, to: Testing}\n  - merge: {kind: Environment, name: Testing, into: Staging}\n",
			lines: []string{
				`merged               environments/Testing.json (renamed from "Test" by inline.yaml:3): into "Staging"  (inline.yaml:4)`,
			},
			check: func(t *testing.T, out *bundles.Bundle) {
				if has(out, schema.Environment, "Testing") || has(out, schema.Environment, "Test") {
					t.Error("the merged environment is still in the bundle")
				}
				assertNoRef(t, out, schema.Environment, "Test", "Testing")
			},
		},
		{
			name:  "merged into an entity renamed later takes its new name",
			rules: "  - merge: {kind: Environment, name: Development, into: Test}\n  - rename: {kind: Environment, name: Test, to: PreProd}\n",
			lines: []string{
				`merged               environments/Development.json: into "PreProd"  (inline.yaml:3)`,
				`renamed              environments/Test.json: to "PreProd"  (inline.yaml:4)`,
			},
			check: func(t *testing.T, out *bundles.Bundle) {
				if !has(out, schema.Environment, "PreProd") {
					t.Error("no environment PreProd")
				}
				assertNoRef(t, out, schema.Environment, "Development", "Test")
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, rep, err := Transform(golden(t), []*RuleFile{inline(t, renameHead+tt.rules)}, Options{})
			var text strings.Builder
			if rep != nil {
				_ = rep.WriteText(&text)
			}
			if len(tt.errors) == 0 && err != nil {
				t.Fatalf("%v\n%s", err, text.String())
			}
			if len(tt.errors) > 0 && err == nil {
				t.Fatalf("no error; want %q\n%s", tt.errors, text.String())
			}
			for _, l := range tt.lines {
				if !hasLinePrefix(text.String(), l) {
					t.Errorf("no report line %q in:\n%s", l, text.String())
				}
			}
			for _, w := range tt.warnings {
				if !hasLinePrefix(text.String(), "warning: "+w) {
					t.Errorf("no warning %q in:\n%s", w, text.String())
				}
			}
			if len(tt.warnings) == 0 && len(rep.Warnings) > 0 {
				t.Errorf("warnings: %v", rep.Warnings)
			}
			for _, e := range tt.errors {
				if !hasLinePrefix(text.String(), "error: "+e) {
					t.Errorf("no error %q in:\n%s", e, text.String())
				}
			}
			if out == nil {
				return
			}
			problems, err := out.CheckReferences()
			if err != nil || len(problems) > 0 {
				t.Fatalf("output has dangling references: %v %v", problems, err)
			}
			for _, name := range tt.gone {
				if has(out, schema.Account, name) {
					t.Errorf("account %q is still in the bundle", name)
				}
				assertNoMention(t, out, `"`+name+`"`)
			}
			if tt.check != nil {
				tt.check(t, out)
			}
		})
	}
}

// hasLinePrefix reports whether a line of text starts with prefix.
func hasLinePrefix(text, prefix string) bool {
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

// assertNoMention fails when an entity file of out holds one of the
// quoted strings (as a JSON string value or key).
func assertNoMention(t *testing.T, out *bundles.Bundle, quoted ...string) {
	t.Helper()
	for _, p := range out.Paths() {
		if p == bundles.ManifestFile || p == bundles.ChecksumsFile {
			continue
		}
		raw, _ := out.Raw(p)
		for _, q := range quoted {
			if strings.Contains(string(raw), q) {
				t.Errorf("%s still mentions %s", p, q)
			}
		}
	}
}

// assertNoRef fails when a reference of out to kind holds one of names.
func assertNoRef(t *testing.T, out *bundles.Bundle, kind string, names ...string) {
	t.Helper()
	for en := range out.All() {
		_ = en.Kind.Visit(en.Doc, func(ref schema.Ref, at []string, v string) {
			for _, k := range schema.TargetKinds(ref.To) {
				if k == kind && slices.Contains(names, v) {
					t.Errorf("%s: %s still refers to %s %q", en.Path, schema.Pointer(at), kind, v)
				}
			}
		})
	}
}

// TestDanglingLastOfKind checks that transform fails when its output
// refers to a kind it no longer holds any entity of (the input's accounts
// all went), naming the file and the JSON pointer, and that leaving the
// kind to the destination (apply policy skip) is the way out.
func TestDanglingLastOfKind(t *testing.T) {
	in := golden(t)
	for _, p := range in.Paths() {
		if strings.HasPrefix(p, "accounts/") {
			in.Remove(p)
		}
	}
	_, rep, err := Transform(in, []*RuleFile{inline(t, renameHead+devTestGone)}, Options{})
	if err == nil {
		t.Fatal("no error")
	}
	want := Message{Path: "machine-policies/Daily Health Check.json", Field: "/MachineUpdatePolicy/TentacleUpdateAccountId",
		Text: `refers to Account "Tentacle Update Account", which is not in the output bundle and not left to the destination`}
	found := false
	for _, m := range rep.Errors {
		found = found || m == want
	}
	if !found {
		t.Errorf("no error %+v in %+v", want, rep.Errors)
	}
	skip := inline(t, renameHead+devTestGone+"  - applyPolicy: {kind: Account, policy: skip}\n")
	if _, rep, err := Transform(in, []*RuleFile{skip}, Options{}); err != nil {
		t.Errorf("with accounts left to the destination: %v %+v", err, rep.Errors)
	}
}
