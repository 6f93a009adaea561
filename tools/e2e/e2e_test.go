package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/octobundle/octobundle/apply"
	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/export"
	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/schema"
)

// goldenDir is the golden bundle of the sample source instance
// (testdata/instances/source.json).
var goldenDir = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "golden", "source")
}()

var readGolden = sync.OnceValues(func() (*bundles.Bundle, error) {
	return bundles.Read(goldenDir, bundles.ReadOptions{})
})

// golden returns the golden bundle (read and verified once; shared, so
// never modified).
func golden(t *testing.T) *bundles.Bundle {
	t.Helper()
	b, err := readGolden()
	if err != nil {
		t.Fatalf("reading the golden bundle: %v", err)
	}
	return b
}

// suite is the end-to-end suite. Every test starts by applying the golden
// bundle, so each passes on its own, in any order, on a fresh space and on
// one it already ran against.
var suite = []struct {
	name string
	run  func(*testing.T, Target)
}{
	{"round trip", roundTrip},
	{"replay", replay},
	{"idempotent export", idempotentExport},
	{"secrets", secrets},
}

func TestE2ERoundTrip(t *testing.T)        { forEachTarget(t, roundTrip) }
func TestE2EReplay(t *testing.T)           { forEachTarget(t, replay) }
func TestE2EIdempotentExport(t *testing.T) { forEachTarget(t, idempotentExport) }
func TestE2ESecrets(t *testing.T)          { forEachTarget(t, secrets) }

// TestE2ESuiteTwice runs the whole suite twice against one simulator, as a
// live space sees it on its second `make test-live`: the second time the
// golden bundle is already there, the plan is a no-op and every test still
// passes.
func TestE2ESuiteTwice(t *testing.T) {
	tg := simTarget(t)
	for run := 1; run <= 2; run++ {
		t.Run(fmt.Sprintf("run %d", run), func(t *testing.T) {
			if run == 2 {
				t.Run("no-op plan", func(t *testing.T) {
					p := plan(t, tg, connect(t, tg, nil))
					if p.HasChanges() || p.HasErrors() {
						t.Errorf("the second run's plan is not a no-op: %s", changes(p))
					}
				})
			}
			for _, s := range suite {
				t.Run(s.name, func(t *testing.T) { s.run(t, tg) })
			}
		})
	}
}

// roundTrip applies the golden bundle, checks that a new plan has nothing
// left to do, exports the space and compares the export with the golden
// bundle entity by entity: the only differences are allowedDiffs.
func roundTrip(t *testing.T, tg Target) {
	c := connect(t, tg, nil)
	p := plan(t, tg, c)
	t.Logf("%s: plan %v", tg.Name, p.Summary)
	execute(t, tg, c, p)

	if again := plan(t, tg, connect(t, tg, nil)); again.HasChanges() || again.HasErrors() {
		t.Errorf("after apply, a new plan still has work: %s", changes(again))
	}

	got := exportSpace(t, connect(t, tg, nil))
	extra, unused := unexplained(bundleDiffs(golden(t), got.Bundle), allowedDiffs, tg.Live)
	for _, d := range extra {
		t.Errorf("unexplained difference between the golden bundle (-) and the export of the space (+): %s\n"+
			"  (if the destination legitimately owns it, add it to allowedDiffs with the reason)", d)
	}
	for _, a := range unused {
		t.Errorf("allowed difference %c %s %s (%s) did not occur: the allowed list is exact on the simulator", a.Op, a.Path, a.Field, a.Why)
	}
}

