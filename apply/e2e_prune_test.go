package apply

import (
	"context"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/apply/internal/planned"
	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/apply/render"
	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/snapshot"
	"github.com/octobundle/octobundle/schema"
	"github.com/octobundle/octobundle/tools/octosim"
	"github.com/octobundle/octobundle/translate"
)

// pruneDestination is the sample destination (whose OctoFX variables have
// destination-only entries) plus destination-only entities in the bundle
// project OctoFX (a step, an action, a channel and a runbook to prune, a
// channel its release creation strategy uses) and a link from the bundle
// tenant Acme Corp to the destination-only project DR Drills.
func pruneDestination(t *testing.T, version ...string) *sim {
	t.Helper()
	ctx := context.Background()
	o := octosim.Options{}
	if len(version) > 0 {
		o.ServerVersion = version[0]
	}
	dst := startSim(t, "destination.json", o)
	c := dst.c
	post := func(coll string, body map[string]any) map[string]any {
		doc, err := c.Post(ctx, c.SpacePath(coll, false), body)
		if err != nil {
			t.Fatal(err)
		}
		return doc
	}
	post("channels", map[string]any{"Name": "Hotfix", "ProjectId": "Projects-201", "Rules": []any{}, "TenantTags": []any{}})
	nightly := post("channels", map[string]any{"Name": "Nightly", "ProjectId": "Projects-201", "Rules": []any{}, "TenantTags": []any{}})
	post("runbooks", map[string]any{"Name": "Old Cleanup", "ProjectId": "Projects-201"})
	post("projecttriggers", map[string]any{"Name": "Old nightly deploy", "ProjectId": "Projects-201",
		"Filter": map[string]any{"FilterType": "CronExpressionSchedule", "CronExpression": "0 0 1 * * *", "Timezone": "UTC"},
		"Action": map[string]any{"ActionType": "DeployNewRelease", "EnvironmentId": "Environments-101"}})
	put := func(path string, edit func(map[string]any)) {
		doc, err := c.Get(ctx, c.SpacePath(path, false))
		if err != nil {
			t.Fatal(err)
		}
		edit(doc)
		if _, err := c.Put(ctx, c.SpacePath(path, false), doc); err != nil {
			t.Fatal(err)
		}
	}
	put("projects/Projects-201", func(d map[string]any) {
		d["ReleaseCreationStrategy"].(map[string]any)["ChannelId"] = nightly["Id"]
	})
	script := func(name string) map[string]any {
		return map[string]any{"Name": name, "ActionType": "Octopus.Script", "Environments": []any{}, "Channels": []any{},
			"Properties": map[string]any{"Octopus.Action.Script.ScriptBody": "echo " + name, "Octopus.Action.RunOnServer": "true"}}
	}
	put("deploymentprocesses/deploymentprocess-Projects-201", func(d map[string]any) {
		steps := d["Steps"].([]any)
		for _, st := range steps {
			if sm := st.(map[string]any); sm["Name"] == "Smoke Tests" {
				sm["Actions"] = append(sm["Actions"].([]any), script("Smoke Test Legacy"))
			}
		}
		d["Steps"] = append(steps, map[string]any{"Name": "Old step", "Condition": "Success", "StartTrigger": "StartAfterPrevious",
			"PackageRequirement": "LetOctopusDecide", "Properties": map[string]any{}, "Actions": []any{script("Old step")}})
	})
	proj, err := c.Get(ctx, c.SpacePath("projects/Projects-201", false))
	if err != nil {
		t.Fatal(err)
	}
	put("variables/"+proj["VariableSetId"].(string), func(d map[string]any) {
		d["Variables"] = append(d["Variables"].([]any), map[string]any{"Name": "Legacy.ApiKey", "Type": "Sensitive", "IsSensitive": true,
			"Value": "s3cret", "Scope": map[string]any{}})
	})
	put("tenants/Tenants-101", func(d map[string]any) {
		d["ProjectEnvironments"].(map[string]any)["Projects-202"] = []any{"Environments-103"}
	})
	return dst
}

// names lists "Kind a/b" for every destination entity of the kinds.
func destNames(t *testing.T, s *sim, kinds ...string) []string {
	t.Helper()
	snap := checkAllReferencesResolve(t, s)
	var out []string
	for _, k := range kinds {
		for _, e := range snap.Entities(k) {
			out = append(out, planned.Label(k, e.Names()))
		}
	}
	sort.Strings(out)
	return out
}

