package schema

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestEveryListDeclared walks every entity file of the sample bundles and
// fails when an array of objects has no List (key and strategy) in its
// kind's registry entry, or an array of strings is neither a set nor a
// declared list: the merge engine must never guess an element's identity.
func TestEveryListDeclared(t *testing.T) {
	roots := []string{"../testdata/golden/source", "../testdata/bundles/good_dir"}
	files := 0
	for _, root := range roots {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			k, _ := KindForPath(filepath.ToSlash(rel))
			if k == nil || k.Shape == ShapeBinary {
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			var doc any
			if err := json.Unmarshal(data, &doc); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			files++
			checkLists(t, k, rel, doc, nil)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if files < 50 {
		t.Fatalf("only %d entity files checked", files)
	}
}

// checkLists reports the undeclared arrays below at in v.
func checkLists(t *testing.T, k *Kind, file string, v any, at []string) {
	t.Helper()
	switch x := v.(type) {
	case map[string]any:
		for key, c := range x {
			checkLists(t, k, file, c, append(append([]string(nil), at...), key))
		}
	case []any:
		objects := false
		for _, el := range x {
			if _, ok := el.(map[string]any); ok {
				objects = true
			}
		}
		l := k.ListAt(at)
		switch {
		case objects && l == nil:
			t.Errorf("%s: %s /%s: an array of objects with no List (key and strategy) in the registry", file, k.Name, strings.Join(at, "/"))
		case objects && l.Strategy == StrategyMerge:
			for i, el := range x {
				if _, ok := l.Identify(el); !ok {
					t.Errorf("%s: %s /%s/%d: the element lacks a key field of %v", file, k.Name, strings.Join(at, "/"), i, l.Key)
				}
			}
		case !objects && len(x) > 0 && l == nil && !k.isSetPath(at) && !(k.Shape == ShapeItems && k.isSetPath(at[1:])):
			t.Errorf("%s: %s /%s: an array of strings that is neither a set (Kind.Sets) nor a declared List", file, k.Name, strings.Join(at, "/"))
		}
		for i, el := range x {
			checkLists(t, k, file, el, append(append([]string(nil), at...), strconv.Itoa(i)))
		}
	}
}

// isSetPath reports whether at is one of k's set-like arrays.
func (k *Kind) isSetPath(at []string) bool {
	for _, s := range k.Sets {
		if PathMatches(s.Path, at) {
			return true
		}
	}
	return false
}

// TestListDeclarations: every list is well formed, and one key shape has
// one case rule everywhere (KindlessIdentify relies on it).
func TestListDeclarations(t *testing.T) {
	fold := map[string]bool{}
	for _, k := range Kinds() {
		for _, l := range k.Lists {
			switch l.Strategy {
			case StrategyMerge:
				if len(l.Key) == 0 {
					t.Errorf("%s %q: merge strategy without a key", k.Name, l.Path)
				}
				if l.DestOnly != DestOnlyKeep && l.DestOnly != DestOnlyRemovable {
					t.Errorf("%s %q: DestOnly %q", k.Name, l.Path, l.DestOnly)
				}
			case StrategyReplace:
				if len(l.Key) > 0 || l.Renames {
					t.Errorf("%s %q: a replaced list has no key and no renames", k.Name, l.Path)
				}
			default:
				t.Errorf("%s %q: unknown strategy %q", k.Name, l.Path, l.Strategy)
			}
			if l.SameIf != "" && k.List(join(l.Path, "*", l.SameIf)) == nil {
				t.Errorf("%s %q: SameIf %q is not a declared list", k.Name, l.Path, l.SameIf)
			}
			sig := strings.Join(l.Key, ",")
			if f, seen := fold[sig]; seen && f != l.Fold {
				t.Errorf("%s %q: key %s folds case here and not elsewhere", k.Name, l.Path, sig)
			}
			fold[sig] = l.Fold
		}
	}
}

func join(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "/")
}

// TestIdentify: labels and keys, case rules, scopes compared sorted.
func TestIdentify(t *testing.T) {
	vars := MustLookup(ProjectVariables).List("Variables")
	steps := MustLookup(DeploymentProcess).List("Steps")
	tv := MustLookup(TenantVariables).List("ProjectVariables")
	for _, tc := range []struct {
		name  string
		l     *List
		a, b  string
		same  bool
		label string
	}{
		{"variables differing in case are two", vars, `{"Name":"CaseVar","Scope":{}}`, `{"Name":"casevar","Scope":{}}`, false, `"CaseVar"`},
		{"steps differing in case are one", steps, `{"Name":"Deploy Web"}`, `{"Name":"deploy web"}`, true, `"Deploy Web"`},
		{"scope lists compare sorted, empty lists ignored", vars, `{"Name":"v","Scope":{"Environment":["B","A"],"Role":[]}}`, `{"Name":"v","Scope":{"Environment":["A","B"]}}`, true, `"v" Environment=A,B`},
		{"a scope value with a space is quoted", vars, `{"Name":"v","Scope":{"Environment":["Prod East"]}}`, `{"Name":"v","Scope":{}}`, false, `"v" Environment="Prod East"`},
		{"tenant values by project, template and scope", tv, `{"ProjectId":"OctoFX","TemplateId":"DB","Scope":{"EnvironmentIds":["Production"]}}`, `{"ProjectId":"OctoFX","TemplateId":"DB","Scope":{"EnvironmentIds":["Staging"]}}`, false, `"OctoFX"/"DB" EnvironmentIds=Production`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a, b any
			_ = json.Unmarshal([]byte(tc.a), &a)
			_ = json.Unmarshal([]byte(tc.b), &b)
			ia, ok1 := tc.l.Identify(a)
			ib, ok2 := tc.l.Identify(b)
			if !ok1 || !ok2 {
				t.Fatalf("not identified: %v %v", ok1, ok2)
			}
			if (ia.Key == ib.Key) != tc.same {
				t.Errorf("keys %q and %q: same = %v, want %v", ia.Key, ib.Key, ia.Key == ib.Key, tc.same)
			}
			if ia.Label != tc.label {
				t.Errorf("label %s, want %s", ia.Label, tc.label)
			}
			if k, ok := KindlessIdentify(a); !ok || k != ia {
				t.Errorf("KindlessIdentify %+v, want %+v", k, ia)
			}
		})
	}
}
