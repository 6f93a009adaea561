package octosim

import (
	"net/http"
	"testing"
)

// TestSystemRoutes: teams and scoped user roles reached without a space act
// on the entity's own space or the system scope, never on the default
// space (issue 19, item 4: POST /api/teams made a Spaces-1 team, GET
// /api/teams/{id} missed other spaces' teams, POST /api/scopeduserroles
// added a SpaceId).
func TestSystemRoutes(t *testing.T) {
	f := newFixture(t, Options{})
	sp2 := str(f.post("/api/spaces", map[string]any{"Name": "Second", "SpaceManagersTeams": []any{"teams-administrators"}})["Id"])
	inSp2 := f.post("/api/"+sp2+"/teams", map[string]any{"Name": "In second"})
	cases := []struct {
		name      string
		method    string
		path      string
		body      map[string]any
		status    int
		spaceID   any // the answer's SpaceId; nil: null or absent
		wantSpace string
	}{
		{"POST /api/teams without SpaceId is a system team", http.MethodPost, "/api/teams",
			map[string]any{"Name": "System team"}, http.StatusCreated, nil, ""},
		{"POST /api/teams with a SpaceId goes to that space", http.MethodPost, "/api/teams",
			map[string]any{"Name": "Team of second", "SpaceId": sp2}, http.StatusCreated, sp2, sp2},
		{"POST /api/teams to an unknown space", http.MethodPost, "/api/teams",
			map[string]any{"Name": "Lost", "SpaceId": "Spaces-99"}, http.StatusBadRequest, nil, ""},
		{"GET /api/teams/{id} finds another space's team", http.MethodGet, "/api/teams/" + str(inSp2["Id"]),
			nil, http.StatusOK, sp2, ""},
		{"POST /api/scopeduserroles without SpaceId adds none", http.MethodPost, "/api/scopeduserroles",
			map[string]any{"TeamId": "teams-administrators", "UserRoleId": "userroles-systemadministrator"}, http.StatusCreated, nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body any
			if tc.body != nil {
				body = tc.body
			}
			r := f.raw(tc.method, tc.path, testKey, body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.status >= 300 {
				return
			}
			got := r.json(t)
			if sid := got["SpaceId"]; (tc.spaceID == nil && sid != nil && sid != "") || (tc.spaceID != nil && sid != tc.spaceID) {
				t.Errorf("SpaceId %v, want %v", sid, tc.spaceID)
			}
			if tc.wantSpace != "" {
				if r := f.raw(http.MethodGet, "/api/"+tc.wantSpace+"/teams/"+str(got["Id"]), testKey, nil); r.status != http.StatusOK {
					t.Errorf("not in %s: %d", tc.wantSpace, r.status)
				}
			}
		})
	}
	// The system list holds every space's teams and the system's.
	names := map[string]bool{}
	for _, it := range f.get("/api/teams?take=1000")["Items"].([]any) {
		names[str(it.(map[string]any)["Name"])] = true
	}
	for _, n := range []string{"System team", "Team of second", "In second"} {
		if !names[n] {
			t.Errorf("GET /api/teams misses %q: %v", n, names)
		}
	}
}
