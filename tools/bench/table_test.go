package bench

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func intp(n int) *int { return &n }

// TestParseStraceSummary reads strace -c's table, with and without the
// errors column, and skips its header, rules and total.
func TestParseStraceSummary(t *testing.T) {
	for _, c := range []struct {
		name, in string
		want     map[string]int
	}{
		{"empty", "", map[string]int{}},
		{"calls and errors", `% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 99.77    0.010123       10123         1           syncfs
  0.20    0.000023          11       212         3 fsync
  0.03    0.000003           1         4           fdatasync
------ ----------- ----------- --------- --------- ----------------
100.00    0.010146        3382       217         3 total
`, map[string]int{"syncfs": 1, "fsync": 212, "fdatasync": 4}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseStraceSummary(strings.NewReader(c.in))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.want) {
				t.Fatalf("%v, want %v", got, c.want)
			}
			for k, v := range c.want {
				if got[k] != v {
					t.Errorf("%s: %d, want %d", k, got[k], v)
				}
			}
		})
	}
}

// TestParsePerfStat reads perf stat -x , output, and refuses a count
// perf could not take.
func TestParsePerfStat(t *testing.T) {
	in := `# started on Mon Dec  7 06:13:57 2026

3,,syscalls:sys_enter_fsync,7167734,100.00,,
0,,syscalls:sys_enter_fdatasync,7167734,100.00,,
1,,syscalls:sys_enter_syncfs,7167734,100.00,,
0,,syscalls:sys_enter_sync_file_range,7167734,100.00,,
`
	got, err := parsePerfStat(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int{"fsync": 3, "fdatasync": 0, "syncfs": 1, "sync_file_range": 0}; !maps.Equal(got, want) {
		t.Errorf("%v, want %v", got, want)
	}
	if _, err := parsePerfStat(strings.NewReader("<not supported>,,syscalls:sys_enter_fsync,0,100.00,,\n")); err == nil {
		t.Error("a count perf could not take was read as a number")
	}
}

func TestCheckSteps(t *testing.T) {
	for _, c := range []struct {
		keys []string
		ok   bool
	}{
		{StepKeys, true},
		{[]string{"export", "apply", "replay"}, true},
		{[]string{"export-archive"}, true},
		{[]string{"export", "replay"}, false},
		{[]string{"apply"}, false},
		{[]string{"export", "import"}, false},
	} {
		if err := CheckSteps(c.keys); (err == nil) != c.ok {
			t.Errorf("CheckSteps(%v) = %v, want ok %v", c.keys, err, c.ok)
		}
	}
}

// TestViolations: a 409 the simulator answered itself fails a step
// without faults, not one with injected faults; a peak RSS at the limit
// fails.
func TestViolations(t *testing.T) {
	step := func(name string, conflicts, faulted int, rss float64) Step {
		s := Step{Name: name, Conflicts: conflicts, Faulted: faulted, PeakRSS: rss}
		if conflicts > 0 {
			s.Errors = map[string]int{"409 PUT /api/{id}/deploymentprocesses/{id}": conflicts}
		}
		return s
	}
	for _, c := range []struct {
		name   string
		steps  []Step
		maxRSS float64
		want   []string
	}{
		{"clean", []Step{step("apply", 0, 0, 100)}, 1024, nil},
		{"self-inflicted 409", []Step{step("apply", 3, 0, 100)}, 0,
			[]string{"N=7 apply: 3 self-inflicted 409 (PUT /api/{id}/deploymentprocesses/{id} ×3)"}},
		{"409 under faults", []Step{step("apply", 3, 20, 100)}, 0, nil},
		{"RSS at the limit", []Step{step("export", 0, 0, 1024), step("apply", 0, 0, 1023.5)}, 1024,
			[]string{"N=7 export: peak RSS 1024 MiB, at least the limit of 1024 MiB"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := Violations(Report{MaxRSS: c.maxRSS, Results: []Result{{N: 7, Steps: c.steps}}})
			if !slices.Equal(got, c.want) {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

// TestGrowth: from 500 to 2,000 each measure may grow 4.3×; user and
// system CPU are judged apart, so a kernel part growing faster than N
// is flagged even when the total is not.
func TestGrowth(t *testing.T) {
	if l := GrowthLimit(500, 2000); l < 4.2999 || l > 4.3001 {
		t.Fatalf("GrowthLimit(500, 2000) = %v, want 4.3", l)
	}
	a := Step{Name: "apply", Total: 1000, Wall: 10, CPU: 10, UserCPU: 8, SysCPU: 2, PeakRSS: 100, Fsyncs: intp(10)}
	z := Step{Name: "apply", Total: 4000, Wall: 40, CPU: 42, UserCPU: 32, SysCPU: 10, PeakRSS: 300, Fsyncs: intp(40)}
	other := Step{Name: "replay", Total: 100, Wall: 1, CPU: 1, UserCPU: 1, SysCPU: 0, PeakRSS: 50}
	rep := Report{Results: []Result{{N: 2000, Steps: []Step{z}}, {N: 500, Steps: []Step{other, a}}}}
	want := []string{"500→2000 apply: system CPU grew 5.00× (limit 4.30×)"}
	if got := GrowthFlags(rep); !slices.Equal(got, want) {
		t.Errorf("GrowthFlags = %q, want %q", got, want)
	}
	table := Table(rep)
	for _, s := range []string{"| 500→2000 (≤ 4.30×) | apply | 4.00× | 4.00× | 4.20× | 4.00× | **5.00× ⚠** | 3.00× |", "| 500 | apply |"} {
		if !strings.Contains(table, s) {
			t.Errorf("no %q in\n%s", s, table)
		}
	}
}

// TestTreeSize counts files and bytes, and the disk the folder takes.
func TestTreeSize(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "a", "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	for p, n := range map[string]int{"x": 10, "a/y": 5000, "a/b/z": 0} {
		if err := os.WriteFile(filepath.Join(dir, p), make([]byte, n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tr, err := treeSize(dir)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Files != 3 || tr.Bytes != 5010 || tr.DiskBytes < 5010 {
		t.Errorf("%+v, want 3 files, 5010 bytes, at least as much disk", tr)
	}
}
