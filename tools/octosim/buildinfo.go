package octosim

import (
	"cmp"
	"net/http"
	"strings"
	"time"
)

// Build information: what a build server records about the build of one
// package version (go-octopusdeploy's buildinformation.Add posts a
// CreateBuildInformationCommand):
//
//	POST   /api/{space}/build-information   {PackageId, Version, OctopusBuildInformation: {…}, OverwriteMode}
//	GET    /api/{space}/build-information[?packageId,filter,latest,skip,take]
//	GET    /api/{space}/build-information/{id}, DELETE …/{id}, DELETE …/bulk?ids=
//
// One record per package ID and version: a second POST for the same pair
// answers 409 (OverwriteMode FailIfExists, the default), 200 with the
// stored record (IgnoreIfExists) or replaces it (OverwriteExisting). IDs
// are BuildInformation-N; the record is answered as the server's mapped
// resource: the build's fields flattened, Created, and for Git
// repositories on the web each commit's LinkUrl and VcsCommitUrl. A
// built-in feed package of the same ID and version shows the record as
// its PackageVersionBuildInformation; releases copy it at creation.
var buildInfoColl = &simColl{
	Name: buildInfoStore, ItemType: "BuildInformation", Deletable: true,
	Render: renderBuildInformation, Match: matchBuildInformation, Order: packageOrder, Extra: serveBuildInformationWrites,
}

func init() { buildInfoColl.register() }

// buildInfoStore is the store (and seed collection) of build information.
const buildInfoStore = "build-information"

// buildInfoFields are the fields of OctopusBuildInformation kept as sent.
var buildInfoFields = []string{"BuildEnvironment", "BuildNumber", "BuildUrl", "Branch", "VcsType", "VcsRoot", "VcsCommitNumber"}

// serveBuildInformationWrites answers POST /build-information.
func serveBuildInformationWrites(s *Server, r *request, sp *space, segs []string) (int, any, error) {
	if len(segs) != 0 {
		return 0, nil, notFound(r.path)
	}
	if r.method != http.MethodPost {
		return 0, nil, methodNotAllowed(r.method, r.path)
	}
	pkgID, version := str(fieldFold(r.body, "PackageId")), str(fieldFold(r.body, "Version"))
	var errs []string
	if pkgID == "" {
		errs = append(errs, "Please provide a package ID.")
	}
	if version == "" {
		errs = append(errs, "Please provide a version.")
	}
	info, _ := fieldFold(r.body, "OctopusBuildInformation").(map[string]any)
	if info == nil {
		errs = append(errs, "Please provide the build information (OctopusBuildInformation).")
	}
	if len(errs) > 0 {
		return 0, nil, badRequest(errs...)
	}
	mode := cmp.Or(r.q("overwriteMode"), str(fieldFold(r.body, "OverwriteMode")), "FailIfExists")
	status := http.StatusCreated
	id := ""
	for _, d := range sp.coll(buildInfoStore).where("PackageId", pkgID) {
		if !strings.EqualFold(str(d["Version"]), version) {
			continue
		}
		switch {
		case strings.EqualFold(mode, "IgnoreIfExists"):
			return http.StatusOK, renderBuildInformation(s, sp, d), nil
		case strings.EqualFold(mode, "OverwriteExisting"):
			status, id = http.StatusOK, str(d["Id"])
		case strings.EqualFold(mode, "FailIfExists"):
			return 0, nil, &apiError{Status: http.StatusConflict, Message: "There was a problem with your request.",
				Errors: []string{"Build information for " + pkgID + " version " + version + " already exists. Use the overwrite mode OverwriteExisting to replace it, or IgnoreIfExists to keep it."}}
		default:
			return 0, nil, badRequestf("The overwrite mode '%s' is not valid: use FailIfExists, OverwriteExisting or IgnoreIfExists.", mode)
		}
	}
	if id == "" {
		id = s.st.nextID("BuildInformation")
	}
	doc := map[string]any{"Id": id, "SpaceId": sp.id(), "PackageId": pkgID, "Version": version,
		"Created": timestamp(time.Now()), "IssueTrackerName": nil, "IncompleteDataWarning": nil, "WorkItems": []any{}}
	for _, f := range buildInfoFields {
		doc[f] = fieldFold(info, f)
	}
	root := strings.TrimSuffix(str(doc["VcsRoot"]), ".git")
	web := strings.EqualFold(str(doc["VcsType"]), "Git") && (strings.HasPrefix(root, "https://") || strings.HasPrefix(root, "http://"))
	doc["VcsCommitUrl"] = nil
	if web && str(doc["VcsCommitNumber"]) != "" {
		doc["VcsCommitUrl"] = root + "/commit/" + str(doc["VcsCommitNumber"])
	}
	commits := []any{}
	for _, c := range asSlice(fieldFold(info, "Commits")) {
		cm, _ := c.(map[string]any)
		cid := str(fieldFold(cm, "Id"))
		var link any
		if web && cid != "" {
			link = root + "/commit/" + cid
		}
		commits = append(commits, map[string]any{"Id": cid, "LinkUrl": link, "Comment": fieldFold(cm, "Comment")})
	}
	doc["Commits"] = commits
	sp.coll(buildInfoStore).put(id, doc)
	return status, renderBuildInformation(s, sp, doc), nil
}

// renderBuildInformation adds the record's Links.
func renderBuildInformation(s *Server, sp *space, doc map[string]any) map[string]any {
	out := copyDoc(doc)
	out["Links"] = map[string]any{"Self": "/api/" + sp.id() + "/build-information/" + str(doc["Id"])}
	return out
}

// matchBuildInformation applies packageId (exact), filter (part of the
// package ID) and latest (each package ID's highest version).
func matchBuildInformation(r *request, sp *space, doc map[string]any) bool {
	id := str(doc["PackageId"])
	if want := r.q("packageId"); want != "" && !strings.EqualFold(id, want) {
		return false
	}
	if f := r.q("filter"); f != "" && !strings.Contains(strings.ToLower(id), strings.ToLower(f)) {
		return false
	}
	if strings.EqualFold(r.q("latest"), "true") {
		for _, d := range sp.coll(buildInfoStore).where("PackageId", id) {
			if compareVersions(str(d["Version"]), str(doc["Version"])) > 0 {
				return false
			}
		}
	}
	return true
}

// buildInformationFor is the rendered record of pkgID version, or nil.
func buildInformationFor(sp *space, pkgID, version string) any {
	for _, d := range sp.coll(buildInfoStore).where("PackageId", pkgID) {
		if strings.EqualFold(str(d["Version"]), version) {
			return renderBuildInformation(nil, sp, d)
		}
	}
	return nil
}
