package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/schema"
	"github.com/rogpeppe/go-internal/testscript"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/urfave/cli/v2"
)

// docsSchemaBase is the $id prefix of the schemas of docs/json-schemas:
// one per command's JSON output, named after the command.
const docsSchemaBase = "https://github.com/octobundle/octobundle/docs/json-schemas/"

// docsSchemaDir is docs/json-schemas, from this package's directory.
const docsSchemaDir = "../../docs/json-schemas"

// noJSONOutput are the commands that print no data: demo narrates a run for
// people, completion prints a shell script, help prints help.
var noJSONOutput = []string{"demo", "completion", "help"}

// TestJSONOutput runs every command with --output json for real (the
// scripts of testdata/jsonoutput, against simulators) and checks each
// output against its schema in docs/json-schemas (the schemas
// docs/json-output.md documents), that its keys are camelCase and that no
// key repeats, and that JSON log lines repeat no key either. Script
// commands added to TestScripts' (see scriptParams):
//
//	jsonout NAME   the last command's stdout is one JSON value that
//	               validates against docs/json-schemas/NAME.schema.json;
//	               every key the schema names as a field is camelCase
//	               (keys of data maps and values, such as kind names and
//	               entity documents, are data); no object repeats a key
//	jsonlogs       every line of the last command's stderr that starts
//	               with '{' (--log-format json) is a JSON object in which
//	               no key repeats, its keys camelCase (or an action name:
//	               left-alone, no-op), and there is at least one
func TestJSONOutput(t *testing.T) {
	t.Parallel()
	s := loadOutputSchemas(t)
	p := scriptParams(t, "testdata/jsonoutput")
	p.Cmds["jsonout"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 1 {
			ts.Fatalf("usage: jsonout NAME")
		}
		if err := s.check(args[0], []byte(ts.ReadFile("stdout"))); err != nil {
			ts.Fatalf("%v", err)
		}
	}
	p.Cmds["jsonlogs"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 0 {
			ts.Fatalf("usage: jsonlogs")
		}
		n, err := checkJSONLogs(ts.ReadFile("stderr"))
		if err != nil {
			ts.Fatalf("%v", err)
		}
		ts.Logf("%d JSON log lines, no key repeated", n)
	}
	testscript.Run(t, p)
}

// TestEveryCommandSpeaksJSON: every command that prints data has
// --output (text or json), a schema of its JSON output named after it in
// docs/json-schemas, documented in docs/json-output.md and checked by a
// jsonout line of testdata/jsonoutput; and every schema there is so
// checked and documented.
func TestEveryCommandSpeaksJSON(t *testing.T) {
	doc, err := os.ReadFile("../../docs/json-output.md")
	if err != nil {
		t.Fatal(err)
	}
	checked := map[string]bool{}
	scripts, _ := filepath.Glob("testdata/jsonoutput/*.txtar")
	for _, f := range scripts {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`(?m)^jsonout (\S+)`).FindAllStringSubmatch(string(data), -1) {
			checked[m[1]] = true
		}
	}
	schemas, _ := filepath.Glob(filepath.Join(docsSchemaDir, "*.schema.json"))
	if len(schemas) == 0 {
		t.Fatal("no schemas in docs/json-schemas")
	}
	have := map[string]bool{}
	for _, f := range schemas {
		name := strings.TrimSuffix(filepath.Base(f), ".schema.json")
		have[name] = true
		if !checked[name] {
			t.Errorf("docs/json-schemas/%s.schema.json: no script of testdata/jsonoutput checks an output against it (jsonout %s)", name, name)
		}
		if !strings.Contains(string(doc), "json-schemas/"+name+".schema.json") {
			t.Errorf("docs/json-output.md does not link json-schemas/%s.schema.json", name)
		}
	}
	// A command with subcommands (release) is checked through them: the
	// schema of `release report` is release-report.
	type named struct {
		cmd        *cli.Command
		name, full string
	}
	var cmds []named
	for _, cmd := range newApp(io.Discard, io.Discard).Commands {
		if len(cmd.Subcommands) == 0 {
			cmds = append(cmds, named{cmd, cmd.Name, cmd.Name})
		}
		for _, sub := range cmd.Subcommands {
			cmds = append(cmds, named{sub, cmd.Name + "-" + sub.Name, cmd.Name + " " + sub.Name})
		}
	}
	for _, n := range cmds {
		cmd := n.cmd
		if slices.Contains(noJSONOutput, cmd.Name) {
			continue
		}
		t.Run(n.name, func(t *testing.T) {
			var flag bool
			for _, f := range cmd.Flags {
				flag = flag || slices.Contains(f.Names(), "output")
			}
			if !flag {
				t.Errorf("%s prints data but has no --output flag", n.full)
			}
			if !have[n.name] {
				t.Errorf("%s has no schema docs/json-schemas/%s.schema.json", n.full, n.name)
			}
			if !regexp.MustCompile("(?m)^## .*`" + regexp.QuoteMeta(n.full) + "`").Match(doc) {
				t.Errorf("docs/json-output.md has no section ## `%s`", n.full)
			}
		})
	}
}

