package octosim

import (
	"net/http"
	"testing"

	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/certificates"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/core"
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
