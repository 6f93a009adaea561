package results

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/octobundle/octobundle/internal/octopus"
)

// SectionTitle is the heading (without its "## ") of the notes section
// that holds the deployments on instance.
func SectionTitle(instance string) string { return "Deployments on " + instance }

// Section renders r's deployments as the Markdown notes section "##
// Deployments on <instance>": a table, oldest first, with no time of
// recording, so the same results render the same section.
func Section(r Release) string {
	var b strings.Builder
	b.WriteString("## " + SectionTitle(r.Instance) + "\n\n")
	fmt.Fprintf(&b, "Release %s of %s on %s, as reported by octobundle release report.\n\n", r.Name, r.Project, r.Instance)
	if len(r.Deployments) == 0 {
		b.WriteString("Not deployed yet.\n")
		return b.String()
	}
	b.WriteString("| Environment | Tenant | State | Queued | Started | Completed | Duration | Started by | Error |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, d := range r.Deployments {
		cells := []string{d.Environment, d.Tenant, d.State, stamp(d.QueueTime), stamp(d.StartTime), stamp(d.CompletedTime), d.Duration, d.DeployedBy, d.ErrorMessage}
		for i, c := range cells {
			cells[i] = mdCell(c)
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	return b.String()
}

// mdCell escapes a Markdown table cell.
func mdCell(s string) string {
	s = strings.ReplaceAll(s, "\r", "")
	s = strings.ReplaceAll(s, "\n", " ")
	return strings.ReplaceAll(s, "|", `\|`)
}

// ReplaceSection returns notes with the section titled title ("##
// title" up to the next heading of level one or two, or the end) replaced
// by section, or section appended when the notes have none: recording
// the same results twice changes nothing, and newer results replace
// older ones, never adding a second section.
func ReplaceSection(notes, title, section string) string {
	section = strings.TrimRight(section, "\n") + "\n"
	heading := "## " + title
	lines := strings.SplitAfter(notes, "\n")
	start := -1
	for i, l := range lines {
		if strings.TrimRight(l, " \t\r\n") == heading {
			start = i
			break
		}
	}
	if start < 0 {
		trimmed := strings.TrimRight(notes, " \t\r\n")
		if trimmed == "" {
			return section
		}
		return trimmed + "\n\n" + section
	}
	end := len(lines)
	for j := start + 1; j < len(lines); j++ {
		if strings.HasPrefix(lines[j], "# ") || strings.HasPrefix(lines[j], "## ") {
			end = j
			break
		}
	}
	before := strings.Join(lines[:start], "")
	after := strings.Join(lines[end:], "")
	if after != "" {
		section += "\n"
	}
	return before + section + after
}

// Recorded is what Record did to one source release.
type Recorded struct {
	// Project and Version name the source release.
	Project string `json:"project"`
	Version string `json:"version"`
	// Instance is the destination whose deployments were recorded.
	Instance string `json:"instance"`
	// Deployments is the number of deployments in the section.
	Deployments int `json:"deployments"`
	// Changed reports that the notes were written; false when they
	// already held this section (a replay writes nothing).
	Changed bool `json:"changed"`
}

// Record writes each release's deployments into the notes of its source
// release (project and version: the promotion's, project overridden by
// project when set) on the instance cl talks to: GET
// projects/{id}/releases/{version}, and, only when the notes change, PUT
// releases/{id} with the whole release document (a real server replaces
// the resource with the body).
func Record(ctx context.Context, cl *octopus.Client, rels []Release, project string) ([]Recorded, error) {
	var out []Recorded
	projects := map[string]map[string]any{}
	for _, r := range rels {
		name := r.Project
		if project != "" {
			name = project
		}
		p := projects[strings.ToLower(name)]
		if p == nil {
			var err error
			if p, err = findProject(ctx, cl, name); err != nil {
				return out, err
			}
			projects[strings.ToLower(name)] = p
		}
		version := r.SourceVersion()
		rel, err := cl.Get(ctx, cl.SpacePath("projects/"+str(p["Id"])+"/releases/"+url.PathEscape(version), false))
		if octopus.IsStatus(err, 404) {
			return out, fmt.Errorf("the project %s has no release %s on %s to record the deployments on %s in", name, version, cl.Server(), r.Instance)
		}
		if err != nil {
			return out, fmt.Errorf("reading release %s of %s: %w", version, name, err)
		}
		rec := Recorded{Project: str(p["Name"]), Version: version, Instance: r.Instance, Deployments: len(r.Deployments)}
		notes := str(rel["ReleaseNotes"])
		updated := ReplaceSection(notes, SectionTitle(r.Instance), Section(r))
		if updated != notes {
			rel["ReleaseNotes"] = updated
			if _, err := cl.Put(ctx, cl.SpacePath("releases/"+url.PathEscape(str(rel["Id"])), false), rel); err != nil {
				return out, fmt.Errorf("writing the notes of release %s of %s: %w", version, name, err)
			}
			rec.Changed = true
		}
		out = append(out, rec)
	}
	return out, nil
}
