package octosim

import (
	"strings"
	"testing"
)

func TestFoldKey(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"Deploy Web", "deploy web"},
		{"Kelvin", "\u212Aelvin"}, // the Kelvin sign folds to K
		{"Straße", "STRAßE"},
		{"Projects-1", "projects-1"},
		{"ſtep", "Step"}, // long s
		{"Ünïcode", "üNÏCODE"},
		{"a", "b"},
		{"Σ", "ς"},
	} {
		if got, want := foldKey(tc.a) == foldKey(tc.b), strings.EqualFold(tc.a, tc.b); got != want {
			t.Errorf("foldKey(%q) == foldKey(%q) is %v, EqualFold says %v", tc.a, tc.b, got, want)
		}
	}
}

func TestCollWhere(t *testing.T) {
	c := newColl()
	c.put("Channels-1", map[string]any{"Id": "Channels-1", "ProjectId": "Projects-1", "Name": "Default"})
	c.put("Channels-2", map[string]any{"Id": "Channels-2", "ProjectId": "Projects-2", "Name": "Default"})
	ids := func(field, value string) string {
		var out []string
		for _, d := range c.where(field, value) {
			out = append(out, str(d["Id"]))
		}
		return strings.Join(out, ",") // in insertion order

	}
	steps := []struct {
		name         string
		change       func()
		field, value string
		want         string
	}{
		{"index built on first use", nil, "ProjectId", "projects-1", "Channels-1"},
		{"another field", nil, "Name", "DEFAULT", "Channels-1,Channels-2"},
		{"a new document is indexed", func() {
			c.put("Channels-3", map[string]any{"Id": "Channels-3", "ProjectId": "Projects-1", "Name": "Hotfix"})
		}, "ProjectId", "Projects-1", "Channels-1,Channels-3"},
		{"a replaced document moves", func() {
			c.put("Channels-3", map[string]any{"Id": "Channels-3", "ProjectId": "Projects-2", "Name": "Hotfix"})
		}, "ProjectId", "Projects-1", "Channels-1"},
		{"a removed document goes", func() { c.remove("Channels-2") }, "ProjectId", "Projects-2", "Channels-3"},
		{"insertion order, not ID order", func() {
			c.put("Channels-0", map[string]any{"Id": "Channels-0", "ProjectId": "Projects-2", "Name": "Beta"})
			c.put("Channels-3", map[string]any{"Id": "Channels-3", "ProjectId": "Projects-2", "Name": "Hotfix 2"})
		}, "ProjectId", "Projects-2", "Channels-3,Channels-0"},
		{"no match", nil, "Name", "Release", ""},
	}
	for _, st := range steps {
		if st.change != nil {
			st.change()
		}
		if got := ids(st.field, st.value); got != st.want {
			t.Errorf("%s: where(%s, %s) = %q, want %q", st.name, st.field, st.value, got, st.want)
		}
	}
	for _, tc := range []struct {
		id   string
		want bool
	}{{"Channels-1", true}, {"CHANNELS-1", true}, {"channels-3", true}, {"Channels-2", false}} {
		if got := c.get(tc.id) != nil; got != tc.want {
			t.Errorf("get(%q) found = %v, want %v", tc.id, got, tc.want)
		}
	}
	var nilColl *coll
	if got := nilColl.where("ProjectId", "x"); got != nil {
		t.Errorf("nil coll: %v", got)
	}
}