// replay applies the golden bundle, then applies it again and checks that
// the second apply wrote nothing: by its receipt, by a fresh client's
// count of successful POST/PUT/DELETE requests and, when the target can
// tell, by the server's own count.
func replay(t *testing.T, tg Target) {
	execute(t, tg, connect(t, tg, nil), nil)

	c := connect(t, tg, nil)
	before, counted := tg.Writes()
	p, r, err := apply.Apply(context.Background(), c, golden(t), applyOptions(tg))
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	if r.Status() != plans.Succeeded {
		t.Errorf("replay: status %s: %s", r.Status(), failures(r))
	}
	if p.HasChanges() {
		t.Errorf("replay: the plan has changes: %s", changes(p))
	}
	if r.Stats.Writes != 0 || c.Stats().Writes != 0 {
		t.Errorf("replay: %d writes by the receipt, %d by the client; want 0", r.Stats.Writes, c.Stats().Writes)
	}
	if counted {
		after, _ := tg.Writes()
		if after != before {
			t.Errorf("replay: the server counted %d writes; want 0", after-before)
		}
	}
	if c.Stats().Requests == 0 {
		t.Error("replay: the client sent no request at all")
	}
}

// idempotentExport applies the golden bundle, exports the space twice,
// writes both exports to disk, verifies them and compares their
// checksums.txt byte for byte.
func idempotentExport(t *testing.T, tg Target) {
	execute(t, tg, connect(t, tg, nil), nil)

	var sums [2][]byte
	for i := range sums {
		dir := filepath.Join(t.TempDir(), "bundle")
		if err := exportSpace(t, connect(t, tg, nil)).Bundle.Write(dir); err != nil {
			t.Fatal(err)
		}
		rep, err := bundles.Verify(dir)
		if err != nil {
			t.Fatalf("export %d does not verify: %v", i+1, err)
		}
		if rep.Files == 0 {
			t.Fatalf("export %d is empty", i+1)
		}
		if sums[i], err = os.ReadFile(filepath.Join(dir, bundles.ChecksumsFile)); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(sums[0], sums[1]) {
		t.Errorf("two exports of the same space differ:\n%s", lineDiff(sums[0], sums[1]))
	}
}

// secrets applies the golden bundle and exports the space through a
// recorder that scans every response of the server, and then scans every
// byte of the export: no placeholder secret or generated certificate may
// come back, and apply.PlaceholderPrefix may appear only in a placeholder
// certificate's X.509 subject (a real server shows the generated
// certificate's Organization there).
func secrets(t *testing.T, tg Target) {
	rec := newRecorder()
	c := connect(t, tg, rec)
	p := plan(t, tg, c)
	r := execute(t, tg, c, p)
	res := exportSpace(t, c)

	// Every certificate the apply created got a placeholder, so there were
	// secrets to find.
	created := map[string]bool{}
	for _, ch := range p.Changes {
		if ch.Kind == schema.Certificate && ch.Action == plans.OpCreate {
			created[strings.Join(ch.Names, "/")] = true
		}
	}
	for _, ci := range r.Cleanup {
		delete(created, strings.Join(ci.Names, "/"))
	}
	for n := range created {
		t.Errorf("certificate %s was created without a clean-up item for its placeholder", n)
	}

	responses, written, leaks := rec.counts()
	t.Logf("%s: scanned %d responses; %d requests wrote a secret", tg.Name, responses, written)
	if p.Summary[plans.OpCreate] > 0 && len(r.Cleanup) > 0 && written == 0 {
		t.Error("apply wrote placeholders, but the recorder saw no request with a secret: the scan is blind")
	}
	for _, l := range leaks {
		t.Errorf("the server echoed a secret: %s", l)
	}
	for _, w := range res.Warnings {
		if strings.Contains(w, "secret") {
			t.Errorf("export: %s", w)
		}
	}

	b := res.Bundle
	for _, e := range b.Entries() {
		raw, _ := b.Raw(e.Path)
		if m := marker(raw); m != "" {
			t.Errorf("export %s holds %q", e.Path, m)
		}
		walkStrings(e.Doc, "", func(at, s string) {
			if strings.Contains(s, apply.PlaceholderPrefix) && !(e.Kind.Name == schema.Certificate && isX509Subject(at)) {
				t.Errorf("export %s: %s holds %s", e.Path, at, apply.PlaceholderPrefix)
			}
		})
	}
	for _, f := range []string{bundles.ManifestFile, bundles.ChecksumsFile} {
		raw, _ := b.Raw(f)
		if bytes.Contains(raw, []byte(apply.PlaceholderPrefix)) || marker(raw) != "" {
			t.Errorf("export %s holds a placeholder", f)
		}
	}
}

// isX509Subject reports whether the top-level certificate field at holds
// X.509 subject or issuer text.
func isX509Subject(at string) bool {
	return strings.HasPrefix(at, "/Subject") || strings.HasPrefix(at, "/Issuer")
}

// walkStrings calls fn with the JSON pointer and value of every string in
// doc, object keys included.
func walkStrings(doc any, at string, fn func(at, s string)) {
	switch v := doc.(type) {
	case string:
		fn(at, v)
	case map[string]any:
		for k, x := range v {
			fn(at+"/"+k, k)
			walkStrings(x, at+"/"+k, fn)
		}
	case []any:
		for i, x := range v {
			walkStrings(x, fmt.Sprintf("%s/%d", at, i), fn)
		}
	}
}

// plan plans the golden bundle against the target; a plan error or an
// entity that cannot be applied fails the test.
func plan(t *testing.T, tg Target, c *octopus.Client) *plans.Plan {
	t.Helper()
	p, err := apply.MakePlan(context.Background(), c, golden(t), applyOptions(tg))
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	if p.HasErrors() {
		t.Fatalf("plan: some entities cannot be applied: %s", changes(p))
	}
	return p
}

// execute executes p (a new plan when nil) and requires it to succeed.
func execute(t *testing.T, tg Target, c *octopus.Client, p *plans.Plan) *plans.Receipt {
	t.Helper()
	if p == nil {
		p = plan(t, tg, c)
	}
	r, err := apply.Execute(context.Background(), c, golden(t), p, applyOptions(tg))
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	if r.Status() != plans.Succeeded {
		t.Fatalf("apply: status %s: %s", r.Status(), failures(r))
	}
	return r
}

// exportSpace exports the client's space as export would, at a fixed time
// so two exports of the same state are byte for byte the same.
func exportSpace(t *testing.T, c *octopus.Client) *export.Result {
	t.Helper()
	res, err := export.Run(context.Background(), c, export.Options{
		ToolVersion: "e2e",
		Now:         func() time.Time { return time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC) },
	})
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	return res
}