// TestOutputSchemasNameCamelCaseFields: every field the output schemas
// name (docs/json-schemas, the schemas they refer to: plan, receipt, and
// the clean-up report's) is
// camelCase, and every object that lists its fields refuses others, so
// validation leaves no key unchecked.
func TestOutputSchemasNameCamelCaseFields(t *testing.T) {
	s := loadOutputSchemas(t)
	for _, id := range s.reachable() {
		var walk func(node any, ptr string, inIf bool)
		walk = func(node any, ptr string, inIf bool) {
			switch n := node.(type) {
			case map[string]any:
				if props, ok := n["properties"].(map[string]any); ok {
					for k := range props {
						if !camelCase(k) {
							t.Errorf("%s#%s/properties: field %q is not camelCase", id, ptr, k)
						}
					}
					if _, ok := n["additionalProperties"]; !ok && !inIf {
						t.Errorf("%s#%s: lists its fields but does not say additionalProperties", id, ptr)
					}
				}
				for k, v := range n {
					walk(v, ptr+"/"+k, inIf || k == "if")
				}
			case []any:
				for i, v := range n {
					walk(v, ptr+"/"+strconv.Itoa(i), inIf)
				}
			}
		}
		walk(s.docs[id], "", false)
	}
}

// TestKeyChecks: the checks jsonout makes reject what they must.
func TestKeyChecks(t *testing.T) {
	s := loadOutputSchemas(t)
	okPlan := `{"format":"octobundle-plan/v1","bundleDigest":"sha256:` + strings.Repeat("a", 64) + `",
		"destination":{"server":"s","space":"Default","serverVersion":"1","fingerprint":"sha256:` + strings.Repeat("b", 64) + `"},
		"changes":[{"kind":"Environment","names":["Production"],"path":"environments/Production.json","action":"update",
			"desired":{"Name":"Production","SortOrder":3},"writeMain":true,
			"diff":[{"path":"/SortOrder","label":"SortOrder","before":{"Old":1},"after":3}]}],
		"cleanup":[],"summary":{"update":1,"no-op":0,"left-alone":0}}`
	for _, tc := range []struct {
		name, schema, doc string
		want              string // "" or a substring of the error
	}{
		{"plan with entity documents and data keys", "plan", okPlan, ""},
		{"transform camelCase", "transform", `{"rules":["r.yaml"],"changes":[{"action":"dropped","kind":"Environment","path":"environments/Test.json"}],"warnings":[],"errors":[],"counts":{"dropped":1}}`, ""},
		{"transform PascalCase (before issue 23)", "transform", `{"Rules":["r.yaml"],"Changes":[],"Warnings":null,"Errors":null,"Counts":{}}`, "Rules"},
		{"a repeated key", "version", `{"version":"dev","go":"go1.26","os":"linux","arch":"amd64","os":"darwin"}`, "/os is repeated"},
		{"PascalCase nested in a data map's value", "diff", `{"old":{"path":"a","digest":"sha256:` + strings.Repeat("a", 64) + `","server":"s","serverVersion":"1","space":"D","exportedAt":"2026-01-01T00:00:00Z"},
			"new":{"path":"b","digest":"sha256:` + strings.Repeat("a", 64) + `","server":"s","serverVersion":"1","space":"D","exportedAt":"2026-01-01T00:00:00Z"},
			"equal":false,"summary":{"Environment":{"added":1,"removed":0,"changed":0,"Extra":1}},"changes":[]}`, "Extra"},
		{"two values", "version", `{"version":"dev","go":"go1.26","os":"linux","arch":"amd64"} {}`, "more than one JSON value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.check(tc.schema, []byte(tc.doc))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("no error, want one mentioning %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}

	// The key walk alone (validation aside): a PascalCase field is found
	// wherever the schema names fields, never inside data.
	var keys []string
	var doc any
	if err := json.Unmarshal([]byte(`{"Format":1,"changes":[{"Kind":"x","desired":{"Name":"n"},"diff":[{"Path":"p","before":{"Old":1}}]}],"summary":{"no-op":1}}`), &doc); err != nil {
		t.Fatal(err)
	}
	s.walkKeys(doc, s.ref(docsSchemaBase+"plan.schema.json"), "", &keys)
	if want := []string{"/Format", "/changes/0/Kind", "/changes/0/diff/0/Path"}; !slices.Equal(keys, want) {
		t.Errorf("keys found %v, want %v", keys, want)
	}

	for _, tc := range []struct {
		logs string
		want string
	}{
		{`{"level":"INFO","msg":"plan made","destination":"dc1","server":"http://x"}` + "\noctobundle: done\n", ""},
		{`{"level":"INFO","msg":"plan made","destination":"dc1","destination":"http://x"}` + "\n", `key "destination" repeated`},
		{"octobundle: no JSON here\n", "no JSON log line"},
		{"{not json\n", "line 1"},
		{`{"level":"INFO","msg":"moved","digest_was":"sha256:0"}` + "\n", `key "digest_was" is not camelCase`},
		{`{"level":"INFO","msg":"plan made","no-op":1,"left-alone":2}` + "\n", ""},
	} {
		_, err := checkJSONLogs(tc.logs)
		if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("checkJSONLogs(%q) = %v, want %q", tc.logs, err, tc.want)
		}
	}
}

