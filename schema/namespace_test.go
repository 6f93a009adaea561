package schema

import "testing"

// TestNamespacesCoverTargets checks that every name a reference or a
// provided name points at is a kind or a namespace of the table, and that
// every namespace is provided by some kind.
func TestNamespacesCoverTargets(t *testing.T) {
	provided := map[string]bool{}
	for _, k := range Kinds() {
		for _, p := range k.Provides {
			provided[p.Kind] = true
			if Lookup(p.Kind) == nil && LookupNamespace(p.Kind) == nil {
				t.Errorf("%s provides %s, which is neither a kind nor a namespace", k.Name, p.Kind)
			}
		}
		for _, r := range append(append([]Ref(nil), k.Refs...), k.TagRefs...) {
			if r.To != AnyKind && Lookup(r.To) == nil && LookupNamespace(r.To) == nil {
				t.Errorf("%s: %s refers to %s, which is neither a kind nor a namespace", k.Name, r.Path, r.To)
			}
		}
	}
	for _, ns := range namespaces {
		if Lookup(ns.Name) != nil {
			t.Errorf("namespace %s is also a kind", ns.Name)
		}
		if !provided[ns.Name] {
			t.Errorf("no kind provides namespace %s", ns.Name)
		}
	}
}

// TestSingularPlural checks the human names messages use.
func TestSingularPlural(t *testing.T) {
	for _, tc := range []struct{ name, singular, plural string }{
		{WorkerPool, "worker pool", "worker pools"},
		{MachinePolicy, "machine policy", "machine policies"},
		{DeploymentProcess, "deployment process", "deployment processes"},
		{Action, "step action", "step actions"},
		{ProcessOwner, "process (project or runbook)", "ProcessOwners"},
		{ProjectTemplate, "project tenant variable template", "variable templates"},
		{MachineRole, "MachineRole", "MachineRoles"},
		{"Unknown", "Unknown", "Unknowns"},
	} {
		if got := Singular(tc.name); got != tc.singular {
			t.Errorf("Singular(%s) = %q, want %q", tc.name, got, tc.singular)
		}
		if got := Plural(tc.name); got != tc.plural {
			t.Errorf("Plural(%s) = %q, want %q", tc.name, got, tc.plural)
		}
	}
}
