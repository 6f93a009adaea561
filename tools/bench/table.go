package bench

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
)

// GrowthSlack is how much faster than N a measure may grow between two
// sizes: 500 → 2,000 may grow at most 4 × 1.075 = 4.3× (issue 20).
const GrowthSlack = 1.075

// GrowthLimit is the largest growth Table accepts from na to nz projects.
func GrowthLimit(na, nz int) float64 { return float64(nz) / float64(na) * GrowthSlack }

// Table renders a report as Markdown: the steps, the sizes of the bundle
// and of the state, the growth between consecutive sizes (each measure
// flagged when it exceeds GrowthLimit), the requests by path of every
// step, the error answers, and the violations (Violations).
func Table(rep Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "latency %.0f ms, concurrency %d, %d CPUs, %s; fsyncs: %s\n\n", rep.Latency, rep.Concurrency, rep.CPUs, rep.Date, rep.Fsyncs)
	b.WriteString("| N | operation | GET | POST | PUT | DELETE | requests | 409 | wall s | bound s | ratio | CPU s | user s | sys s | server CPU s | peak RSS MiB | fsyncs | faults |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rep.Results {
		for _, s := range r.Steps {
			fmt.Fprintf(&b, "| %d | %s | %d | %d | %d | %d | %d | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.0f | %s | %d |\n",
				r.N, s.Name, s.Requests["GET"], s.Requests["POST"], s.Requests["PUT"], s.Requests["DELETE"], s.Total, s.Conflicts,
				s.Wall, s.Bound, s.Ratio, s.CPU, s.UserCPU, s.SysCPU, s.ServerCPU, s.PeakRSS, fsyncText(s.Fsyncs), s.Faulted)
		}
	}
	b.WriteString("\n| N | bundle files | bundle bytes | bundle disk bytes | archive bytes | archive ÷ directory | state files | state bytes | state disk bytes | state ÷ bundle (disk) | state after replay: files, disk bytes | setup s | harness peak RSS MiB |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rep.Results {
		arc, state, ratio, replay := "– | –", "| – | – | –", "–", "–"
		if r.ArchiveBytes > 0 {
			arc = fmt.Sprintf("%d | %.2f %%", r.ArchiveBytes, 100*float64(r.ArchiveBytes)/float64(max(r.DirBytes, 1)))
		}
		if t := r.StateAfterApply; t != nil {
			state = fmt.Sprintf("| %d | %d | %d", t.Files, t.Bytes, t.DiskBytes)
			ratio = fmt.Sprintf("%.2f", div(float64(t.DiskBytes), float64(r.Bundle.DiskBytes)))
		}
		if t := r.StateAfterReplay; t != nil {
			replay = fmt.Sprintf("%d, %d", t.Files, t.DiskBytes)
		}
		fmt.Fprintf(&b, "| %d | %d | %d | %d | %s %s | %s | %s | %.1f | %.0f |\n", r.N, r.Bundle.Files, r.DirBytes, r.Bundle.DiskBytes,
			arc, state, ratio, replay, r.SetupSeconds, r.HarnessRSS)
	}
	if t := timelineTable(rep); t != "" {
		b.WriteString("\n" + t)
	}
	if g := growthTable(rep); g != "" {
		b.WriteString("\n" + g)
	}
	for _, r := range rep.Results {
		b.WriteString("\n" + pathTable(r))
	}
	if e := errorTable(rep); e != "" {
		b.WriteString("\n" + e)
	}
	if v := Violations(rep); len(v) > 0 {
		b.WriteString("\nViolations:\n")
		for _, s := range v {
			b.WriteString("- " + s + "\n")
		}
	}
	return b.String()
}

// growthRow is one measure's growth between two sizes.
type growthRow struct {
	na, nz int
	step   string
	ratios [6]float64 // requests, wall, CPU, user, system, peak RSS
}

var growthMeasures = [6]string{"requests", "wall", "CPU", "user CPU", "system CPU", "peak RSS"}

// growth computes, for consecutive sizes, each step's growth in every
// measure (steps matched by name).
func growth(rep Report) []growthRow {
	sorted := slices.Clone(rep.Results)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].N < sorted[j].N })
	var out []growthRow
	for i := 1; i < len(sorted); i++ {
		a, z := sorted[i-1], sorted[i]
		for _, sz := range z.Steps {
			k := slices.IndexFunc(a.Steps, func(s Step) bool { return s.Name == sz.Name })
			if k < 0 {
				continue
			}
			sa := a.Steps[k]
			out = append(out, growthRow{na: a.N, nz: z.N, step: sz.Name, ratios: [6]float64{
				div(float64(sz.Total), float64(sa.Total)), div(sz.Wall, sa.Wall), div(sz.CPU, sa.CPU),
				div(sz.UserCPU, sa.UserCPU), div(sz.SysCPU, sa.SysCPU), div(sz.PeakRSS, sa.PeakRSS),
			}})
		}
	}
	return out
}

