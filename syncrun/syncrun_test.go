package syncrun_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/octobundle/octobundle/apply"
	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/export"
	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/internal/state"
	"github.com/octobundle/octobundle/syncrun"
	"github.com/octobundle/octobundle/tools/octosim"
	"github.com/octobundle/octobundle/tools/octosim/simtest"
	"github.com/octobundle/octobundle/transform"
)

// exportedAt is when the test bundles were exported.
var exportedAt = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// testdata is the repository's testdata folder.
func testdata(t testing.TB, elem ...string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(append([]string{filepath.Dir(filepath.Dir(file)), "testdata"}, elem...)...)
}

// startSim serves the sample instance seed over loopback HTTP and
// connects a client to it.
func startSim(t testing.TB, seed string) (*octosim.Server, *octopus.Client) {
	t.Helper()
	inst, err := octosim.LoadSeed(testdata(t, "instances", seed))
	if err != nil {
		t.Fatal(err)
	}
	srv, url := simtest.Start(t, octosim.Options{Seed: inst})
	cl, err := octopus.Connect(context.Background(), octopus.Config{
		URL: url, APIKey: srv.APIKey(),
		Retry: octopus.Retry{Attempts: 3, Base: 5 * time.Millisecond, Max: 20 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	return srv, cl
}

// bundlesOf exports the sample source and returns the export as is and
// fitted to the sample destination by the sample rule file (what the
// demo applies).
func bundlesOf(t testing.TB) (raw, fitted *bundles.Bundle) {
	t.Helper()
	_, cl := startSim(t, "source.json")
	res, err := export.Run(context.Background(), cl, export.Options{ToolVersion: "test", Now: func() time.Time { return exportedAt }})
	if err != nil {
		t.Fatal(err)
	}
	rf, err := transform.ReadRuleFile(testdata(t, "rules", "staging-production.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	fitted, _, err = transform.Transform(res.Bundle, []*transform.RuleFile{rf}, transform.Options{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	return res.Bundle, fitted
}

// dest is a fresh sample destination with a state folder of its own.
type dest struct {
	srv   *octosim.Server
	cl    *octopus.Client
	d     *syncrun.Destination
	state string // the state directory
}

func newDest(t *testing.T) *dest {
	t.Helper()
	srv, cl := startSim(t, "destination.json")
	root := t.TempDir()
	d, err := syncrun.Open(root, cl)
	if err != nil {
		t.Fatal(err)
	}
	return &dest{srv: srv, cl: cl, d: d, state: root}
}

// other opens the same destination with the state directory root.
func (x *dest) other(t *testing.T, root string) *syncrun.Destination {
	t.Helper()
	d, err := syncrun.Open(root, x.cl)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// hold takes d's lock for the rest of the test.
func hold(t *testing.T, d *syncrun.Destination) {
	t.Helper()
	if err := d.Lock(false, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Unlock(nil) })
}

// deadPID is the ID of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.ProcessState.Pid()
}

// TestApply runs the sequence lock → base → plan → apply → record against
// a simulator over loopback HTTP, and checks for each way it can go what
// reached the destination and what the state kept.
func TestApply(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // the host's lock registry
	raw, fitted := bundlesOf(t)
	broken := fitted.Clone()
	if !broken.Remove("project-groups/Operations.json") {
		t.Fatal("the fitted bundle has no project group Operations")
	}
	host, _ := os.Hostname()

	tests := []struct {
		name string
		// setup prepares the destination and returns the options.
		setup func(t *testing.T, x *dest) syncrun.ApplyOptions
		// stateless applies without a state folder (the demo).
		stateless bool
		// broken applies a bundle whose plan has an error (a project
		// group gone that projects are in).
		broken  bool
		wantErr string // in the error; "" none
		// wantIs is an error the error must be (errors.Is), if set.
		wantIs error
		// wantWrites: the destination saw writes.
		wantWrites bool
		// wantBase: the state holds a merge base afterwards.
		wantBase bool
		// wantFinish: the state's manifest recorded this bundle.
		wantFinish bool
		// wantLog is in the log, if set.
		wantLog string
	}{
		{
			name:       "first apply records the base",
			setup:      func(*testing.T, *dest) syncrun.ApplyOptions { return syncrun.ApplyOptions{} },
			wantWrites: true, wantBase: true, wantFinish: true,
		},
		{
			name: "locked in the same state folder",
			setup: func(t *testing.T, x *dest) syncrun.ApplyOptions {
				hold(t, x.other(t, x.state))
				return syncrun.ApplyOptions{}
			},
			wantIs: state.ErrLocked, wantErr: "wait for it to finish",
		},
		{
			name: "locked with another state folder (the host's registry)",
			setup: func(t *testing.T, x *dest) syncrun.ApplyOptions {
				hold(t, x.other(t, t.TempDir()))
				return syncrun.ApplyOptions{}
			},
			wantIs: state.ErrLocked, wantErr: "another state folder",
		},
		{
			name: "force takes a held lock",
			setup: func(t *testing.T, x *dest) syncrun.ApplyOptions {
				hold(t, x.other(t, x.state))
				return syncrun.ApplyOptions{ForceUnlock: true}
			},
			wantWrites: true, wantBase: true, wantFinish: true, wantLog: "took over a stale lock",
		},
		{
			name: "a stale lock is taken over",
			setup: func(t *testing.T, x *dest) syncrun.ApplyOptions {
				li := `{"pid":` + strconv.Itoa(deadPID(t)) + `,"host":"` + host + `","since":"2025-01-01T00:00:00Z"}`
				if err := os.MkdirAll(x.d.State.Dir(), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(x.d.State.Dir(), state.LockFile), []byte(li), 0o600); err != nil {
					t.Fatal(err)
				}
				return syncrun.ApplyOptions{}
			},
			wantWrites: true, wantBase: true, wantFinish: true, wantLog: "took over a stale lock",
		},
		{
			name: "a saved plan for another bundle is refused",
			setup: func(t *testing.T, x *dest) syncrun.ApplyOptions {
				p, err := x.other(t, t.TempDir()).Plan(context.Background(), raw, syncrun.PlanOptions{})
				if err != nil {
					t.Fatal(err)
				}
				return syncrun.ApplyOptions{Saved: p}
			},
			wantIs: apply.ErrPlanMismatch, wantErr: "different bundle",
		},
		{
			name:    "a plan with errors is refused",
			broken:  true,
			setup:   func(*testing.T, *dest) syncrun.ApplyOptions { return syncrun.ApplyOptions{} },
			wantIs:  apply.ErrPlanHasErrors,
			wantErr: "nothing was written",
		},
		{
			name:       "AllowErrors applies the rest",
			broken:     true,
			setup:      func(*testing.T, *dest) syncrun.ApplyOptions { return syncrun.ApplyOptions{AllowErrors: true} },
			wantWrites: true, wantBase: true, wantFinish: true,
		},
		{
			name: "a failing report stops before the manifest",
			setup: func(*testing.T, *dest) syncrun.ApplyOptions {
				return syncrun.ApplyOptions{Report: func(*plans.Receipt) error { return errors.New("report failed") }}
			},
			wantErr: "report failed", wantWrites: true, wantBase: true,
		},
		{
			name: "an older bundle is refused",
			setup: func(t *testing.T, x *dest) syncrun.ApplyOptions {
				later(t, x, fitted)
				return syncrun.ApplyOptions{}
			},
			wantErr: "rollback refused: the bundle (" + fitted.Digest() + ") was exported 2025-01-02T03:04:05Z",
		},
		{
			name: "an older bundle with AllowRollback",
			setup: func(t *testing.T, x *dest) syncrun.ApplyOptions {
				later(t, x, fitted)
				return syncrun.ApplyOptions{PlanOptions: syncrun.PlanOptions{Merge: syncrun.Merge{AllowRollback: true}}}
			},
			wantWrites: true, wantBase: true, wantFinish: true, wantLog: "applying an older bundle",
		},
		{
			name: "a wrong option word",
			setup: func(*testing.T, *dest) syncrun.ApplyOptions {
				return syncrun.ApplyOptions{PlanOptions: syncrun.PlanOptions{Merge: syncrun.Merge{OnLostScope: "keep"}}}
			},
			wantErr: `--on-lost-scope must be drop or unscope, not "keep"`,
		},
		{
			name:       "without a state nothing is recorded",
			stateless:  true,
			setup:      func(*testing.T, *dest) syncrun.ApplyOptions { return syncrun.ApplyOptions{} },
			wantWrites: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := newDest(t)
			o := tt.setup(t, x)
			var logs bytes.Buffer
			o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			b := fitted
			if tt.broken {
				b = broken
			}
			d := x.d
			if tt.stateless {
				d = &syncrun.Destination{Client: x.cl}
			}
			x.srv.ResetCounters()
			rec, err := d.Apply(context.Background(), b, o)
			switch {
			case tt.wantErr == "" && tt.wantIs == nil && err != nil:
				t.Fatalf("apply: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("apply: error %v, want one saying %q", err, tt.wantErr)
			case tt.wantIs != nil && !errors.Is(err, tt.wantIs):
				t.Fatalf("apply: error %v, want %v", err, tt.wantIs)
			case err == nil && rec == nil:
				t.Fatal("apply: no receipt and no error")
			}
			if got := x.srv.Writes() > 0; got != tt.wantWrites {
				t.Errorf("destination written: %v (%d writes), want %v", got, x.srv.Writes(), tt.wantWrites)
			}
			if d.Locked() {
				t.Error("the lock is still held after Apply")
			}
			base, _, err := x.d.State.Base()
			if err != nil {
				t.Fatal(err)
			}
			if got := base != nil; got != tt.wantBase {
				t.Errorf("base recorded: %v, want %v", got, tt.wantBase)
			}
			m, err := x.d.State.Manifest()
			if err != nil {
				t.Fatal(err)
			}
			if got := m != nil && m.BundleDigest == b.Digest(); got != tt.wantFinish {
				t.Errorf("manifest records the bundle: %v (%+v), want %v", got, m, tt.wantFinish)
			}
			if tt.wantLog != "" && !strings.Contains(logs.String(), tt.wantLog) {
				t.Errorf("the log lacks %q:\n%s", tt.wantLog, logs.String())
			}
			if tt.stateless {
				if _, err := os.Stat(x.state); err == nil {
					if entries, _ := os.ReadDir(x.state); len(entries) > 0 {
						t.Errorf("a stateless apply wrote to the state directory: %v", entries)
					}
				}
			}
		})
	}
}

// later records in x's state a bundle from b's source exported an hour
// after b.
func later(t *testing.T, x *dest, b *bundles.Bundle) {
	t.Helper()
	a := state.Applied{Digest: "sha256:later", Source: b.Manifest.Source, ExportedAt: exportedAt.Add(time.Hour)}
	if err := x.d.State.Finish(a, time.Now()); err != nil {
		t.Fatal(err)
	}
}

// setVar changes the value of a project variable on the destination, as
// an administrator does by hand (GET, change, PUT).
func setVar(t *testing.T, cl *octopus.Client, project, name, value string) {
	t.Helper()
	ctx := context.Background()
	projects, err := cl.List(ctx, cl.SpacePath("projects", false), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range projects {
		if p["Name"] != project {
			continue
		}
		path := cl.SpacePath("variables/"+p["VariableSetId"].(string), false)
		doc, err := cl.Get(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range doc["Variables"].([]any) {
			if m := v.(map[string]any); m["Name"] == name {
				m["Value"] = value
			}
		}
		if _, err := cl.Put(ctx, path, doc); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("no project %s", project)
}

// TestRecurring syncs one destination again and again, as a pipeline
// does: each step's plan mode, whether it differs, and what drift sees.
func TestRecurring(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	_, b := bundlesOf(t)
	x := newDest(t)
	ctx := context.Background()

	if _, err := x.d.Drift(ctx, syncrun.Read{}); !errors.Is(err, syncrun.ErrNothingApplied) {
		t.Fatalf("drift before any apply: %v, want ErrNothingApplied", err)
	}
	steps := []struct {
		name string
		// act changes the destination before the step, if set.
		act       func(t *testing.T)
		wantMode  string
		wantDiff  bool
		wantDrift bool
	}{
		{name: "first sync", wantMode: "two-way", wantDiff: true},
		{name: "replay", wantMode: "three-way"},
		{name: "changed by hand", act: func(t *testing.T) {
			setVar(t, x.cl, "OctoFX", "OctoFX.ReleaseNote", "set by hand")
		}, wantMode: "three-way", wantDrift: true},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if s.act != nil {
				s.act(t)
			}
			p, err := x.d.Plan(ctx, b, syncrun.PlanOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if p.Mode != s.wantMode || p.Differs() != s.wantDiff {
				t.Errorf("plan: mode %s, differs %v; want %s, %v", p.Mode, p.Differs(), s.wantMode, s.wantDiff)
			}
			if _, err := x.d.Drift(ctx, syncrun.Read{}); s.name == "first sync" && !errors.Is(err, syncrun.ErrNothingApplied) {
				t.Errorf("drift: %v, want ErrNothingApplied", err)
			}
			if s.name != "first sync" {
				r, err := x.d.Drift(ctx, syncrun.Read{})
				if err != nil {
					t.Fatal(err)
				}
				if r.HasDrift() != s.wantDrift {
					t.Errorf("drift: %v, want %v", r.HasDrift(), s.wantDrift)
				}
			}
			x.srv.ResetCounters()
			rec, err := x.d.Apply(ctx, b, syncrun.ApplyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if rec.Status() != plans.Succeeded {
				t.Fatalf("apply %s", rec.Status())
			}
			if got := x.srv.Writes() > 0; got != s.wantDiff {
				t.Errorf("apply wrote %d times; want writes: %v", x.srv.Writes(), s.wantDiff)
			}
		})
	}
}
