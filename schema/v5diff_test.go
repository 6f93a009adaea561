package schema_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	v5 "github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/schema"
)

// v5Schemas compiles every embedded schema with jsonschema/v5, as
// schema.Validate did before v6.
func v5Schemas(t *testing.T) map[string]*v5.Schema {
	t.Helper()
	c := v5.NewCompiler()
	c.Draft = v5.Draft2020
	c.AssertFormat = true
	c.LoadURL = func(s string) (io.ReadCloser, error) { return nil, fmt.Errorf("no loading %s", s) }
	names, _ := fs.Glob(schema.Schemas(), "*.json")
	for _, n := range names {
		data, _ := fs.ReadFile(schema.Schemas(), n)
		if err := c.AddResource(schema.SchemaBase+n, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
	}
	out := map[string]*v5.Schema{}
	for _, n := range names {
		s, err := c.Compile(schema.SchemaBase + n)
		if err != nil {
			t.Fatal(err)
		}
		out[n] = s
	}
	return out
}

// v5Pointers validates doc with v5 and returns the sorted, distinct
// instance locations of the innermost failures (nil when valid).
func v5Pointers(s *v5.Schema, doc any) []string {
	err := s.Validate(doc)
	if err == nil {
		return nil
	}
	var ve *v5.ValidationError
	if !errors.As(err, &ve) {
		return []string{"error: " + err.Error()}
	}
	var out []string
	var leaves func(v *v5.ValidationError)
	leaves = func(v *v5.ValidationError) {
		if len(v.Causes) == 0 {
			// v5 escapes the tokens of its pointers as URL path
			// segments ("Customer%20Portal"); v6's are plain.
			p, err := url.PathUnescape(v.InstanceLocation)
			if err != nil {
				p = v.InstanceLocation
			}
			out = append(out, p)
		}
		for _, c := range v.Causes {
			leaves(c)
		}
	}
	leaves(ve)
	sort.Strings(out)
	return slices.Compact(out)
}

// v6Pointers is v5Pointers of schema.Validate.
func v6Pointers(name string, doc any) []string {
	err := schema.Validate(name, doc)
	if err == nil {
		return nil
	}
	var ve *schema.ValidationError
	if !errors.As(err, &ve) {
		return []string{"error: " + err.Error()}
	}
	var out []string
	for _, v := range ve.Violations {
		out = append(out, v.Pointer)
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// mutations returns copies of doc, each with one change at one place:
// every value replaced by a value of each other JSON type, every object
// given an "Id" and stripped of each of its members in turn.
func mutations(doc any) (out []mutation) {
	var walk func(v any, ptr string, set func(any) any)
	walk = func(v any, ptr string, set func(any) any) {
		for _, r := range []any{nil, true, "x", "", bundlesNumber, []any{}, []any{7.5}, map[string]any{}} {
			out = append(out, mutation{ptr + " := " + fmt.Sprint(r), set(r)})
		}
		switch t := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(t))
			for k := range t {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			withID := clone(t)
			withID["Id"] = "Things-1"
			out = append(out, mutation{ptr + " +Id", set(withID)})
			for _, k := range keys {
				without := clone(t)
				delete(without, k)
				out = append(out, mutation{ptr + " -" + k, set(without)})
				walk(t[k], ptr+"/"+k, func(r any) any {
					c := clone(t)
					c[k] = r
					return set(c)
				})
			}
		case []any:
			for i := range t {
				walk(t[i], fmt.Sprintf("%s/%d", ptr, i), func(r any) any {
					c := slices.Clone(t)
					c[i] = r
					return set(c)
				})
			}
		}
	}
	walk(doc, "", func(r any) any { return r })
	return out
}

var bundlesNumber = mustDecode("7")

func mustDecode(s string) any {
	v, err := bundles.Decode([]byte(s))
	if err != nil {
		panic(err)
	}
	return v
}

type mutation struct {
	what string
	doc  any
}

func clone(m map[string]any) map[string]any {
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// TestV5Differential: every entity document of the golden bundle, and
// every one-change mutation of it, is accepted or refused by schema.Validate
// (v6) exactly as by v5, refused at the same instance locations.
func TestV5Differential(t *testing.T) {
	old := v5Schemas(t)
	b, err := bundles.Read(filepath.Join("..", "testdata", "golden", "source"), bundles.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	type named struct {
		path, schema string
		doc          any
	}
	var all []named
	for _, e := range b.Entries() {
		if e.Kind.Shape == schema.ShapeBinary {
			continue
		}
		name, _ := schema.SchemaFor(e.Path)
		all = append(all, named{e.Path, name, e.Doc})
	}
	// Documents of other schemas: the golden manifest and the sample plans.
	for _, f := range []struct{ path, schema string }{
		{"golden/source/manifest.json", schema.ManifestSchema},
		{"plans/sample-plan.json", "plan.schema.json"},
		{"plans/small-plan.json", "plan.schema.json"},
	} {
		data, err := os.ReadFile(filepath.Join("..", "testdata", f.path))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, named{f.path, f.schema, mustDecode(string(data))})
	}
	var docs, muts, refused, diffs int
	for _, e := range all {
		name := e.schema
		docs++
		if got, want := v6Pointers(name, e.doc), v5Pointers(old[name], e.doc); got != nil || want != nil {
			t.Errorf("%s: v6 %q, v5 %q; want both valid", e.path, got, want)
		}
		ms := mutations(e.doc)
		// At most about 1,500 mutations of a document (the plans have
		// tens of thousands): every k-th.
		step := len(ms)/1500 + 1
		for i := 0; i < len(ms); i += step {
			m := ms[i]
			muts++
			got, want := v6Pointers(name, m.doc), v5Pointers(old[name], m.doc)
			if want != nil {
				refused++
			}
			if !slices.Equal(got, want) {
				diffs++
				if diffs <= 30 {
					t.Errorf("%s %s: v6 refuses at %q, v5 at %q", e.path, m.what, got, want)
				}
			}
		}
	}
	t.Logf("%d documents, %d mutations (%d refused), %d differ", docs, muts, refused, diffs)
	if docs < 50 {
		t.Fatalf("only %d documents", docs)
	}
}

// sha is a digest that matches the schemas' pattern.
var sha = "sha256:" + strings.Repeat("a", 64)

// manifestDoc and planDoc are valid documents with "%s" where a case puts
// its members.
var (
	manifestDoc = `{"Format":"octobundle/v1","ToolVersion":"dev","Source":{"Server":"https://octo.example.com","ServerVersion":"2024.1.1","Space":"Default"},"ExportedAt":"2024-01-02T03:04:05Z","Digest":"` + sha + `"%s}`
	planDoc     = `{"format":"octobundle-plan/v1","bundleDigest":"` + sha + `","destination":{"server":"a","space":"b","serverVersion":"c","fingerprint":"` + sha + `"},"changes":[],"cleanup":[]%s}`
)

// invalidCases are hand-made invalid documents, one or more failures each,
// with the JSON pointers every failure is reported at: the same as v5.
var invalidCases = []struct {
	name, schema, doc string
	want              []string
}{
	{"id", "environment.schema.json", `{"Name":"X","Id":"Environments-1"}`, []string{"/Id"}},
	{"no name", "environment.schema.json", `{"Description":"x"}`, []string{""}},
	{"name type", "environment.schema.json", `{"Name":3}`, []string{"/Name"}},
	{"name empty", "environment.schema.json", `{"Name":""}`, []string{"/Name"}},
	{"not an object", "environment.schema.json", `["Production"]`, []string{""}},
	{"several", "environment.schema.json", `{"Name":7,"Id":"x","SpaceId":"Spaces-1"}`, []string{"/Id", "/Name", "/SpaceId"}},
	{"phase no name", "lifecycle.schema.json", `{"Name":"Default","Phases":[{"Name":"Dev"},{"OptionalDeploymentTargets":[]}]}`, []string{"/Phases/1"}},
	{"phase targets", "lifecycle.schema.json", `{"Name":"Default","Phases":[{"Name":"Dev","OptionalDeploymentTargets":"Dev"}]}`, []string{"/Phases/0/OptionalDeploymentTargets"}},
	{"phase target type", "lifecycle.schema.json", `{"Name":"Default","Phases":[{"Name":"Dev","OptionalDeploymentTargets":["Dev",3]}]}`, []string{"/Phases/0/OptionalDeploymentTargets/1"}},
	{"project lifecycle", "project.schema.json", `{"Name":"OctoFX","LifecycleId":7}`, []string{"/LifecycleId"}},
	{"process action id", "deployment-process.schema.json", `{"Steps":[{"Name":"Deploy","Actions":[{"Name":"A","Id":"x"}]}]}`, []string{"/Steps/0/Actions/0/Id"}},
	{"process no actions", "deployment-process.schema.json", `{"Steps":[{"Name":"Deploy"}]}`, []string{"/Steps/0"}},
	{"sensitive value", "project-variables.schema.json", `{"Variables":[{"Name":"A","Value":"1"},{"Name":"S","Value":"secret","IsSensitive":true}]}`, []string{"/Variables/1/Value"}},
	{"scope", "project-variables.schema.json", `{"Variables":[{"Name":"A","Scope":{"Environment":"Dev"}}]}`, []string{"/Variables/0/Scope/Environment"}},
	{"scope item", "library-variables.schema.json", `{"Variables":[{"Name":"A","Scope":{"Environment":["Dev",{}]}}]}`, []string{"/Variables/0/Scope/Environment/1"}},
	{"escaped keys", "tenant.schema.json", `{"Name":"Acme","ProjectEnvironments":{"Customer Portal":"x","a/b~c":1,"ok":["Dev"]}}`, []string{"/ProjectEnvironments/Customer Portal", "/ProjectEnvironments/a~1b~0c"}},
	{"tenant variables legacy", "tenant-variables.schema.json", `{"ProjectVariables":{"OctoFX":{"Variables":{"Dev":{"Url":"x"}}}}}`, []string{"/ProjectVariables"}},
	{"scoped roles object", "scoped-user-role.schema.json", `{"UserRoleId":"x"}`, []string{""}},
	{"scoped role id", "scoped-user-role.schema.json", `[{"UserRoleId":"x"},{"UserRoleId":"y","Id":"ScopedUserRoles-1"}]`, []string{"/1/Id"}},
	{"manifest credentials", schema.ManifestSchema, strings.Replace(fmt.Sprintf(manifestDoc, `,"Counts":{}`), "https://", "https://u:p@", 1), []string{"/Source/Server"}},
	{"manifest format", schema.ManifestSchema, strings.Replace(fmt.Sprintf(manifestDoc, `,"Counts":{}`), "octobundle/v1", "octobundle/v9", 1), []string{"/Format"}},
	{"manifest date", schema.ManifestSchema, strings.Replace(fmt.Sprintf(manifestDoc, `,"Counts":{}`), "2024-01-02", "2024-13-45", 1), []string{"/ExportedAt"}},
	{"manifest no counts", schema.ManifestSchema, fmt.Sprintf(manifestDoc, ``), []string{""}},
	{"manifest count", schema.ManifestSchema, fmt.Sprintf(manifestDoc, `,"Counts":{"Environment":0}`), []string{"/Counts/Environment"}},
	{"manifest count name", schema.ManifestSchema, fmt.Sprintf(manifestDoc, `,"Counts":{"environment":2}`), []string{"/Counts/environment"}},
	{"manifest count names", schema.ManifestSchema, fmt.Sprintf(manifestDoc, `,"Counts":{"a":1,"b":2,"Environment":2},"Projects":["x","x"],"Rules":[{"Name":"r","Digest":"md5"}]`), []string{"/Counts/a", "/Counts/b", "/Projects", "/Rules/0/Digest"}},
	{"plan summary name", "plan.schema.json", fmt.Sprintf(planDoc, `,"summary":{"create":1,"Id":2}`), []string{"/summary/Id"}},
	{"plan summary count", "plan.schema.json", fmt.Sprintf(planDoc, `,"summary":{"create":-1}`), []string{"/summary/create"}},
	{"plan destination", "plan.schema.json", fmt.Sprintf(planDoc, `,"summary":{},"extra":1`), []string{""}},
}

// TestInvalidDocuments: each hand-made invalid document is refused by v6
// and by v5, at the same pointers.
func TestInvalidDocuments(t *testing.T) {
	old := v5Schemas(t)
	for _, c := range invalidCases {
		t.Run(c.name, func(t *testing.T) {
			doc := mustDecode(c.doc)
			got := v6Pointers(c.schema, doc)
			if !slices.Equal(got, c.want) {
				t.Errorf("v6 refuses at %q, want %q (%v)", got, c.want, schema.Validate(c.schema, doc))
			}
			if v5 := v5Pointers(old[c.schema], doc); !slices.Equal(v5, c.want) {
				t.Errorf("v5 refuses at %q, want %q", v5, c.want)
			}
		})
	}
}
