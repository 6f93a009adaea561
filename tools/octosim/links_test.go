package octosim

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/certificates"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/core"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/tagsets"
)

// TestConformanceActionLinks (issue 19 item 8): certificates carry
// Archive/Unarchive, users Spaces/Teams, projects ConvertToVcs, and the
// typed client that follows them gets what a real server answers.
func TestConformanceActionLinks(t *testing.T) {
	f := newFixture(t, Options{})
	cert := certificates.NewCertificateResource("Web", core.NewSensitiveValue("MIIBase64=="), core.NewSensitiveValue("pfxpass"))
	cc, err := f.c.Certificates.Add(cert)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"Archive", "Unarchive"} {
		if cc.Links[l] == "" {
			t.Fatalf("certificate lacks Links.%s: %v", l, cc.Links)
		}
	}
	archived, err := f.c.Certificates.Archive(cc)
	if err != nil {
		t.Fatalf("Certificates.Archive: %v", err)
	}
	if archived.Archived == "" {
		t.Errorf("archived certificate has no Archived time")
	}
	unarchived, err := f.c.Certificates.Unarchive(archived)
	if err != nil {
		t.Fatalf("Certificates.Unarchive: %v", err)
	}
	if unarchived.Archived != "" {
		t.Errorf("unarchived certificate still Archived %q", unarchived.Archived)
	}
	if r := f.raw(http.MethodGet, "/api/Spaces-1/certificates/"+cc.ID+"/archive", testKey, nil); r.status != http.StatusMethodNotAllowed {
		t.Errorf("GET archive: %d, want 405", r.status)
	}

	me, err := f.c.Users.GetMe()
	if err != nil {
		t.Fatal(err)
	}
	spaces, err := f.c.Users.GetSpaces(me)
	if err != nil || len(spaces) == 0 || spaces[0].GetID() != "Spaces-1" {
		t.Errorf("Users.GetSpaces: %v %v", spaces, err)
	}
	teams, err := f.c.Users.GetTeams(me)
	if err != nil || teams == nil {
		t.Errorf("Users.GetTeams: %v %v", teams, err)
	}

	pp := f.post("/api/Spaces-1/projects", map[string]any{"Name": "Web", "LifecycleId": str(firstID(f, "lifecycles")), "ProjectGroupId": str(firstID(f, "projectgroups"))})
	link := str(pp["Links"].(map[string]any)["ConvertToVcs"])
	if link != "/api/Spaces-1/projects/"+str(pp["Id"])+"/git/convert" {
		t.Errorf("project Links.ConvertToVcs = %q", link)
	}
	if r := f.raw(http.MethodPost, link, testKey, map[string]any{"CommitMessage": "x"}); r.status != http.StatusBadRequest {
		t.Errorf("POST ConvertToVcs: %d %s, want 400", r.status, r.body)
	}
}

func firstID(f *fixture, coll string) any {
	items := f.get("/api/Spaces-1/" + coll)["Items"].([]any)
	return items[0].(map[string]any)["Id"]
}

// TestConformanceTagIDs (issue 19 item 6): a tag's ID is its set's ID, a
// slash and a server-wide tag number, as on real servers.
func TestConformanceTagIDs(t *testing.T) {
	f := newFixture(t, Options{})
	a := f.post("/api/Spaces-1/tagsets", map[string]any{"Name": "Tier", "Tags": []any{
		map[string]any{"Name": "Gold", "Color": "#333333"}, map[string]any{"Name": "Silver", "Color": "#333333"}}})
	b := f.post("/api/Spaces-1/tagsets", map[string]any{"Name": "Region", "Tags": []any{
		map[string]any{"Name": "EU", "Color": "#333333"}}})
	tagRe := regexp.MustCompile(`^TagSets-\d+/Tags-\d+$`)
	seen := map[string]bool{}
	for _, set := range []map[string]any{a, b} {
		for _, tg := range set["Tags"].([]any) {
			id := str(tg.(map[string]any)["Id"])
			if !tagRe.MatchString(id) || !strings.HasPrefix(id, str(set["Id"])+"/") {
				t.Errorf("tag %v of %s: Id %q, want %s/Tags-N", tg.(map[string]any)["Name"], set["Id"], id, set["Id"])
			}
			if seen[id[strings.Index(id, "/"):]] {
				t.Errorf("tag number of %q used twice", id)
			}
			seen[id[strings.Index(id, "/"):]] = true
		}
	}
	// A tag added by PUT gets the set's prefix; the others keep theirs.
	tags := append(a["Tags"].([]any), map[string]any{"Name": "Bronze", "Color": "#333333"})
	a["Tags"] = tags
	got := f.put("/api/Spaces-1/tagsets/"+str(a["Id"]), a)
	for i, tg := range got["Tags"].([]any) {
		id := str(tg.(map[string]any)["Id"])
		if !tagRe.MatchString(id) || !strings.HasPrefix(id, str(a["Id"])+"/") {
			t.Errorf("after PUT tag %d Id %q", i, id)
		}
		if i < 2 && id != str(tags[i].(map[string]any)["Id"]) {
			t.Errorf("after PUT tag %d Id %q changed", i, id)
		}
	}
	// The typed client reads them back.
	ts, err := tagsets.GetByID(f.c, "Spaces-1", str(a["Id"]))
	if err != nil || len(ts.Tags) != 3 || !tagRe.MatchString(ts.Tags[2].ID) {
		t.Errorf("tagsets.GetByID: %+v %v", ts, err)
	}
}
