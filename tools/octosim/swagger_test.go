package octosim

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/schema"
)

var updateInventory = flag.Bool("update-inventory", false, "rewrite the SWAGGER-INVENTORY section of docs/simulator.md")

// apiOp is one operation of the server's API description: a method and a
// path below /api ("/{baseSpaceId}/projects/{id}").
type apiOp struct {
	Method, Path string
	// From lists the descriptions it is in ("2020.5", "2021.2", or the
	// source of a hand-listed path).
	From []string
}

// opKey identifies an operation across descriptions that name the same
// path parameter differently ({id}, {projectId}) or case a segment
// differently (runbookRuns, runbookruns).
func opKey(method, path string) string {
	segs := strings.Split(strings.ToLower(path), "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") {
			segs[i] = "{}"
		}
	}
	return method + " " + strings.Join(segs, "/")
}

// loadAPIOps reads the three sources of the inventory: the 2020.5
// description shipped in the go-octopusdeploy module, the 2021.2 one from
// java-octopus-deploy (testdata/swagger/2021.2.tsv), and the later paths
// listed by hand (testdata/swagger/since-2021.2.tsv). A path served both
// with and without a space ID counts once, in its space form.
func loadAPIOps(t *testing.T) []*apiOp {
	t.Helper()
	byKey := map[string]*apiOp{}
	var order []string
	add := func(method, path, from string) {
		path = strings.TrimPrefix(path, "/api")
		if path == "" || path == "/" || strings.HasPrefix(path, "/.well-known") {
			return
		}
		k := opKey(method, path)
		op := byKey[k]
		if op == nil {
			op = &apiOp{Method: method, Path: path}
			byKey[k] = op
			order = append(order, k)
		}
		if !slices.Contains(op.From, from) {
			op.From = append(op.From, from)
		}
	}

	dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/OctopusDeploy/go-octopusdeploy/v2").Output()
	if err != nil {
		t.Fatalf("finding the go-octopusdeploy module: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(dir)), "api", "octopus_deploy.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sw struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(b, &sw); err != nil {
		t.Fatalf("api/octopus_deploy.json: %v", err)
	}
	for p, methods := range sw.Paths {
		for m := range methods {
			if m != "parameters" {
				add(strings.ToUpper(m), p, "2020.5")
			}
		}
	}
	readTSV(t, "testdata/swagger/2021.2.tsv", func(f []string) { add(f[0], f[1], "2021.2") })
	readTSV(t, "testdata/swagger/since-2021.2.tsv", func(f []string) {
		if len(f) < 3 {
			t.Fatalf("since-2021.2.tsv: %q has no source", strings.Join(f, "\t"))
		}
		add(f[0], f[1], "by hand")
	})

	// The space form wins: /projects/{id} is the legacy URL of
	// /{baseSpaceId}/projects/{id}.
	var out []*apiOp
	for _, k := range order {
		op := byKey[k]
		if !strings.HasPrefix(op.Path, "/{baseSpaceId}/") && byKey[opKey(op.Method, "/{baseSpaceId}"+op.Path)] != nil {
			continue
		}
		out = append(out, op)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return methodRank(out[i].Method) < methodRank(out[j].Method)
	})
	return out
}

func readTSV(t *testing.T, name string, each func([]string)) {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, "\t")
		if len(fields) < 2 {
			t.Fatalf("%s:%d: want METHOD<TAB>PATH, got %q", name, n, line)
		}
		each(fields)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

func methodRank(m string) int {
	return slices.Index([]string{"GET", "POST", "PUT", "DELETE"}, m)
}

// opGroup is the resource an operation belongs to: the first segment
// after the space ("/{baseSpaceId}/projects/…" → "projects";
// "/spaces/{spaceId}/parentEnvironments" → "parentenvironments").
func opGroup(path string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	if len(segs) > 2 && segs[0] == "spaces" && strings.EqualFold(segs[1], "{spaceId}") {
		segs = segs[2:]
	}
	if strings.HasPrefix(segs[0], "{") && len(segs) > 1 {
		segs = segs[1:]
	}
	return strings.ToLower(segs[0])
}

// syncGroups are the resources a sync touches: every collection of the
// kind registry and the first segment of every kind's read paths, and
// what a sync copies or promotes that the registry does not hold yet.
func syncGroups() map[string]string {
	g := map[string]string{}
	for _, k := range schema.Kinds() {
		if k.Collection != "" {
			g[strings.ToLower(k.Collection)] = "registry: " + k.Name
		}
		for _, p := range []string{k.Read, k.ReadAll} {
			if p != "" {
				seg := strings.ToLower(strings.SplitN(p, "/", 2)[0])
				if g[seg] == "" {
					g[seg] = "registry: " + k.Name
				}
			}
		}
	}
	for name, why := range map[string]string{
		"git-credentials":    "copied with version-controlled projects",
		"proxies":            "referred to by deployment targets and feeds",
		"subscriptions":      "configuration a sync copies",
		"deploymentfreezes":  "configuration a sync copies",
		"retentionpolicies":  "space configuration a sync copies",
		"users":              "team members",
		"spaces":             "the space itself",
		"tasks":              "what a deployment or a runbook run is",
		"packages":           "release promotion: the packages a release uses",
		"build-information":  "release promotion",
		"runbook-runs":       "release promotion: runbook runs",
		"configuration":      "feature toggles decide the tenant variable shape",
		"deploymentsettings": "registry: DeploymentSettings, by their own ID",
	} {
		if g[name] == "" {
			g[name] = why
		}
	}
	return g
}

// probe is what the simulator answered one operation.
type probe int

const (
	probeServed probe = iota
	probeNotServed
	// probeNoSample: the path needs an entity the sample instance does not
	// have, and the answer was 404, so whether the route exists is unknown.
	probeNoSample
)

// TestSwaggerInventory lists, for every operation of the server's API
// descriptions, whether the simulator serves it, and keeps the table in
// docs/simulator.md (between the SWAGGER-INVENTORY markers) true: a change
// to what the simulator serves fails here until the table is rewritten
// with -update-inventory.
//
// Each operation is sent to a simulator holding the sample instance, at
// the newest conformance version: path parameters after a collection get
// the ID of one of its entities, others a placeholder; reads first, then
// POST and PUT with an empty object, then DELETE. An operation is served
// unless the answer is 405, 501, or a 404 that names the request path
// (the router's answer for a path it does not know; a 404 naming an ID is
// a missing entity on a served route).
func TestSwaggerInventory(t *testing.T) {
	ops := loadAPIOps(t)
	if len(ops) < 500 {
		t.Fatalf("only %d operations in the API descriptions", len(ops))
	}
	seed, err := LoadSeed("../../testdata/instances/source.json")
	if err != nil {
		t.Fatal(err)
	}
	v := ConformanceVersions[len(ConformanceVersions)-1]
	f := newFixture(t, Options{ServerVersion: v, Seed: seed})
	ids := map[string]string{}
	idFor := func(coll string) string {
		if id, ok := ids[coll]; ok {
			return id
		}
		id := sampleID(f, coll)
		ids[coll] = id
		return id
	}
	results := make([]probe, len(ops))
	for _, method := range []string{"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"} {
		for i, op := range ops {
			if op.Method != method {
				continue
			}
			path, sampled := expandOp(op.Path, idFor)
			var body any
			if method == "POST" || method == "PUT" || method == "PATCH" {
				body = map[string]any{}
			}
			resp := f.raw(method, "/api"+path, testKey, body)
			results[i] = classify(resp, "/api"+path, sampled)
		}
	}

	groups := syncGroups()
	// Every operation of a synced registry collection's basic CRUD must be
	// served.
	crud := 0
	for _, k := range schema.Kinds() {
		if k.Collection == "" || k.Policy == schema.PolicyNever {
			continue
		}
		for i, op := range ops {
			if !isCRUD(op.Path, k.Collection) {
				continue
			}
			crud++
			if results[i] == probeNotServed {
				t.Errorf("%s %s: the simulator does not serve it, and %s are synced", op.Method, op.Path, k.Title)
			}
		}
	}
	if crud < 80 {
		t.Errorf("only %d list, get, create, update and delete operations of synced collections in the API descriptions", crud)
	}

	table := renderInventory(ops, results, groups, v)
	doc := filepath.Join("..", "..", "docs", "simulator.md")
	b, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- SWAGGER-INVENTORY:BEGIN", "<!-- SWAGGER-INVENTORY:END -->"
	s := string(b)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("%s has no SWAGGER-INVENTORY markers", doc)
	}
	if s[i:j+len(end)] == table {
		return
	}
	if *updateInventory {
		if err := os.WriteFile(doc, []byte(s[:i]+table+s[j+len(end):]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("the API inventory in %s is out of date; rewrite it with\n\tgo test ./tools/octosim -run TestSwaggerInventory -update-inventory", doc)
}

// isCRUD reports whether path is the list, the item or /all of coll.
func isCRUD(path, coll string) bool {
	p := strings.ToLower(strings.TrimPrefix(path, "/{baseSpaceId}"))
	c := "/" + strings.ToLower(coll)
	if p == c || p == c+"/all" {
		return true
	}
	rest, ok := strings.CutPrefix(p, c+"/{")
	return ok && strings.HasSuffix(rest, "}") && !strings.Contains(rest, "/")
}

// sampleID returns the ID of one entity of coll in the sample instance:
// listed in the space or at the server level, or, for a singleton
// collection of the registry (deploymentprocesses/{DeploymentProcessId}),
// read from its owner. "" if there is none. The entity is the oldest of
// the first page (lists are sorted by name or ID, so the first item is not
// the first created, which the sample instance gives the most parts).
func sampleID(f *fixture, coll string) string {
	for _, prefix := range []string{"/api/Spaces-1/", "/api/"} {
		r := f.raw("GET", prefix+coll, testKey, nil)
		if r.status != http.StatusOK {
			continue
		}
		var pg struct{ Items []map[string]any }
		if json.Unmarshal(r.body, &pg) == nil && len(pg.Items) > 0 {
			if id := str(oldest(pg.Items)["Id"]); id != "" {
				return id
			}
		}
	}
	for _, k := range schema.Kinds() {
		read := strings.Split(k.Read, "/")
		if len(read) != 2 || !strings.EqualFold(read[0], coll) || k.Parent == "" {
			continue
		}
		owner := schema.MustLookup(k.Parent).Collection
		if owner == "" {
			continue
		}
		r := f.raw("GET", "/api/Spaces-1/"+owner, testKey, nil)
		var pg struct{ Items []map[string]any }
		if r.status == http.StatusOK && json.Unmarshal(r.body, &pg) == nil && len(pg.Items) > 0 {
			if id := str(oldest(pg.Items)[strings.Trim(read[1], "{}")]); id != "" {
				return id
			}
		}
	}
	return ""
}

// oldest returns the item with the lowest ID number ("Projects-2" before
// "Projects-10"), the first of items when no ID ends in a number.
func oldest(items []map[string]any) map[string]any {
	num := func(d map[string]any) int {
		id := str(d["Id"])
		n, err := strconv.Atoi(id[strings.LastIndex(id, "-")+1:])
		if err != nil {
			return 1 << 30
		}
		return n
	}
	best := items[0]
	for _, d := range items[1:] {
		if num(d) < num(best) {
			best = d
		}
	}
	return best
}

// expandOp fills an operation's path parameters: the space, an entity ID
// after a collection segment, "1.0.0" for versions and "x" otherwise. It
// reports whether every ID came from the sample instance.
func expandOp(path string, idFor func(string) string) (string, bool) {
	segs := strings.Split(path, "/")
	sampled := true
	for i, s := range segs {
		if !strings.HasPrefix(s, "{") {
			continue
		}
		name := strings.ToLower(strings.Trim(s, "{}"))
		switch {
		case name == "basespaceid" || name == "spaceid":
			segs[i] = "Spaces-1"
		case strings.Contains(name, "version"):
			segs[i] = "1.0.0"
			sampled = false
		case i > 0 && !strings.HasPrefix(segs[i-1], "{") && segs[i-1] != "":
			id := idFor(segs[i-1])
			if id == "" {
				id, sampled = "x-1", false
			}
			segs[i] = id
		default:
			segs[i], sampled = "x", false
		}
	}
	return strings.Join(segs, "/"), sampled
}

func classify(r rawResp, path string, sampled bool) probe {
	switch r.status {
	case http.StatusMethodNotAllowed, http.StatusNotImplemented:
		return probeNotServed
	case http.StatusNotFound:
		var e struct{ ErrorMessage string }
		_ = json.Unmarshal(r.body, &e)
		if strings.Contains(strings.ToLower(e.ErrorMessage), "'"+strings.ToLower(strings.TrimSuffix(path, "/"))+"'") {
			return probeNotServed
		}
		if !sampled {
			return probeNoSample
		}
	}
	return probeServed
}

// renderInventory writes the docs section: a row per resource, then every
// operation of a resource a sync touches that is not served.
func renderInventory(ops []*apiOp, results []probe, groups map[string]string, version string) string {
	type count struct{ ops, served, not, unknown int }
	counts := map[string]*count{}
	var names []string
	total := count{}
	for i, op := range ops {
		g := opGroup(op.Path)
		c := counts[g]
		if c == nil {
			c = &count{}
			counts[g] = c
			names = append(names, g)
		}
		for _, c := range []*count{c, &total} {
			c.ops++
			switch results[i] {
			case probeServed:
				c.served++
			case probeNotServed:
				c.not++
			default:
				c.unknown++
			}
		}
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("<!-- SWAGGER-INVENTORY:BEGIN (written by go test ./tools/octosim -run TestSwaggerInventory -update-inventory; do not edit by hand) -->\n\n")
	fmt.Fprintf(&b, "%d operations (2020.5: `api/octopus_deploy.json` of go-octopusdeploy; 2021.2: java-octopus-deploy's `spec/swagger.json`; later paths by hand in `tools/octosim/testdata/swagger/since-2021.2.tsv`), probed at %s: %d served, %d not served, %d need an entity the sample instance lacks.\n\n",
		total.ops, version, total.served, total.not, total.unknown)
	b.WriteString("| resource | a sync touches it | operations | served | not served | no sample |\n|---|---|---|---|---|---|\n")
	for _, g := range names {
		c := counts[g]
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %d |\n", g, groups[g], c.ops, c.served, c.not, c.unknown)
	}
	b.WriteString("\nNot served, in the resources a sync touches:\n\n| operation | described in |\n|---|---|\n")
	for i, op := range ops {
		if results[i] == probeNotServed && groups[opGroup(op.Path)] != "" {
			fmt.Fprintf(&b, "| `%s %s` | %s |\n", op.Method, op.Path, strings.Join(op.From, ", "))
		}
	}
	b.WriteString("\n<!-- SWAGGER-INVENTORY:END -->")
	return b.String()
}

// TestDifferencesTableNamesTests: every test the differences table of
// docs/simulator.md names is a test function of this package, so the
// table cannot point at a test that was renamed or removed.
func TestDifferencesTableNamesTests(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "simulator.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	i := strings.Index(text, "## Where the simulator differed from a real server")
	if i < 0 {
		t.Fatal("docs/simulator.md has no differences table")
	}
	table := text[i:]
	if j := strings.Index(table[2:], "\n## "); j >= 0 {
		table = table[:j+2]
	}
	funcs := map[string]bool{}
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(src), "\n") {
			if name, ok := strings.CutPrefix(line, "func Test"); ok {
				funcs["Test"+name[:strings.IndexAny(name, "(")]] = true
			}
		}
	}
	rows := 0
	for _, line := range strings.Split(table, "\n") {
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| #") {
			continue
		}
		rows++
		cells := strings.Split(line, "|")
		named := 0
		for _, f := range strings.Split(cells[len(cells)-2], ",") {
			name := strings.Trim(strings.TrimSpace(f), "`")
			if name == "" {
				continue
			}
			named++
			if !funcs[name] {
				t.Errorf("the differences table names %s, which is no test of tools/octosim", name)
			}
		}
		if named == 0 {
			t.Errorf("a row names no test: %s", line)
		}
	}
	if rows != 10 {
		t.Errorf("%d rows, want the ten differences", rows)
	}
}
