package bench

import (
	"bytes"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/octobundle/octobundle/tools/gen"
	"github.com/octobundle/octobundle/tools/octosim"
)

// FaultResult compares an apply under faults with a fault-free one.
type FaultResult struct {
	// N is the number of projects.
	N int `json:"n"`
	// Clean is the fault-free apply, Faulted the one under faults, Replay
	// a second apply on the faulted destination (it must write nothing).
	Clean   Step `json:"clean"`
	Faulted Step `json:"faulted"`
	Replay  Step `json:"replay"`
	// Injected counts the faults the faulted destination injected by kind
	// ("drop", "drop-after-handling", "429", "5xx"); each cost a retry.
	Injected map[string]int `json:"injected"`
	// ExtraRequests is how many more requests the faulted apply made.
	ExtraRequests int `json:"extra_requests"`
	// Files is the number of files of the destinations' exports compared.
	Files int `json:"files_compared"`
	// Differences lists the export files that differ between the two
	// destinations (empty: the same state).
	Differences []string `json:"differences"`
	// Duplicates lists entities the faulted destination holds twice.
	Duplicates []string `json:"duplicates"`
}

// RunFaults exports a generated instance of n projects, applies it to two
// empty destinations — one fault-free, one injecting cfg.Faults — exports
// both destinations and compares the bundles file by file, looks for
// duplicates, and replays on the faulted destination.
func RunFaults(cfg Config, n int) (FaultResult, error) {
	res := FaultResult{N: n}
	lat := octosim.Faults{Latency: cfg.Latency}
	src, err := startSim(octosim.Options{Seed: gen.Generate(gen.Scale(n)), Faults: lat})
	if err != nil {
		return res, err
	}
	defer src.stop()
	clean, err := startSim(octosim.Options{IDOffset: 1_000_000, Faults: lat})
	if err != nil {
		return res, err
	}
	defer clean.stop()
	faulty, err := startSim(octosim.Options{IDOffset: 1_000_000, Faults: lat})
	if err != nil {
		return res, err
	}
	defer faulty.stop()

	dir := filepath.Join(cfg.WorkDir, fmt.Sprintf("faults-n%d", n))
	if err := os.RemoveAll(dir); err != nil {
		return res, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, err
	}
	step := func(name string, sim *simProc, args ...string) (Step, error) {
		s, err := runStep(cfg, fmt.Sprintf("faults N=%d", n), name, sim, args, nil)
		if err != nil {
			return s, err
		}
		logf(cfg, "faults N=%d %s: %.2fs, %d requests %v", n, name, s.Wall, s.Total, s.Requests)
		return s, nil
	}
	bundle := filepath.Join(dir, "bundle")
	if _, err := step("export", src, "export", "--out", bundle); err != nil {
		return res, err
	}
	if res.Clean, err = step("apply (fault-free)", clean, "apply", "--state", filepath.Join(dir, "state-clean"), bundle); err != nil {
		return res, err
	}
	f := cfg.Faults
	f.Latency = cfg.Latency
	faulty.srv.SetFaults(f)
	res.Faulted, err = step("apply (faults)", faulty, "apply", "--state", filepath.Join(dir, "state-faulty"), bundle)
	faulty.srv.SetFaults(lat)
	res.Injected = faulty.srv.FaultsInjected()
	res.Faulted.Faulted = sum(res.Injected)
	if err != nil {
		return res, err
	}
	res.ExtraRequests = res.Faulted.Total - res.Clean.Total
	if res.Replay, err = step("replay (after faults)", faulty, "apply", "--state", filepath.Join(dir, "state-faulty"), bundle); err != nil {
		return res, err
	}
	outClean, outFaulty := filepath.Join(dir, "dest-clean"), filepath.Join(dir, "dest-faulty")
	if _, err := step("export (fault-free destination)", clean, "export", "--out", outClean); err != nil {
		return res, err
	}
	if _, err := step("export (faulted destination)", faulty, "export", "--out", outFaulty); err != nil {
		return res, err
	}
	if res.Files, res.Differences, err = compareTrees(outClean, outFaulty); err != nil {
		return res, err
	}
	res.Duplicates = Duplicates(faulty.srv.Dump())
	return res, nil
}