// outputSchemas are the schemas of docs/json-schemas and the embedded ones
// they refer to, raw (for the key walk) and compiled (for validation).
type outputSchemas struct {
	docs     map[string]any // raw schema documents by $id
	compiled map[string]*jsonschema.Schema
}

var (
	outputSchemasOnce sync.Once
	outputSchemasVal  *outputSchemas
	outputSchemasErr  error
)

// loadOutputSchemas reads and compiles the schemas once per test binary.
func loadOutputSchemas(t testing.TB) *outputSchemas {
	t.Helper()
	outputSchemasOnce.Do(func() { outputSchemasVal, outputSchemasErr = readOutputSchemas() })
	if outputSchemasErr != nil {
		t.Fatal(outputSchemasErr)
	}
	return outputSchemasVal
}

// refuseLoader loads no URL: every schema is local.
type refuseLoader struct{}

func (refuseLoader) Load(u string) (any, error) {
	return nil, fmt.Errorf("refusing to load %s: every schema is local", u)
}

func readOutputSchemas() (*outputSchemas, error) {
	s := &outputSchemas{docs: map[string]any{}, compiled: map[string]*jsonschema.Schema{}}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.UseLoader(refuseLoader{})
	add := func(id string, data []byte) error {
		var doc any
		if err := json.Unmarshal(data, &doc); err != nil {
			return fmt.Errorf("%s: %w", id, err)
		}
		if got, _ := doc.(map[string]any)["$id"].(string); got != id {
			return fmt.Errorf("%s: $id is %q", id, got)
		}
		s.docs[id] = doc
		sdoc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			return fmt.Errorf("%s: %w", id, err)
		}
		return c.AddResource(id, sdoc)
	}
	embedded := schema.Schemas()
	names, err := fs.Glob(embedded, "*.json")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		data, err := fs.ReadFile(embedded, n)
		if err != nil {
			return nil, err
		}
		if err := add(schema.SchemaBase+n, data); err != nil {
			return nil, err
		}
	}
	files, err := filepath.Glob(filepath.Join(docsSchemaDir, "*.schema.json"))
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		id := docsSchemaBase + filepath.Base(f)
		if err := add(id, data); err != nil {
			return nil, err
		}
		sc, err := c.Compile(id)
		if err != nil {
			return nil, fmt.Errorf("compiling %s: %w", f, err)
		}
		s.compiled[strings.TrimSuffix(filepath.Base(f), ".schema.json")] = sc
	}
	return s, nil
}