// elementNames lists the Name of every element of field in the bundle form
// of a destination entity (variables with their scope).
func elementNames(t *testing.T, s *sim, kind, field string, names ...string) []string {
	t.Helper()
	snap := checkAllReferencesResolve(t, s)
	e := snap.Find(kind, names...)
	if e == nil {
		t.Fatalf("no %s %v", kind, names)
	}
	form := exportEntity(t, snap, e).(map[string]any)
	var out []string
	for _, el := range form[field].([]any) {
		id, _ := bundles.Identify(el)
		out = append(out, id.Label)
	}
	return out
}

func TestPrune(t *testing.T) {
	ctx := context.Background()
	src := startSim(t, "source.json", octosim.Options{})
	full := fitBundle(t, exportBundle(t, src, false))
	// The bundle's OctoFX sets no release creation strategy: the
	// destination's (channel Nightly) stays in force, so Nightly stays.
	b := modified(t, full, schema.Project, []string{"OctoFX"}, func(d map[string]any) any {
		delete(d, "ReleaseCreationStrategy")
		return d
	})
	entities := []string{schema.Project, schema.Channel, schema.Runbook, schema.RunbookProcess, schema.ProjectTrigger, schema.Tenant, schema.Environment}

	// Without --prune nothing is removed.
	plain := pruneDestination(t)
	before := destNames(t, plain, entities...)
	p, r, err := Apply(ctx, plain.c, b, Options{Logger: testLogger()})
	if err != nil || r.Status() != plans.Succeeded {
		t.Fatalf("apply: %v %v", err, r.Status())
	}
	if p.Summary[plans.OpDelete] != 0 || r.Summary[plans.OutcomeDeleted] != 0 {
		t.Errorf("without --prune: %d deletes planned, %d done", p.Summary[plans.OpDelete], r.Summary[plans.OutcomeDeleted])
	}
	after := destNames(t, plain, entities...)
	for _, n := range before {
		if !slices.Contains(after, n) {
			t.Errorf("without --prune %s was removed", n)
		}
	}
	steps := elementNames(t, plain, schema.DeploymentProcess, "Steps", "OctoFX")
	if !slices.Contains(steps, `"Old step"`) {
		t.Errorf("without --prune the destination-only step is gone: %v", steps)
	}

	// --prune alone deletes what the source deleted since the last sync,
	// never the destination's own elements and entities.
	pruneOnly := pruneDestination(t)
	before = destNames(t, pruneOnly, entities...)
	p, r, err = Apply(ctx, pruneOnly.c, b, Options{Prune: true, Logger: testLogger()})
	if err != nil || r.Status() != plans.Succeeded {
		t.Fatalf("apply --prune: %v %v", err, r.Status())
	}
	if p.Summary[plans.OpDelete] != 0 {
		t.Errorf("--prune without a base: %d deletes planned", p.Summary[plans.OpDelete])
	}
	if steps := elementNames(t, pruneOnly, schema.DeploymentProcess, "Steps", "OctoFX"); !slices.Contains(steps, `"Old step"`) {
		t.Errorf("--prune removed the destination's own step: %v", steps)
	}
	for _, n := range before {
		if !slices.Contains(destNames(t, pruneOnly, entities...), n) {
			t.Errorf("--prune removed the destination's own %s", n)
		}
	}

	// With --remove-destination-only exactly the destination-only entries
	// of what the bundle owns go.
	dst := pruneDestination(t)
	before = destNames(t, dst, entities...)
	o := Options{RemoveDestinationOnly: true, Logger: testLogger()}
	p, err = MakePlan(ctx, dst.c, b, o)
	if err != nil {
		t.Fatal(err)
	}
	var deletes []string
	for _, ch := range p.Changes {
		if ch.Action == plans.OpDelete {
			deletes = append(deletes, ch.Label())
		}
	}
	if got, want := strings.Join(deletes, ", "), "Channel OctoFX/Hotfix, Runbook OctoFX/Old Cleanup, ProjectTrigger OctoFX/Old nightly deploy"; got != want {
		t.Errorf("deletes %q, want %q", got, want)
	}
	if !p.HasChanges() {
		t.Error("HasChanges false")
	}
	var text strings.Builder
	if err := render.Plan(&text, p); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`- delete  Channel "OctoFX"/"Hotfix"`,
		`- delete  Runbook "OctoFX"/"Old Cleanup"`,
		`- delete  ProjectTrigger "OctoFX"/"Old nightly deploy"`,
		`      - Steps["Old step"] (1 action: Octopus.Script)`,
		`      - Steps["Smoke Tests"].Actions["Smoke Test Legacy"] (Octopus.Script)`,
		`      - Variables["DR.Failover.Region" Environment=DR]: "eu-west-1"`,
		`      - Variables["Legacy.ApiKey"] (sensitive)`,
		`note: Channel OctoFX/Nightly kept: the project's release creation strategy uses it`,
		"to delete",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("the plan lacks %q:\n%s", want, text.String())
		}
	}
	var prunedSecrets []string
	for _, it := range p.Cleanup {
		if strings.Contains(it.Why, "removed by --remove-destination-only") {
			prunedSecrets = append(prunedSecrets, planned.Label(it.Kind, it.Names)+" "+it.Field)
		}
	}
	if got, want := strings.Join(prunedSecrets, ", "), `ProjectVariables OctoFX Variables["Legacy.ApiKey"]`; got != want {
		t.Errorf("clean-up items for pruned secrets %q, want %q", got, want)
	}
	r, err = Execute(ctx, dst.c, b, p, o)
	if err != nil || r.Status() != plans.Succeeded {
		var buf strings.Builder
		_ = render.Receipt(&buf, r)
		t.Fatalf("apply --prune: %v\n%s", err, buf.String())
	}
	after = destNames(t, dst, entities...)
	var gone []string
	for _, n := range before {
		if !slices.Contains(after, n) {
			gone = append(gone, n)
		}
	}
	if got, want := strings.Join(gone, ", "), "Channel OctoFX/Hotfix, ProjectTrigger OctoFX/Old nightly deploy, Runbook OctoFX/Old Cleanup, RunbookProcess OctoFX/Old Cleanup"; got != want {
		t.Errorf("removed %q, want %q", got, want)
	}
	steps = elementNames(t, dst, schema.DeploymentProcess, "Steps", "OctoFX")
	if got, want := strings.Join(steps, ", "), `"Deploy OctoFX Database", "Deploy OctoFX Web", "Deploy Rate Service", "Smoke Tests", "Invalidate CDN Cache", "Notify Slack", "Warm Legacy Cache"`; got != want {
		t.Errorf("OctoFX steps after --prune:\n got %s\nwant %s", got, want)
	}
	// The variable sets hold exactly the bundle's variables.
	for _, tc := range []struct{ kind, name string }{{schema.ProjectVariables, "OctoFX"}, {schema.LibraryVariables, "Common Variables"}} {
		have := elementNames(t, dst, tc.kind, "Variables", tc.name)
		doc, _ := b.Entity(schema.MustLookup(tc.kind), tc.name)
		var want []string
		for _, v := range doc.(map[string]any)["Variables"].([]any) {
			if sc, _ := v.(map[string]any)["Scope"].(map[string]any); sc["Machine"] != nil {
				continue // partial matches: their scope changes
			}
			id, _ := bundles.Identify(v)
			want = append(want, id.Label)
		}
		for _, h := range have {
			if !slices.Contains(want, h) && !strings.Contains(h, "Machine=") {
				t.Errorf("%s %s: %s kept after --prune", tc.kind, tc.name, h)
			}
		}
	}
	// DR Drills (not in the bundle) and Acme Corp's link to it stay.
	snap := checkAllReferencesResolve(t, dst)
	acme := exportEntity(t, snap, snap.Find(schema.Tenant, "Acme Corp")).(map[string]any)
	if pe := acme["ProjectEnvironments"].(map[string]any); pe["DR Drills"] == nil || pe["OctoFX"] == nil {
		t.Errorf("Acme Corp's links after --prune: %v", pe)
	}
	for _, n := range []string{"Project DR Drills", "Channel DR Drills/Default", "Runbook DR Drills/Fail Over to DR", "Channel OctoFX/Nightly", "Channel OctoFX/Default"} {
		if !slices.Contains(after, n) {
			t.Errorf("%s removed by --prune", n)
		}
	}

	// Replay: zero writes.
	dst.srv.ResetCounters()
	p, r, err = Apply(ctx, dst.c, b, o)
	if err != nil || r.Status() != plans.Succeeded || p.HasChanges() || dst.srv.Writes() != 0 {
		t.Errorf("replay --prune: %v, %s, changes %v, %d writes", err, r.Status(), p.HasChanges(), dst.srv.Writes())
	}
}

func exportEntity(t *testing.T, snap *snapshot.Snapshot, e *snapshot.Entity) any {
	t.Helper()
	if e == nil {
		t.Fatal("no such destination entity")
	}
	form, err := translate.ToBundle(snap, e)
	if err != nil {
		t.Fatal(err)
	}
	return form
}