// compareTrees compares two bundle directories file by file, the manifest
// (which names the server and the time) excepted.
func compareTrees(a, b string) (int, []string, error) {
	read := func(root string) (map[string][]byte, error) {
		out := map[string][]byte{}
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			if strings.HasPrefix(filepath.Base(rel), "manifest") || strings.HasPrefix(rel, "checksums") {
				return nil
			}
			data, err := os.ReadFile(p)
			out[rel] = data
			return err
		})
		return out, err
	}
	fa, err := read(a)
	if err != nil {
		return 0, nil, err
	}
	fb, err := read(b)
	if err != nil {
		return 0, nil, err
	}
	var diff []string
	for p, da := range fa {
		if db, ok := fb[p]; !ok {
			diff = append(diff, "only in the fault-free destination: "+p)
		} else if !bytes.Equal(da, db) {
			diff = append(diff, "differs: "+p)
		}
	}
	for p := range fb {
		if _, ok := fa[p]; !ok {
			diff = append(diff, "only in the faulted destination: "+p)
		}
	}
	sort.Strings(diff)
	return len(fa), diff, nil
}

// Duplicates lists the entities of inst that share a collection, an owner
// (project, runbook, space) and a name.
func Duplicates(inst *octosim.Instance) []string {
	var out []string
	for _, sp := range inst.Spaces {
		for coll, es := range sp.Collections {
			seen := map[string]int{}
			for _, e := range es {
				name, _ := e["Name"].(string)
				if name == "" {
					continue
				}
				owner := ""
				for _, f := range []string{"ProjectId", "RunbookId", "TeamId", "OwnerId"} {
					if s, ok := e[f].(string); ok && s != "" {
						owner = f + "=" + s
						break
					}
				}
				seen[owner+"\x00"+name]++
			}
			for k, c := range seen {
				if c > 1 {
					owner, name, _ := strings.Cut(k, "\x00")
					out = append(out, fmt.Sprintf("%s %q (%s): %d copies", coll, name, owner, c))
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// FaultTable renders a fault comparison as Markdown.
func FaultTable(r FaultResult) string {
	var b strings.Builder
	b.WriteString("| N | apply | GET | POST | PUT | DELETE | requests | 409 | wall s | CPU user s | CPU sys s | fsyncs |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, s := range []Step{r.Clean, r.Faulted, r.Replay} {
		fmt.Fprintf(&b, "| %d | %s | %d | %d | %d | %d | %d | %d | %.2f | %.2f | %.2f | %s |\n", r.N, s.Name, s.Requests["GET"], s.Requests["POST"],
			s.Requests["PUT"], s.Requests["DELETE"], s.Total, s.Conflicts, s.Wall, s.UserCPU, s.SysCPU, fsyncText(s.Fsyncs))
	}
	keys := make([]string, 0, len(r.Injected))
	for k := range r.Injected {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var inj []string
	for _, k := range keys {
		inj = append(inj, fmt.Sprintf("%s %d", k, r.Injected[k]))
	}
	fmt.Fprintf(&b, "\nfaults injected (each retried): %s; extra requests %d\n", strings.Join(inj, ", "), r.ExtraRequests)
	fmt.Fprintf(&b, "destination exports compared: %d files, %d differences; duplicates: %d\n", r.Files, len(r.Differences), len(r.Duplicates))
	for _, d := range r.Differences {
		fmt.Fprintf(&b, "  %s\n", d)
	}
	for _, d := range r.Duplicates {
		fmt.Fprintf(&b, "  duplicate: %s\n", d)
	}
	// The simulator's own 409s: in the fault-free apply and the replay a
	// conflict octobundle caused; under faults one may follow a PUT the
	// server handled before it dropped the connection (its retry carries
	// the old Version), so those are reported, not failed.
	for _, s := range []Step{r.Clean, r.Faulted, r.Replay} {
		for _, k := range slices.Sorted(maps.Keys(s.Errors)) {
			fmt.Fprintf(&b, "  %s answered (faults excluded): %s ×%d\n", s.Name, k, s.Errors[k])
		}
	}
	return b.String()
}

// FaultViolations lists what fails the fault benchmark: a different or
// duplicated destination, a replay that wrote, and a 409 the simulator
// answered itself outside the faulted apply.
func FaultViolations(r FaultResult) []string {
	var out []string
	if len(r.Differences) > 0 || len(r.Duplicates) > 0 {
		out = append(out, fmt.Sprintf("N=%d: the faulted destination differs (%d files) or holds duplicates (%d)", r.N, len(r.Differences), len(r.Duplicates)))
	}
	if w := r.Replay.Requests["POST"] + r.Replay.Requests["PUT"] + r.Replay.Requests["DELETE"]; w > 0 {
		out = append(out, fmt.Sprintf("N=%d: the replay after faults wrote %d times", r.N, w))
	}
	for _, s := range []Step{r.Clean, r.Replay} {
		if s.Conflicts > 0 {
			out = append(out, fmt.Sprintf("N=%d %s: %d self-inflicted 409", r.N, s.Name, s.Conflicts))
		}
	}
	return out
}
