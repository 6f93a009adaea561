package results

import (
	"bytes"
	"strings"
	"testing"
)

const digest = "sha256:1111111111111111111111111111111111111111111111111111111111111111"

// TestParsePromotion: the promotion line is found wherever the notes put
// it, round-trips through String, and nothing else passes for it.
func TestParsePromotion(t *testing.T) {
	p := Promotion{Instance: "https://dev.example.com", Version: "1.4.2", Bundle: digest}
	cases := []struct {
		name, notes string
		want        *Promotion
	}{
		{"own line", "Fixes.\n\n" + p.String() + "\n", &p},
		{"only line", p.String(), &p},
		{"emphasis", "_" + p.String() + "_", &p},
		{"capitalised", "Promoted from dev release 1.4.2-beta.1, bundle " + digest + ".", &Promotion{Instance: "dev", Version: "1.4.2-beta.1", Bundle: digest}},
		{"instance with spaces", "promoted from Dev Octopus release 2.0.0, bundle " + digest, &Promotion{Instance: "Dev Octopus", Version: "2.0.0", Bundle: digest}},
		{"none", "Adds EUR/CHF pair.", nil},
		{"short digest", "promoted from dev release 1.0.0, bundle sha256:abc", nil},
		{"no version", "promoted from dev release , bundle " + digest, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := ParsePromotion(c.notes)
			if ok != (c.want != nil) || (ok && got != *c.want) {
				t.Errorf("ParsePromotion(%q) = %+v, %v; want %+v", c.notes, got, ok, c.want)
			}
		})
	}
}

// TestReplaceSection: the section is appended once, replaced in place
// (whatever follows it kept), and replacing it with itself changes
// nothing.
func TestReplaceSection(t *testing.T) {
	const title = "Deployments on prod"
	sec := "## Deployments on prod\n\nnew\n"
	cases := []struct {
		name, notes, want string
	}{
		{"empty notes", "", sec},
		{"appended", "Adds EUR/CHF pair.\n", "Adds EUR/CHF pair.\n\n" + sec},
		{"appended after trailing blank lines", "Notes\n\n\n", "Notes\n\n" + sec},
		{"replaced at the end", "Notes\n\n## Deployments on prod\n\nold\nolder\n", "Notes\n\n" + sec},
		{"replaced before another section", "Notes\n\n## Deployments on prod\n\nold\n\n## Deployments on dr\n\nkept\n",
			"Notes\n\n" + sec + "\n## Deployments on dr\n\nkept\n"},
		{"other instance untouched", "Notes\n\n## Deployments on dr\n\nkept\n", "Notes\n\n## Deployments on dr\n\nkept\n\n" + sec},
		{"CRLF heading", "Notes\r\n\r\n## Deployments on prod\r\nold\r\n", "Notes\r\n\r\n" + sec},
		{"a level-3 heading stays inside", "## Deployments on prod\n### detail\nold\n# Top\n", sec + "\n# Top\n"},
		{"same title as text is not a heading", "Deployments on prod\n", "Deployments on prod\n\n" + sec},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := ReplaceSection(c.notes, title, sec)
			if got != c.want {
				t.Errorf("ReplaceSection(%q) =\n%q\nwant\n%q", c.notes, got, c.want)
			}
			if again := ReplaceSection(got, title, sec); again != got {
				t.Errorf("a replay changed the notes:\n%q\n%q", got, again)
			}
			if n := strings.Count(got, "## "+title+"\n"); n != 1 {
				t.Errorf("%d sections", n)
			}
		})
	}
}

// TestSection: the section is a Markdown table of names, its cells
// escaped, without a time of recording.
func TestSection(t *testing.T) {
	r := Release{Name: "1.4.2", Project: "OctoFX", Instance: "prod", Deployments: []Deployment{
		{Environment: "Staging", State: "Success", QueueTime: "2026-01-02T03:04:05.123+00:00", DeployedBy: "alice", Duration: "4 seconds"},
		{Environment: "Production", Tenant: "Acme | Co", State: "Failed", ErrorMessage: "line one\nline two"},
	}}
	got := Section(r)
	for _, want := range []string{
		"## Deployments on prod\n",
		"| Staging |  | Success | 2026-01-02 03:04:05Z |  |  | 4 seconds | alice |  |\n",
		`| Production | Acme \| Co | Failed |  |  |  |  |  | line one line two |` + "\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("section lacks %q:\n%s", want, got)
		}
	}
	if Section(r) != got {
		t.Error("Section is not deterministic")
	}
}

