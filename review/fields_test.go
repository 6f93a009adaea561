package review

import (
	"strings"
	"testing"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/schema"
)

func decode(t *testing.T, s string) any {
	t.Helper()
	v, err := bundles.Decode([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestLineDiff(t *testing.T) {
	cases := []struct {
		name, a, b, want string
	}{
		{"one changed line", "a\nb\nc\n", "a\nB\nc\n", "@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"},
		{"added at end", "a\n", "a\nb\n", "@@ -1 +1,2 @@\n a\n+b\n"},
		{"from empty", "", "x\n", "@@ -0,0 +1 @@\n+x\n"},
		{"no final newline", "a\nb", "a\nc", "@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of text\n+c\n\\ No newline at end of text\n"},
		{"two hunks far apart", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n", "x\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\ny\n",
			"@@ -1,4 +1,4 @@\n-1\n+x\n 2\n 3\n 4\n@@ -9,4 +9,4 @@\n 9\n 10\n 11\n-12\n+y\n"},
		{"close changes share a hunk", "1\n2\n3\n4\n5\n", "x\n2\n3\n4\ny\n", "@@ -1,5 +1,5 @@\n-1\n+x\n 2\n 3\n 4\n-5\n+y\n"},
		{"equal", "a\n", "a\n", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := LineDiff(tc.a, tc.b); got != tc.want {
				t.Errorf("LineDiff:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestFields(t *testing.T) {
	cases := []struct {
		name          string
		before, after string
		want          []string // "op label" of each field, in order
	}{
		{"renamed step with its action",
			`{"Steps":[{"Name":"A","Actions":[{"Name":"A","X":1}]},{"Name":"B"}]}`,
			`{"Steps":[{"Name":"A2","Actions":[{"Name":"A2","X":1}]},{"Name":"B"}]}`,
			[]string{`renamed Steps["A"]`}},
		{"renamed and changed is remove and add",
			`{"Steps":[{"Name":"A","X":1}]}`, `{"Steps":[{"Name":"A2","X":2}]}`,
			[]string{`removed Steps["A"]`, `added Steps["A2"]`}},
		{"reordered steps",
			`{"Steps":[{"Name":"A"},{"Name":"B"},{"Name":"C"}]}`, `{"Steps":[{"Name":"C"},{"Name":"A"},{"Name":"B"}]}`,
			[]string{`reordered Steps`}},
		{"a new step is no reorder",
			`{"Steps":[{"Name":"A"},{"Name":"C"}]}`, `{"Steps":[{"Name":"A"},{"Name":"B"},{"Name":"C"}]}`,
			[]string{`added Steps["B"]`}},
		{"variable value by name and scope",
			`{"Variables":[{"Name":"Db","Scope":{"Environment":["Production"]},"Value":"a"}]}`,
			`{"Variables":[{"Name":"Db","Scope":{"Environment":["Production"]},"Value":"b"}]}`,
			[]string{`changed Variables["Db" Environment=Production].Value`}},
		{"re-scoped variable",
			`{"Variables":[{"Name":"Db","Scope":{"Environment":["Test"]},"Value":"a"}]}`,
			`{"Variables":[{"Name":"Db","Scope":{"Environment":["QA"]},"Value":"a"}]}`,
			[]string{`added Variables["Db" Environment=QA]`, `removed Variables["Db" Environment=Test]`}},
		{"script as line diff",
			`{"Body":"line 1\nline 2\n"}`, `{"Body":"line 1\nline two\n"}`,
			[]string{`changed Body (diff)`}},
		{"short string inline",
			`{"Description":"a"}`, `{"Description":"b"}`,
			[]string{`changed Description`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, f := range Fields(nil, decode(t, tc.before), decode(t, tc.after)) {
				s := f.Op + " " + f.Label
				if f.Diff != "" {
					s += " (diff)"
				}
				got = append(got, s)
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("Fields:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestMarkdownEscapes(t *testing.T) {
	if got := code("a`b"); got != "``a`b``" {
		t.Errorf("code: %q", got)
	}
	if got := fenceFor("x\n```\ny"); got != "````" {
		t.Errorf("fence: %q", got)
	}
	if got := cell("a|b <c>"); got != `a\|b &lt;c&gt;` {
		t.Errorf("cell: %q", got)
	}
}

// TestBinaryChange: a changed binary file (a project logo) is one change
// naming both sizes and hashes, never a dump of its bytes.
func TestBinaryChange(t *testing.T) {
	var k *schema.Kind
	for _, x := range schema.Kinds() {
		if x.Shape == schema.ShapeBinary {
			k = x
			break
		}
	}
	if k == nil {
		t.Skip("the registry has no binary kind")
	}
	names := make([]string, strings.Count(k.File, "{}"))
	for i := range names {
		names[i] = "P"
	}
	mk := func(data []byte) *bundles.Bundle {
		b := bundles.New(bundles.Manifest{})
		if _, err := b.PutEntity(k, names, data); err != nil {
			t.Fatal(err)
		}
		if err := b.Seal(); err != nil {
			t.Fatal(err)
		}
		return b
	}
	r := Compare("a", mk([]byte("\x89PNG\r\n\x1a\nold")), "b", mk([]byte("\x89PNG\r\n\x1a\nnewer")))
	if len(r.Changes) != 1 || len(r.Changes[0].Fields) != 1 {
		t.Fatalf("changes: %+v", r.Changes)
	}
	f := r.Changes[0].Fields[0]
	if f.Label != "(file content)" || !strings.HasPrefix(f.Before.(string), "11 bytes, sha256:") || !strings.HasPrefix(f.After.(string), "13 bytes, sha256:") {
		t.Errorf("binary change: %+v", f)
	}
}

// TestTalliesHaveCounts checks that every count the registry asks a bundle
// summary to keep (schema.Kind.Tally) is a count of ProjectInfo.
func TestTalliesHaveCounts(t *testing.T) {
	n := 0
	for _, k := range schema.Kinds() {
		if k.Tally == nil {
			continue
		}
		n++
		if (&ProjectInfo{}).count(k.Tally.As) == nil {
			t.Errorf("%s: tally %q is not a count of ProjectInfo", k.Name, k.Tally.As)
		}
	}
	if n != 4 {
		t.Errorf("%d kinds have a tally, want 4 (steps, variables, runbooks, channels)", n)
	}
}