// check checks data, a command's stdout, against the schema NAME: one JSON
// value, no key repeated, valid, its fields camelCase.
func (s *outputSchemas) check(name string, data []byte) error {
	sc := s.compiled[name]
	if sc == nil {
		return fmt.Errorf("no schema docs/json-schemas/%s.schema.json", name)
	}
	if dups, err := duplicateKeys(data); err != nil {
		return fmt.Errorf("stdout is not one JSON value: %w\n%s", err, data)
	} else if len(dups) > 0 {
		return fmt.Errorf("keys repeated in one object: %s is repeated", strings.Join(dups, ", "))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return err
	}
	if err := sc.Validate(doc); err != nil {
		return fmt.Errorf("%s output does not validate against docs/json-schemas/%s.schema.json: %#v", name, name, err)
	}
	var keys []string
	s.walkKeys(doc, s.ref(docsSchemaBase+name+".schema.json"), "", &keys)
	if len(keys) > 0 {
		return fmt.Errorf("%s output: keys not camelCase: %s", name, strings.Join(keys, ", "))
	}
	return nil
}

// schemaAt is a schema node with the URL its references resolve against.
type schemaAt struct {
	node map[string]any
	base *url.URL
}

// ref resolves the reference u (absolute, or relative to base) to the
// schema nodes it names (nil when it names nothing).
func (s *outputSchemas) ref(u string, base ...*url.URL) []schemaAt {
	r, err := url.Parse(u)
	if err != nil {
		return nil
	}
	if len(base) > 0 {
		r = base[0].ResolveReference(r)
	}
	frag := r.Fragment
	r.Fragment = ""
	var node any = s.docs[r.String()]
	for _, tok := range strings.Split(frag, "/")[1:] {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		m, _ := node.(map[string]any)
		node = m[tok]
	}
	m, ok := node.(map[string]any)
	if !ok {
		return nil
	}
	return s.expand(schemaAt{m, r})
}

// expand lists the nodes that apply to a value where at applies: at itself
// and what it refers to and combines (allOf, anyOf, oneOf, then, else).
func (s *outputSchemas) expand(at schemaAt) []schemaAt {
	out := []schemaAt{at}
	if r, ok := at.node["$ref"].(string); ok {
		out = append(out, s.ref(r, at.base)...)
	}
	for _, k := range []string{"allOf", "anyOf", "oneOf"} {
		list, _ := at.node[k].([]any)
		for _, sub := range list {
			if m, ok := sub.(map[string]any); ok {
				out = append(out, s.expand(schemaAt{m, at.base})...)
			}
		}
	}
	for _, k := range []string{"then", "else"} {
		if m, ok := at.node[k].(map[string]any); ok {
			out = append(out, s.expand(schemaAt{m, at.base})...)
		}
	}
	return out
}

// walkKeys appends to keys the JSON pointers of the keys of v that are not
// camelCase where the schema (the nodes at) names fields: a key the schema
// lists under properties is a field; a key only additionalProperties
// admits is data (a kind or action name), its value walked on; a value
// whose schema says nothing of its shape (before, after, desired: entity
// documents, keys as Octopus spells them) is data throughout.
func (s *outputSchemas) walkKeys(v any, at []schemaAt, ptr string, keys *[]string) {
	switch v := v.(type) {
	case map[string]any:
		props := map[string][]schemaAt{}
		var extra []schemaAt
		fields := false
		for _, a := range at {
			if p, ok := a.node["properties"].(map[string]any); ok {
				fields = true
				for k, sub := range p {
					if m, ok := sub.(map[string]any); ok {
						props[k] = append(props[k], s.expand(schemaAt{m, a.base})...)
					}
				}
			}
			if m, ok := a.node["additionalProperties"].(map[string]any); ok {
				extra = append(extra, s.expand(schemaAt{m, a.base})...)
			}
		}
		names := make([]string, 0, len(v))
		for k := range v {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			p := ptr + "/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(k)
			switch sub, named := props[k]; {
			case named:
				if !camelCase(k) {
					*keys = append(*keys, p)
				}
				s.walkKeys(v[k], sub, p, keys)
			case len(extra) > 0:
				s.walkKeys(v[k], extra, p, keys)
			case fields:
				// Validation refuses it (additionalProperties: false);
				// named anyway if it is not camelCase.
				if !camelCase(k) {
					*keys = append(*keys, p)
				}
			}
		}
	case []any:
		var items []schemaAt
		for _, a := range at {
			if m, ok := a.node["items"].(map[string]any); ok {
				items = append(items, s.expand(schemaAt{m, a.base})...)
			}
		}
		if len(items) == 0 {
			return
		}
		for i, e := range v {
			s.walkKeys(e, items, ptr+"/"+strconv.Itoa(i), keys)
		}
	}
}