func growthTable(rep Report) string {
	rows := growth(rep)
	if len(rows) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("| growth | operation | requests | wall | CPU | user CPU | system CPU | peak RSS |\n|---|---|---|---|---|---|---|---|\n")
	for _, g := range rows {
		limit := GrowthLimit(g.na, g.nz)
		fmt.Fprintf(&b, "| %d→%d (≤ %.2f×) | %s |", g.na, g.nz, limit, g.step)
		for _, r := range g.ratios {
			if r > limit {
				fmt.Fprintf(&b, " **%.2f× ⚠** |", r)
			} else {
				fmt.Fprintf(&b, " %.2f× |", r)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// pathTable renders one size's requests by "METHOD /path", a column per
// step; a blank cell is 0.
func pathTable(r Result) string {
	paths := map[string]bool{}
	for _, s := range r.Steps {
		for p := range s.Paths {
			paths[p] = true
		}
	}
	if len(paths) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Requests by path, N = %d:\n\n| request |", r.N)
	for _, s := range r.Steps {
		b.WriteString(" " + s.Name + " |")
	}
	b.WriteString("\n|---|" + strings.Repeat("---|", len(r.Steps)) + "\n")
	for _, p := range slices.Sorted(maps.Keys(paths)) {
		fmt.Fprintf(&b, "| `%s` |", p)
		for _, s := range r.Steps {
			if n := s.Paths[p]; n > 0 {
				fmt.Fprintf(&b, " %d |", n)
			} else {
				b.WriteString(" |")
			}
		}
		b.WriteString("\n")
	}
	b.WriteString("| total |")
	for _, s := range r.Steps {
		fmt.Fprintf(&b, " %d |", s.Total)
	}
	b.WriteString("\n")
	return b.String()
}

// errorTable lists the simulator's own error answers (injected faults
// excluded) of every step, by status, method and path.
func errorTable(rep Report) string {
	var b strings.Builder
	for _, r := range rep.Results {
		for _, s := range r.Steps {
			for _, k := range slices.Sorted(maps.Keys(s.Errors)) {
				fmt.Fprintf(&b, "| %d | %s | `%s` | %d |\n", r.N, s.Name, k, s.Errors[k])
			}
		}
	}
	if b.Len() == 0 {
		return "Error answers (faults excluded): none.\n"
	}
	return "Error answers (faults excluded):\n\n| N | operation | answer | count |\n|---|---|---|---|\n" + b.String()
}

// Violations lists what fails the benchmark in rep: a 409 the simulator
// answered itself in a step without injected faults (a conflict
// octobundle caused), and a step whose peak RSS reached rep.MaxRSS.
// Growth beyond GrowthLimit is flagged in the table, not here: one run's
// timing can vary.
func Violations(rep Report) []string {
	var out []string
	for _, r := range rep.Results {
		for _, s := range r.Steps {
			if s.Conflicts > 0 && s.Faulted == 0 {
				var where []string
				for _, k := range slices.Sorted(maps.Keys(s.Errors)) {
					if strings.HasPrefix(k, "409 ") {
						where = append(where, fmt.Sprintf("%s ×%d", strings.TrimPrefix(k, "409 "), s.Errors[k]))
					}
				}
				out = append(out, fmt.Sprintf("N=%d %s: %d self-inflicted 409 (%s)", r.N, s.Name, s.Conflicts, strings.Join(where, ", ")))
			}
			if rep.MaxRSS > 0 && s.PeakRSS >= rep.MaxRSS {
				out = append(out, fmt.Sprintf("N=%d %s: peak RSS %.0f MiB, at least the limit of %.0f MiB", r.N, s.Name, s.PeakRSS, rep.MaxRSS))
			}
		}
	}
	return out
}

// GrowthFlags lists the growth measures beyond GrowthLimit.
func GrowthFlags(rep Report) []string {
	var out []string
	for _, g := range growth(rep) {
		for i, r := range g.ratios {
			if limit := GrowthLimit(g.na, g.nz); r > limit {
				out = append(out, fmt.Sprintf("%d→%d %s: %s grew %.2f× (limit %.2f×)", g.na, g.nz, g.step, growthMeasures[i], r, limit))
			}
		}
	}
	return out
}

func div(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// timelineTable shows where each step's wall went (Timeline), against the
// latency bound: a step meets the bound only when it makes requests from
// start to end with its concurrency's worth in flight.
func timelineTable(rep Report) string {
	var b strings.Builder
	for _, r := range rep.Results {
		for _, s := range r.Steps {
			t := s.Timeline
			if t == nil {
				continue
			}
			if b.Len() == 0 {
				b.WriteString("Where the wall went: before the first request, making requests (mean and most in flight, time with none), after the last answer.\n\n")
				b.WriteString("| N | operation | wall s | bound s | before first request s | requesting s | mean in flight | most in flight | none in flight s | after last answer s |\n")
				b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
			}
			fmt.Fprintf(&b, "| %d | %s | %.2f | %.2f | %.2f | %.2f | %.2f | %d | %.2f | %.2f |\n",
				r.N, s.Name, s.Wall, s.Bound, t.BeforeFirst, t.Requesting, t.MeanInFlight, t.MaxInFlight, t.Idle, t.AfterLast)
		}
	}
	return b.String()
}
