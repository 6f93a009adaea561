package octosim

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"regexp"
)

// Snapshots: a release freezes its project's deployment process and
// variable set (and the library variable sets it includes), a runbook
// snapshot its runbook's process and the project's variables, so later
// edits do not change what was released. A frozen copy has the live ID
// with "-s-{Version}-{5 random characters}" appended
// ("deploymentprocess-Projects-1-s-3-QZX7B", as real servers name them)
// and answers GET at the live document's route
// (/deploymentprocesses/{frozenId}, /variables/{frozenId},
// /runbookProcesses/{frozenId}); a PUT or DELETE of it is refused.
//
// Frozen copies live in the "snapshots" collection of a space (in Dump
// and seeds: the copy with Collection, the live collection, and
// FrozenFrom, the live ID).
const snapshotsStore = "snapshots"

func init() {
	registerSeedCollection(snapshotsStore, "", "Id")
	for _, c := range []string{"deploymentprocesses", "variables", "runbookProcesses"} {
		registerEntityFallback(c, serveFrozen)
	}
}

// freeze stores a frozen copy of the live document id of coll and returns
// the copy's ID ("" when there is no such document).
func (s *Server) freeze(sp *space, coll, id string) string {
	live := sp.coll(coll).get(id)
	if live == nil {
		return ""
	}
	fid := fmt.Sprintf("%s-s-%d-%s", str(live["Id"]), int(num(live["Version"])), randomCode(5))
	d := copyDoc(live)
	d["Id"] = fid
	d["Collection"] = coll
	d["FrozenFrom"] = live["Id"]
	sp.coll(snapshotsStore).put(fid, d)
	return fid
}

// frozenID matches a frozen copy's ID: the live ID, "-s-", the live
// version and a code.
var frozenID = regexp.MustCompile(`^(.+)-s-\d+-[A-Za-z0-9]+$`)

// frozen returns the frozen copy id of coll, without its bookkeeping. A
// seed may hold releases without their frozen copies (captured from a
// real server by the API, which lists no snapshots): such a copy reads as
// the live document it was taken from.
func frozen(sp *space, coll, id string) map[string]any {
	d := sp.coll(snapshotsStore).get(id)
	if d == nil {
		m := frozenID.FindStringSubmatch(id)
		if m == nil || sp.coll(coll).get(m[1]) == nil {
			return nil
		}
		out := copyDoc(sp.coll(coll).get(m[1]))
		out["Id"] = id
		return out
	}
	if str(d["Collection"]) != coll {
		return nil
	}
	out := copyDoc(d)
	delete(out, "Collection")
	delete(out, "FrozenFrom")
	return out
}

// serveFrozen answers a frozen copy at its live collection's route.
func serveFrozen(s *Server, r *request, sp *space, spec *collSpec, id string) (int, any, error) {
	doc := frozen(sp, spec.Name, id)
	if doc == nil {
		return 0, nil, nil
	}
	if r.method != http.MethodGet {
		return 0, nil, badRequestf("%s is a snapshot taken for a release or runbook snapshot; it cannot be modified.", str(doc["Id"]))
	}
	out := s.renderDoc(sp, spec, doc, true)
	// A snapshot answers itself and what it belongs to; the live
	// document's routes (a process's template) are not the snapshot's.
	links := asMap(out.extra["Links"])
	for k := range links {
		if k != "Self" && k != "Project" && k != "Owner" && k != "Runbook" {
			delete(links, k)
		}
	}
	return http.StatusOK, encodeNow(out), nil
}

// randomCode is n random upper-case letters and digits.
func randomCode(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// freezeVariables freezes a project's variable set and the variable sets
// of the library variable sets it includes: the project snapshot's ID and
// the library snapshots' IDs.
func (s *Server) freezeVariables(sp *space, project map[string]any) (string, []any) {
	projectVars := s.freeze(sp, "variables", str(project["VariableSetId"]))
	libs := []any{}
	for _, lid := range strs(project["IncludedLibraryVariableSetIds"]) {
		if lvs := sp.coll("libraryvariablesets").get(lid); lvs != nil {
			if fid := s.freeze(sp, "variables", str(lvs["VariableSetId"])); fid != "" {
				libs = append(libs, fid)
			}
		}
	}
	return projectVars, libs
}