// reachable lists the $ids of the schemas of docs/json-schemas, of the
// clean-up report's, and of the schemas they refer to, directly or not.
func (s *outputSchemas) reachable() []string {
	seen := map[string]bool{}
	var visit func(id string)
	visit = func(id string) {
		if seen[id] || s.docs[id] == nil {
			return
		}
		seen[id] = true
		base, _ := url.Parse(id)
		var walk func(node any)
		walk = func(node any) {
			switch n := node.(type) {
			case map[string]any:
				for k, v := range n {
					if r, ok := v.(string); ok && k == "$ref" {
						if u, err := url.Parse(r); err == nil {
							u = base.ResolveReference(u)
							u.Fragment = ""
							visit(u.String())
						}
					}
					walk(v)
				}
			case []any:
				for _, v := range n {
					walk(v)
				}
			}
		}
		walk(s.docs[id])
	}
	for id := range s.docs {
		if strings.HasPrefix(id, docsSchemaBase) {
			visit(id)
		}
	}
	// Written to a file, not stdout: apply --cleanup-report FILE.
	visit(schema.SchemaBase + "cleanup-report.schema.json")
	out := make([]string, 0, len(seen))
	for id := range seen {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

var camelCaseRE = regexp.MustCompile(`^[a-z][a-zA-Z0-9]*$`)

// camelCase reports whether k is a camelCase key: a lower-case letter
// first, then letters and digits.
func camelCase(k string) bool { return camelCaseRE.MatchString(k) }

// duplicateKeys returns the JSON pointers of the keys data repeats within
// one object (encoding/json keeps the last silently); data must be exactly
// one JSON value.
func duplicateKeys(data []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var dups []string
	var value func(ptr string) error
	value = func(ptr string) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				k := kt.(string)
				p := ptr + "/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(k)
				if seen[k] {
					dups = append(dups, p)
				}
				seen[k] = true
				if err := value(p); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				if err := value(ptr + "/" + strconv.Itoa(i)); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		}
		return nil
	}
	if err := value(""); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one JSON value")
	}
	return dups, nil
}

// logActionKeys are the log keys that are not camelCase: the plan's
// actions and the receipt's outcomes, which the summary lines count under
// their own names (as the JSON summaries do; the outcome left-alone is
// the action's name).
var logActionKeys = map[string]bool{
	string(plans.OpNoOp): true, string(plans.OpLeftAlone): true,
}

// checkJSONLogs checks the JSON log lines of stderr (those starting with
// '{'; others, such as the final error message, are not log lines): each
// is one JSON object that repeats no key, its keys camelCase (or an action
// name, see logActionKeys). It returns how many it checked, at least one.
func checkJSONLogs(stderr string) (int, error) {
	n := 0
	var problems []string
	for i, line := range strings.Split(stderr, "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		n++
		dups, err := duplicateKeys([]byte(line))
		if err != nil {
			problems = append(problems, fmt.Sprintf("line %d: %v: %s", i+1, err, line))
			continue
		}
		for _, d := range dups {
			problems = append(problems, fmt.Sprintf("line %d: key %q repeated: %s", i+1, strings.TrimPrefix(d, "/"), line))
		}
		var fields map[string]any
		if err := json.Unmarshal([]byte(line), &fields); err != nil {
			problems = append(problems, fmt.Sprintf("line %d: not a JSON object: %v", i+1, err))
		}
		for k := range fields {
			if !camelCase(k) && !logActionKeys[k] {
				problems = append(problems, fmt.Sprintf("line %d: key %q is not camelCase: %s", i+1, k, line))
			}
		}
	}
	if len(problems) > 0 {
		return n, errors.New(strings.Join(problems, "\n"))
	}
	if n == 0 {
		return 0, errors.New("no JSON log line on stderr (--log-format json)")
	}
	return n, nil
}