// TestBuildGrid: every environment of every instance is a column (the
// source first), releases are rows by their source version, newest
// first, and a cell shows the worst of the latest deployment per tenant.
func TestBuildGrid(t *testing.T) {
	src := Instance{Name: "dev", Role: "source", Releases: []Release{
		{Name: "1.4.2", Environments: []string{"Development", "Test"}, Deployments: []Deployment{{Environment: "Development", State: "Success"}}},
		{Name: "1.10.0", Environments: []string{"Development", "Test"}, Deployments: []Deployment{
			{Environment: "Development", State: "Failed", ErrorMessage: "boom"},
			{Environment: "Development", State: "Success"}, // retried: the latest wins
		}},
		{Name: "1.5.0-beta", Environments: []string{"Development", "Test"}},
	}}
	dst := Instance{Name: "prod", Role: "destination", Releases: []Release{
		{Name: "1.4.2-prod", PromotedFrom: &Promotion{Instance: "dev", Version: "1.4.2", Bundle: digest}, Environments: []string{"Staging", "Production"},
			Deployments: []Deployment{
				{Environment: "Staging", State: "Success", CompletedTime: "2026-01-01T00:00:00Z"},
				{Environment: "Production", Tenant: "Acme", State: "Success"},
				{Environment: "Production", Tenant: "Initech", State: "Failed", ErrorMessage: "disk full"},
				{Environment: "DR", State: "Executing"}, // an environment the list lacks
			}},
	}}
	g := BuildGrid("OctoFX", []Instance{src, dst})
	var cols []string
	for _, c := range g.Columns {
		cols = append(cols, c.Instance+"/"+c.Environment)
	}
	if got, want := strings.Join(cols, " "), "dev/Development dev/Test prod/Staging prod/Production prod/DR"; got != want {
		t.Errorf("columns %s, want %s", got, want)
	}
	var rows []string
	for _, r := range g.Rows {
		var cells []string
		for _, c := range r.Cells {
			cells = append(cells, c.label())
		}
		rows = append(rows, r.Version+": "+strings.Join(cells, ", "))
	}
	want := []string{
		"1.10.0: Success, -, -, -, -",
		"1.5.0-beta: -, -, -, -, -",
		"1.4.2: Success, -, Success, Failed (2 tenants), Executing",
	}
	if strings.Join(rows, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows\n%s\nwant\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
	prod := g.Rows[2].Cells[3]
	if prod.ErrorMessage != "disk full" || prod.Deployments != 2 || prod.Release != "1.4.2-prod" {
		t.Errorf("production cell %+v", prod)
	}

	var html bytes.Buffer
	if err := g.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	page := html.String()
	for _, want := range []string{"<!DOCTYPE html>", "<style>", `colspan="2">dev`, `colspan="3">prod`, "background:#db4437", "release 1.4.2-prod", `title="Failed: disk full"`} {
		if !strings.Contains(page, want) {
			t.Errorf("html lacks %q", want)
		}
	}
	for _, external := range []string{"<script", "<link", "src=", "url(", "http://", "https://"} {
		if strings.Contains(page, external) {
			t.Errorf("html is not self-contained: %q", external)
		}
	}
}

// TestCompareVersions: numeric parts as numbers, pre-releases first.
func TestCompareVersions(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"1.10.0", "1.9.0", 1}, {"1.4.2", "1.4.2", 0}, {"1.5.0-beta", "1.5.0", -1}, {"2.0", "1.99.99", 1}, {"1.0.0-a", "1.0.0-b", -1},
	} {
		if got := CompareVersions(c.a, c.b); got != c.want {
			t.Errorf("CompareVersions(%s, %s) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}
