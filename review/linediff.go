package review

import (
	"fmt"
	"strings"

	"github.com/sergi/go-diff/diffmatchpatch"
)

// contextLines is the number of unchanged lines around each change in a
// unified diff, as diff -u and git print.
const contextLines = 3

type diffLine struct {
	op   byte // ' ', '-' or '+'
	text string
}

// LineDiff returns a unified diff (hunks with "@@ -a,b +c,d @@" headers,
// three lines of context, no file header) of the lines of a and b, computed
// with sergi/go-diff line mode. A missing final newline is marked as diff
// marks it ("\ No newline at end of text").
func LineDiff(a, b string) string {
	dmp := diffmatchpatch.New()
	ra, rb, lines := dmp.DiffLinesToRunes(a, b)
	diffs := dmp.DiffCharsToLines(dmp.DiffMainRunes(ra, rb, false), lines)
	var all []diffLine
	for _, d := range diffs {
		op := byte(' ')
		switch d.Type {
		case diffmatchpatch.DiffDelete:
			op = '-'
		case diffmatchpatch.DiffInsert:
			op = '+'
		}
		for _, l := range splitLines(d.Text) {
			all = append(all, diffLine{op, l})
		}
	}
	var sb strings.Builder
	for i := 0; i < len(all); {
		if all[i].op == ' ' {
			i++
			continue
		}
		// A hunk: from contextLines before this change to contextLines
		// after the last change that is at most 2*contextLines away.
		start := max(0, i-contextLines)
		end := i
		for j := i; j < len(all); j++ {
			if all[j].op != ' ' {
				end = j
			} else if j-end > 2*contextLines {
				break
			}
		}
		stop := min(len(all), end+contextLines+1)
		oldStart, newStart := 1, 1
		for _, l := range all[:start] {
			if l.op != '+' {
				oldStart++
			}
			if l.op != '-' {
				newStart++
			}
		}
		oldN, newN := 0, 0
		for _, l := range all[start:stop] {
			if l.op != '+' {
				oldN++
			}
			if l.op != '-' {
				newN++
			}
		}
		fmt.Fprintf(&sb, "@@ -%s +%s @@\n", hunkRange(oldStart, oldN), hunkRange(newStart, newN))
		for _, l := range all[start:stop] {
			sb.WriteByte(l.op)
			if strings.HasSuffix(l.text, "\n") {
				sb.WriteString(l.text)
			} else {
				sb.WriteString(l.text + "\n\\ No newline at end of text\n")
			}
		}
		i = stop
	}
	return sb.String()
}

// hunkRange formats a unified diff range: "start,count", "start" for one
// line, and "start-1,0" for none.
func hunkRange(start, n int) string {
	switch n {
	case 0:
		return fmt.Sprintf("%d,0", start-1)
	case 1:
		return fmt.Sprint(start)
	}
	return fmt.Sprintf("%d,%d", start, n)
}

// splitLines splits s after each "\n"; the last piece may lack one.
func splitLines(s string) []string {
	var out []string
	for s != "" {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			out = append(out, s)
			break
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
	return out
}
