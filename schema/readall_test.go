package schema

import (
	"strings"
	"testing"
)

// TestListForms checks every singleton kind's list form (ReadAll) against
// its per-owner read: a list asked for by IDs names the owner field that
// Read's path is filled from, so the list asks for exactly what the
// per-owner reads would read; a list without IDs answers the whole space
// and names each item's owner in ParentField; paging is only said of a
// list asked for by IDs; parts kinds and binary files have no list form
// by IDs.
func TestListForms(t *testing.T) {
	n := 0
	for _, k := range Kinds() {
		if k.ReadAll == "" {
			if k.ReadAllBy != "" || k.ReadAllIDs || k.ReadAllPaged {
				t.Errorf("%s: ReadAllBy, ReadAllIDs or ReadAllPaged without ReadAll", k.Name)
			}
			continue
		}
		n++
		switch {
		case k.Read == "":
			t.Errorf("%s: a list form without a per-owner Read to fall back to", k.Name)
		case k.Shape == ShapeBinary:
			t.Errorf("%s: a binary file has no list form", k.Name)
		case k.ReadAllBy == "" && k.ParentField == "":
			t.Errorf("%s: a list of the whole space needs ParentField to name each item's owner", k.Name)
		case k.ReadAllBy == "" && (k.ReadAllPaged || k.ReadAllIDs):
			t.Errorf("%s: a paged list, or one asked for by IDs, is matched to owners by ReadAllBy", k.Name)
		case k.ReadAllBy != "" && !strings.Contains(k.Read, "{"+k.ReadAllBy+"}"):
			t.Errorf("%s: ReadAllBy %q is not the field Read %q is filled from", k.Name, k.ReadAllBy, k.Read)
		case k.ReadAllBy != "" && k.Shape == ShapeParts:
			t.Errorf("%s: a parts kind's list form is its legacy document's, which has no IDs", k.Name)
		}
		if strings.ContainsAny(k.ReadAll, "{?") {
			t.Errorf("%s: ReadAll %q holds a placeholder or a query", k.Name, k.ReadAll)
		}
	}
	if n == 0 {
		t.Fatal("no kind has a list form")
	}
}