// changes lists a plan's creates, updates, deletes and errors for a message.
func changes(p *plans.Plan) string {
	var out []string
	for _, ch := range p.Changes {
		switch ch.Action {
		case plans.OpNoOp, plans.OpLeftAlone:
			continue
		}
		line := fmt.Sprintf("%s %s", ch.Action, ch.Label())
		for _, d := range ch.Diff {
			line += " " + d.Label
		}
		if ch.Error != "" {
			line += ": " + ch.Error
		}
		out = append(out, line)
	}
	return fmt.Sprintf("%v\n  %s", p.Summary, strings.Join(out, "\n  "))
}

// failures lists a receipt's failed and skipped entities.
func failures(r *plans.Receipt) string {
	var out []string
	for _, res := range r.Results {
		if res.Outcome == plans.OutcomeFailed || res.Outcome == plans.OutcomeSkipped {
			out = append(out, fmt.Sprintf("%s %s %s: %s", res.Outcome, res.Kind, strings.Join(res.Names, "/"), res.Error))
		}
	}
	return fmt.Sprintf("%v\n  %s", r.Summary, strings.Join(out, "\n  "))
}

// lineDiff lists the lines only in a (-) or only in b (+).
func lineDiff(a, b []byte) string {
	count := map[string]int{}
	for _, l := range strings.Split(string(a), "\n") {
		count[l]++
	}
	for _, l := range strings.Split(string(b), "\n") {
		count[l]--
	}
	var out []string
	for l, n := range count {
		switch {
		case n > 0:
			out = append(out, "- "+l)
		case n < 0:
			out = append(out, "+ "+l)
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}
