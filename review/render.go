package review

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// maxValue is the most characters of a JSON value printed inline in text
// and Markdown (JSON output is never shortened).
const maxValue = 400

// ANSI colours of the text output.
const (
	ansiReset  = "\033[0m"
	ansiBold   = "\033[1m"
	ansiRed    = "\033[31m"
	ansiGreen  = "\033[32m"
	ansiYellow = "\033[33m"
	ansiCyan   = "\033[36m"
)

// Totals returns the number of added, removed and changed entities.
func (r *Report) Totals() Count {
	var t Count
	for _, c := range r.Summary {
		t.Added += c.Added
		t.Removed += c.Removed
		t.Changed += c.Changed
	}
	return t
}

// String renders the count as "1 added, 2 removed, 3 changed".
func (c Count) String() string {
	return fmt.Sprintf("%d added, %d removed, %d changed", c.Added, c.Removed, c.Changed)
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report for a terminal or a log: a header naming the
// two bundles, one line per entity (+ added, - removed, ~ changed) with its
// changed fields indented below, and a total. With color, ANSI colours mark
// additions, removals, changes and hunk headers.
func (r *Report) WriteText(w io.Writer, color bool) error {
	paint := func(code, s string) string {
		if !color || s == "" {
			return s
		}
		return code + s + ansiReset
	}
	var b bytes.Buffer
	fmt.Fprintln(&b, paint(ansiBold, "--- old: "+describeSide(r.Old)))
	fmt.Fprintln(&b, paint(ansiBold, "+++ new: "+describeSide(r.New)))
	if r.Equal {
		fmt.Fprintln(&b, "no differences")
		_, err := w.Write(b.Bytes())
		return err
	}
	for _, c := range r.Changes {
		mark, code := "~", ansiYellow
		switch c.Op {
		case Added:
			mark, code = "+", ansiGreen
		case Removed:
			mark, code = "-", ansiRed
		}
		fmt.Fprintln(&b, paint(code, fmt.Sprintf("%s %s (%s)", mark, c.Title(), c.Path)))
		for _, l := range fieldLines(c.Fields) {
			code := ""
			switch {
			case strings.HasPrefix(l, "@@"):
				code = ansiCyan
			case strings.HasPrefix(l, "+"):
				code = ansiGreen
			case strings.HasPrefix(l, "-"):
				code = ansiRed
			}
			fmt.Fprintln(&b, "    "+paint(code, l))
		}
	}
	fmt.Fprintln(&b, r.Totals().String())
	_, err := w.Write(b.Bytes())
	return err
}

func describeSide(s Side) string {
	return fmt.Sprintf("%s (%s, space %q, %s %s, exported %s)", s.Path, s.Digest, s.Space, s.Server, s.ServerVersion, s.ExportedAt.UTC().Format(time.RFC3339))
}

// fieldLines renders an entity's field differences as diff lines: lines
// starting with "+" are new, "-" old, "@@" hunk headers of a line diff, and
// two spaces name the place of what follows.
func fieldLines(fs []Field) []string {
	var out []string
	for _, f := range fs {
		lbl := f.Label
		if lbl == "" {
			lbl = "(whole document)"
		}
		switch f.Op {
		case Added:
			out = append(out, "+ "+lbl+": "+value(f.After))
		case Removed:
			out = append(out, "- "+lbl+": "+value(f.Before))
		case Renamed:
			out = append(out, "  "+lbl+" renamed:", "- "+value(f.Before), "+ "+value(f.After))
		case Reordered:
			out = append(out, "  "+lbl+" reordered:", "- "+value(f.Before), "+ "+value(f.After))
		default:
			if f.Diff != "" {
				out = append(out, "  "+lbl+":")
				out = append(out, strings.Split(strings.TrimSuffix(f.Diff, "\n"), "\n")...)
				continue
			}
			out = append(out, "  "+lbl+":", "- "+value(f.Before), "+ "+value(f.After))
		}
	}
	return out
}

// value renders v as compact JSON, shortened past maxValue characters.
func value(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	s := strings.TrimSuffix(b.String(), "\n")
	if utf8.RuneCountInString(s) > maxValue {
		r := []rune(s)
		s = string(r[:maxValue]) + fmt.Sprintf("… (%d more characters)", len(r)-maxValue)
	}
	return s
}

// group is a section of the Markdown output.
type group struct {
	title   string
	changes []EntityChange
	count   Count
}

// groups splits the changes into the bundle's own files (rules, apply
// policy), space-wide entities, and one group per project (by name).
func (r *Report) groups() []group {
	var bundle, space group
	bundle.title, space.title = "Bundle (rules and apply policy)", "Space"
	projects := map[string]*group{}
	for _, c := range r.Changes {
		g := &space
		switch {
		case c.Kind == PolicyKind || c.Kind == ManifestKind:
			g = &bundle
		case c.Project != "":
			if projects[c.Project] == nil {
				projects[c.Project] = &group{title: fmt.Sprintf("Project %q", c.Project)}
			}
			g = projects[c.Project]
		}
		g.changes = append(g.changes, c)
		switch c.Op {
		case Added:
			g.count.Added++
		case Removed:
			g.count.Removed++
		default:
			g.count.Changed++
		}
	}
	var out []group
	for _, g := range []group{bundle, space} {
		if len(g.changes) > 0 {
			out = append(out, g)
		}
	}
	names := make([]string, 0, len(projects))
	for n := range projects {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		out = append(out, *projects[n])
	}
	return out
}

// WriteMarkdown writes the report as Markdown for a pull-request comment: a
// header with both bundles, a summary table per kind, then one collapsible
// section per project (and for space-wide entities and the bundle's rules
// and policy) with each entity's changes in a diff block.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b bytes.Buffer
	b.WriteString("## octobundle diff\n\n")
	b.WriteString("| | old | new |\n|---|---|---|\n")
	row := func(name, o, n string) { fmt.Fprintf(&b, "| %s | %s | %s |\n", name, o, n) }
	row("bundle", code(r.Old.Path), code(r.New.Path))
	row("digest", code(r.Old.Digest), code(r.New.Digest))
	row("source", cell(r.Old.Server+" "+r.Old.ServerVersion), cell(r.New.Server+" "+r.New.ServerVersion))
	row("space", cell(r.Old.Space), cell(r.New.Space))
	row("exported", r.Old.ExportedAt.UTC().Format(time.RFC3339), r.New.ExportedAt.UTC().Format(time.RFC3339))
	b.WriteString("\n")
	if r.Equal {
		b.WriteString("**No differences.**\n")
		_, err := w.Write(b.Bytes())
		return err
	}
	fmt.Fprintf(&b, "**%s**\n\n", r.Totals())
	b.WriteString("| kind | added | removed | changed |\n|---|--:|--:|--:|\n")
	kinds := make([]string, 0, len(r.Summary))
	for _, c := range r.Changes {
		if !slices.Contains(kinds, c.Kind) {
			kinds = append(kinds, c.Kind)
		}
	}
	for _, k := range kinds {
		c := r.Summary[k]
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", k, num(c.Added), num(c.Removed), num(c.Changed))
	}
	t := r.Totals()
	fmt.Fprintf(&b, "| **total** | **%d** | **%d** | **%d** |\n", t.Added, t.Removed, t.Changed)
	for _, g := range r.groups() {
		fmt.Fprintf(&b, "\n<details>\n<summary><b>%s</b>: %s</summary>\n\n", htmlEscape(g.title), g.count)
		for _, c := range g.changes {
			fmt.Fprintf(&b, "**%s** %s %s\n\n", c.Op, cell(c.Title()), code(c.Path))
			if lines := fieldLines(c.Fields); len(lines) > 0 {
				body := strings.Join(lines, "\n") + "\n"
				fence := fenceFor(body)
				fmt.Fprintf(&b, "%sdiff\n%s%s\n\n", fence, body, fence)
			}
		}
		b.WriteString("</details>\n")
	}
	_, err := w.Write(b.Bytes())
	return err
}

func num(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprint(n)
}

// code renders s as inline code, with a fence longer than any run of
// backticks in it.
func code(s string) string {
	if s == "" {
		return ""
	}
	f := strings.Repeat("`", longestRun(s, '`')+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		return f + " " + s + " " + f
	}
	return f + s + f
}

// cell escapes text for a Markdown table cell or paragraph.
func cell(s string) string {
	r := strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;", "*", `\*`, "_", `\_`, "`", "\\`", "\n", " ")
	return strings.TrimSpace(r.Replace(s))
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// fenceFor returns a code fence longer than any run of backticks in body.
func fenceFor(body string) string {
	return strings.Repeat("`", max(3, longestRun(body, '`')+1))
}

func longestRun(s string, c byte) int {
	best, n := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			n++
			best = max(best, n)
		} else {
			n = 0
		}
	}
	return best
}
