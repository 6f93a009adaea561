package octosim

import (
	"slices"
	"testing"
)

// Issue 19, items 5 and 7: what a real server fills in and what it accepts
// that the simulator once refused, each through HTTP on every conformance
// version.

func TestConformanceTypedDefaults(t *testing.T) {
	for _, v := range ConformanceVersions {
		t.Run(v, func(t *testing.T) {
			f := newFixture(t, Options{ServerVersion: v})
			for feedType, want := range map[string][]any{
				"NuGet":  {"Server", "ExecutionTarget"},
				"Docker": {"ExecutionTarget", "NotAcquired"},
				"Helm":   {"ExecutionTarget", "NotAcquired"},
			} {
				got := f.post(sp1("feeds"), map[string]any{"Name": feedType + " feed", "FeedType": feedType, "FeedUri": "https://example.com/"})
				if !slices.Equal(asSlice(got["PackageAcquisitionLocationOptions"]), want) {
					t.Errorf("%s feed: PackageAcquisitionLocationOptions %v, want %v", feedType, got["PackageAcquisitionLocationOptions"], want)
				}
				// PUT replaces: an omitted field takes the default again.
				delete(got, "PackageAcquisitionLocationOptions")
				got = f.put(sp1("feeds/"+str(got["Id"])), got)
				if !slices.Equal(asSlice(got["PackageAcquisitionLocationOptions"]), want) {
					t.Errorf("%s feed after PUT: PackageAcquisitionLocationOptions %v, want %v", feedType, got["PackageAcquisitionLocationOptions"], want)
				}
			}
			kept := f.post(sp1("feeds"), map[string]any{"Name": "Server only", "FeedType": "NuGet", "FeedUri": "https://example.com/",
				"PackageAcquisitionLocationOptions": []any{"Server"}})
			if !slices.Equal(asSlice(kept["PackageAcquisitionLocationOptions"]), []any{"Server"}) {
				t.Errorf("a sent PackageAcquisitionLocationOptions became %v", kept["PackageAcquisitionLocationOptions"])
			}
			acct := f.post(sp1("accounts"), map[string]any{"Name": "Azure", "AccountType": "AzureOidc",
				"SubscriptionNumber": "3a6e4b4e-0000-0000-0000-000000000001", "TenantId": "3a6e4b4e-0000-0000-0000-000000000002",
				"ApplicationId": "3a6e4b4e-0000-0000-0000-000000000003"})
			if acct["Audience"] != "api://AzureADTokenExchange" {
				t.Errorf("Azure OIDC account Audience %v", acct["Audience"])
			}
			own := f.post(sp1("accounts"), map[string]any{"Name": "Azure 2", "AccountType": "AzureOidc", "Audience": "api://mine",
				"SubscriptionNumber": "3a6e4b4e-0000-0000-0000-000000000001", "TenantId": "3a6e4b4e-0000-0000-0000-000000000002",
				"ApplicationId": "3a6e4b4e-0000-0000-0000-000000000003"})
			if own["Audience"] != "api://mine" {
				t.Errorf("a sent Audience became %v", own["Audience"])
			}
			aws := f.post(sp1("accounts"), map[string]any{"Name": "AWS", "AccountType": "AmazonWebServicesAccount", "AccessKey": "AK"})
			if _, ok := aws["Audience"]; ok {
				t.Errorf("an AWS key account got an Audience: %v", aws["Audience"])
			}
		})
	}
}
