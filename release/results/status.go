package results

import (
	"fmt"
	"html"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Instance is one instance's releases of a project, as the status grid
// takes them: the source's read from its API, a destination's from a
// results bundle.
type Instance struct {
	// Name names the instance (its URL, or the name given to report).
	Name string
	// Role is "source" or "destination".
	Role string
	// Releases are the instance's releases of the project.
	Releases []Release
}

// Grid is the progression of a project's releases across instances: the
// Octopus dashboard's layout, releases as rows and every environment of
// every instance as columns.
type Grid struct {
	// Project is the project's name.
	Project string `json:"project"`
	// Columns are the environments, instance by instance (the source
	// first), each in its instance's sort order.
	Columns []Column `json:"columns"`
	// Rows are the releases, newest version first, by their version on
	// the source.
	Rows []Row `json:"rows"`
}

// Column is one environment of one instance.
type Column struct {
	// Instance names the instance.
	Instance string `json:"instance"`
	// Role is "source" or "destination".
	Role string `json:"role"`
	// Environment is the environment's name.
	Environment string `json:"environment"`
}

// Row is one release across the instances.
type Row struct {
	// Version is the release's version on the source.
	Version string `json:"version"`
	// Cells are the release's outcome per column, in Columns' order.
	Cells []Cell `json:"cells"`
}

// Cell is a release's outcome in one environment of one instance: the
// latest deployment per tenant, the worst of them deciding the state.
type Cell struct {
	// State is the outcome ("" when the release was not deployed there).
	State string `json:"state"`
	// Release is the release's version on that instance ("" when it has
	// no such release).
	Release string `json:"release,omitempty"`
	// Deployments counts the deployments there (every tenant, every
	// attempt).
	Deployments int `json:"deployments"`
	// Tenants are the tenants deployed for, sorted.
	Tenants []string `json:"tenants,omitempty"`
	// CompletedTime is when the latest deployment ended.
	CompletedTime string `json:"completedTime,omitempty"`
	// ErrorMessage is the error of the deployment that decided State.
	ErrorMessage string `json:"errorMessage,omitempty"`
}

// severity orders states for a cell: the worst of a cell's latest
// deployments (one per tenant) is shown.
var severity = map[string]int{"Success": 1, "Queued": 2, "Executing": 3, "Cancelling": 3, "Unknown": 4, "Canceled": 5, "TimedOut": 6, "Failed": 7}

// BuildGrid lays out the releases of instances (the source first) as the
// status grid.
func BuildGrid(project string, instances []Instance) Grid {
	g := Grid{Project: project, Columns: []Column{}, Rows: []Row{}}
	type key struct {
		inst    int
		version string
	}
	releases := map[key]Release{}
	var versions []string
	seen := map[string]bool{}
	for i, in := range instances {
		var envs []string
		add := func(e string) {
			if e != "" && !slices.Contains(envs, e) {
				envs = append(envs, e)
			}
		}
		for _, r := range in.Releases {
			for _, e := range r.Environments {
				add(e)
			}
		}
		for _, r := range in.Releases {
			for _, d := range r.Deployments {
				add(d.Environment)
			}
			v := r.SourceVersion()
			releases[key{i, v}] = r
			if !seen[v] {
				seen[v] = true
				versions = append(versions, v)
			}
		}
		for _, e := range envs {
			g.Columns = append(g.Columns, Column{Instance: in.Name, Role: in.Role, Environment: e})
		}
	}
	slices.SortStableFunc(versions, func(a, b string) int { return CompareVersions(b, a) })
	for _, v := range versions {
		row := Row{Version: v, Cells: make([]Cell, len(g.Columns))}
		for c, col := range g.Columns {
			inst := slices.IndexFunc(instances, func(in Instance) bool { return in.Name == col.Instance && in.Role == col.Role })
			if r, ok := releases[key{inst, v}]; ok {
				row.Cells[c] = cellOf(r, col.Environment)
			}
		}
		g.Rows = append(g.Rows, row)
	}
	return g
}

// cellOf is release r's outcome in environment env.
func cellOf(r Release, env string) Cell {
	c := Cell{Release: r.Name}
	latest := map[string]Deployment{}
	for _, d := range r.Deployments { // oldest first: the last one wins
		if d.Environment != env {
			continue
		}
		c.Deployments++
		latest[d.Tenant] = d
		if d.Tenant != "" && !slices.Contains(c.Tenants, d.Tenant) {
			c.Tenants = append(c.Tenants, d.Tenant)
		}
	}
	slices.Sort(c.Tenants)
	tenants := make([]string, 0, len(latest))
	for t := range latest {
		tenants = append(tenants, t)
	}
	slices.Sort(tenants)
	for _, t := range tenants {
		d := latest[t]
		if c.State == "" || severity[d.State] > severity[c.State] {
			c.State, c.ErrorMessage = d.State, d.ErrorMessage
		}
		if d.CompletedTime > c.CompletedTime {
			c.CompletedTime = d.CompletedTime
		}
	}
	return c
}

// label is a cell's text: its state, with the number of tenants when
// more than one.
func (c Cell) label() string {
	if c.State == "" {
		return "-"
	}
	if len(c.Tenants) > 1 {
		return fmt.Sprintf("%s (%d tenants)", c.State, len(c.Tenants))
	}
	return c.State
}

// WriteText writes g as an aligned table for a terminal.
func (g Grid) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	head := []string{"RELEASE"}
	for _, c := range g.Columns {
		head = append(head, c.Environment+" ("+c.Instance+")")
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, r := range g.Rows {
		line := []string{r.Version}
		for _, c := range r.Cells {
			line = append(line, c.label())
		}
		fmt.Fprintln(tw, strings.Join(line, "\t"))
	}
	return tw.Flush()
}

// WriteMarkdown writes g as a Markdown table.
func (g Grid) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s across instances\n\n| Release |", mdCell(g.Project))
	for _, c := range g.Columns {
		fmt.Fprintf(&b, " %s (%s) |", mdCell(c.Environment), mdCell(c.Instance))
	}
	b.WriteString("\n| --- |" + strings.Repeat(" --- |", len(g.Columns)) + "\n")
	for _, r := range g.Rows {
		fmt.Fprintf(&b, "| %s |", mdCell(r.Version))
		for _, c := range r.Cells {
			fmt.Fprintf(&b, " %s |", mdCell(c.label()))
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// stateColours are the dashboard's colours per state (background, text).
var stateColours = map[string][2]string{
	"Success":    {"#48b350", "#ffffff"},
	"Failed":     {"#db4437", "#ffffff"},
	"TimedOut":   {"#db4437", "#ffffff"},
	"Canceled":   {"#9e9e9e", "#ffffff"},
	"Executing":  {"#1a77ca", "#ffffff"},
	"Cancelling": {"#1a77ca", "#ffffff"},
	"Queued":     {"#b0bec5", "#263238"},
	"Unknown":    {"#e0e0e0", "#263238"},
}

// WriteHTML writes g as one self-contained HTML page in the manner of the
// Octopus dashboard: inline CSS, no script and no external asset; a row per
// release, a column per environment under its instance, each cell
// coloured by its outcome.
func (g Grid) WriteHTML(w io.Writer) error {
	e := html.EscapeString
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	fmt.Fprintf(&b, "<title>%s: releases across instances</title>\n", e(g.Project))
	b.WriteString(`<style>
body{font-family:Roboto,"Segoe UI",Helvetica,Arial,sans-serif;background:#f4f6f8;color:#111a23;margin:24px}
h1{font-size:20px;font-weight:500;margin:0 0 16px}
table{border-collapse:separate;border-spacing:2px;background:#fff;box-shadow:0 1px 3px rgba(0,0,0,.2)}
th{background:#2f93e0;color:#fff;font-weight:500;font-size:13px;padding:8px 12px;text-align:center}
th.instance{background:#1a77ca}
th.release,td.release{text-align:left;background:#fff;color:#111a23;font-weight:500}
td{padding:6px 12px;font-size:13px;min-width:110px;text-align:center;vertical-align:top}
td.none{background:#fafafa;color:#9e9e9e}
td small{display:block;opacity:.9;font-size:11px}
.legend span{display:inline-block;padding:2px 8px;margin:8px 4px 0 0;font-size:12px;border-radius:2px}
</style>
</head>
<body>
`)
	fmt.Fprintf(&b, "<h1>%s</h1>\n<table>\n<thead>\n<tr><th class=\"release\" rowspan=\"2\">Release</th>", e(g.Project))
	for i := 0; i < len(g.Columns); {
		j := i
		for j < len(g.Columns) && g.Columns[j].Instance == g.Columns[i].Instance && g.Columns[j].Role == g.Columns[i].Role {
			j++
		}
		fmt.Fprintf(&b, "<th class=\"instance\" colspan=\"%d\">%s <small>(%s)</small></th>", j-i, e(g.Columns[i].Instance), e(g.Columns[i].Role))
		i = j
	}
	b.WriteString("</tr>\n<tr>")
	for _, c := range g.Columns {
		fmt.Fprintf(&b, "<th>%s</th>", e(c.Environment))
	}
	b.WriteString("</tr>\n</thead>\n<tbody>\n")
	for _, r := range g.Rows {
		fmt.Fprintf(&b, "<tr><td class=\"release\">%s</td>", e(r.Version))
		for _, c := range r.Cells {
			if c.State == "" {
				b.WriteString("<td class=\"none\">&nbsp;</td>")
				continue
			}
			col, ok := stateColours[c.State]
			if !ok {
				col = stateColours["Unknown"]
			}
			title := c.State
			if c.ErrorMessage != "" {
				title += ": " + c.ErrorMessage
			}
			fmt.Fprintf(&b, "<td class=\"state\" style=\"background:%s;color:%s\" title=\"%s\">%s", col[0], col[1], e(title), e(c.label()))
			if c.Release != "" && c.Release != r.Version {
				fmt.Fprintf(&b, "<small>release %s</small>", e(c.Release))
			}
			if t := stamp(c.CompletedTime); t != "" {
				fmt.Fprintf(&b, "<small>%s</small>", e(t))
			}
			b.WriteString("</td>")
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</tbody>\n</table>\n<div class=\"legend\">")
	for _, s := range []string{"Success", "Failed", "Canceled", "Executing", "Queued"} {
		col := stateColours[s]
		fmt.Fprintf(&b, "<span style=\"background:%s;color:%s\">%s</span>", col[0], col[1], s)
	}
	b.WriteString("</div>\n</body>\n</html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// stamp shows an RFC 3339 time as "2006-01-02 15:04:05Z" (UTC), or as
// given when it does not parse.
func stamp(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}
