package schema

import "testing"

// TestSensitiveFlag checks the registry accessor for a variable value's
// sensitive mark.
func TestSensitiveFlag(t *testing.T) {
	for _, tc := range []struct {
		name         string
		m            map[string]any
		sens, marked bool
	}{
		{"sensitive", map[string]any{"Name": "p", "IsSensitive": true}, true, true},
		{"plain", map[string]any{"Name": "p", "IsSensitive": false}, false, true},
		{"not a variable", map[string]any{"Name": "p"}, false, false},
		{"nil", nil, false, false},
	} {
		if s, m := SensitiveFlag(tc.m); s != tc.sens || m != tc.marked {
			t.Errorf("%s: got %v, %v; want %v, %v", tc.name, s, m, tc.sens, tc.marked)
		}
	}
}

// TestSecretRole checks which secrets get a generated certificate or no
// placeholder at all, rather than placeholder text.
func TestSecretRole(t *testing.T) {
	for _, tc := range []struct {
		kind string
		at   []string
		want SecretRole
	}{
		{Certificate, []string{"CertificateData"}, SecretCertificate},
		{Certificate, []string{"Password"}, SecretCertificatePassword},
		{Account, []string{"Password"}, SecretText},
		{Feed, []string{"Password"}, SecretText},
		{Certificate, []string{"Other", "CertificateData"}, SecretText},
	} {
		if got := MustLookup(tc.kind).SecretRole(tc.at); got != tc.want {
			t.Errorf("%s %v: %v, want %v", tc.kind, tc.at, got, tc.want)
		}
	}
}

// TestKept checks why --prune keeps a destination-only channel: the
// project's default, or the one the destination project's release
// creation strategy names unless the bundle's project sets its own.
func TestKept(t *testing.T) {
	ch := MustLookup(Channel)
	rcs := func(id any) map[string]any {
		return map[string]any{"ReleaseCreationStrategy": map[string]any{"ChannelId": id}}
	}
	for _, tc := range []struct {
		name         string
		doc          map[string]any
		dest, bundle map[string]any
		want         string
	}{
		{"default", map[string]any{"IsDefault": true}, nil, nil, "it is the project's default channel"},
		{"release creation", map[string]any{}, rcs("Channels-2"), nil, "the project's release creation strategy uses it"},
		{"another channel", map[string]any{}, rcs("Channels-3"), nil, ""},
		{"bundle sets its own", map[string]any{}, rcs("Channels-2"), rcs("Main"), ""},
		{"bundle sets null", map[string]any{}, rcs("Channels-2"), rcs(nil), ""},
		{"bundle project without it", map[string]any{}, rcs("Channels-2"), map[string]any{"Name": "P"}, "the project's release creation strategy uses it"},
		{"neither", map[string]any{"IsDefault": false}, map[string]any{}, nil, ""},
	} {
		if got := ch.Kept(tc.doc, "Channels-2", tc.dest, tc.bundle); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := MustLookup(Runbook).Kept(map[string]any{"IsDefault": true}, "Runbooks-1", nil, nil); got != "" {
		t.Errorf("a runbook is never kept, got %q", got)
	}
}

// TestSelectedBy checks which project a partial export's list must name
// for an entity, and which kinds it filters out.
func TestSelectedBy(t *testing.T) {
	for _, tc := range []struct {
		kind     string
		names    []string
		want     string
		ok       bool
		filtered bool
	}{
		{Project, []string{"Web"}, "Web", true, false},
		{RunbookProcess, []string{"Web", "Deploy"}, "Web", true, false},
		{TenantVariables, []string{"Acme"}, "", false, false},
		{Environment, []string{"Test"}, "", false, false},
		{Project, nil, "", false, false},
		{Team, []string{"Ops"}, "", false, true},
		{ScopedUserRole, []string{"Ops"}, "", false, true},
		{UserRole, []string{"Viewer"}, "", false, true},
	} {
		k := MustLookup(tc.kind)
		got, ok := k.SelectedBy(tc.names)
		if got != tc.want || ok != tc.ok || k.Filtered() != tc.filtered {
			t.Errorf("%s %v: %q, %v, filtered %v; want %q, %v, %v", tc.kind, tc.names, got, ok, k.Filtered(), tc.want, tc.ok, tc.filtered)
		}
	}
	if r := MustLookup(RunbookProcess).Root(); r.Name != Project {
		t.Errorf("root of a runbook process: %s", r.Name)
	}
}

// TestTally checks what a bundle summary counts of an entity.
func TestTally(t *testing.T) {
	doc := map[string]any{"Steps": []any{1, 2, 3}}
	if n := MustLookup(DeploymentProcess).Tally.Count(doc); n != 3 {
		t.Errorf("steps: %d", n)
	}
	if n := MustLookup(Channel).Tally.Count(doc); n != 1 {
		t.Errorf("channels: %d", n)
	}
}
