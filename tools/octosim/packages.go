package octosim

import (
	"bytes"
	"cmp"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/OctopusDeploy/go-octodiff/pkg/octodiff"
)

// The built-in feed's packages (feeds-builtin), as a real server keeps
// them:
//
//	POST   /api/{space}/packages/raw?overwriteMode=|replace=   multipart upload of one file
//	GET    /api/{space}/packages/{packageId}/{version}/delta-signature
//	POST   /api/{space}/packages/{packageId}/{baseVersion}/delta?overwriteMode=
//	GET    /api/{space}/packages[?nuGetPackageId,filter,latest,skip,take]
//	GET    /api/{space}/packages/{id}, …/{id}/raw (the file), DELETE …/{id}, DELETE …/bulk?ids=
//	GET    /api/{space}/feeds/{feedId}/packages/versions?packageId=…, …/packages/search?term=…
//	GET    /api/{space}/feeds/stats (TotalPackages)
//
// A package's ID is "packages-{PackageId}.{Version}", its PackageId and
// Version come from the file name as the clients parse it
// ("Acme.Web.1.2.3.zip"), its Hash is the file's SHA-1 (hex) and
// PackageSizeBytes its length. An upload of an existing version answers
// 409 (overwriteMode FailIfExists, the default), 200 with the stored
// package (IgnoreIfExists) or 200 with the replaced one (OverwriteExisting,
// or the legacy replace=true); a new package answers 201 — go-octopusdeploy
// reports CreatedNewFile from that status.
//
// Delta uploads follow go-octopusdeploy's packages.UploadV2: the client
// asks for the octodiff signature of the nearest stored version (404 when
// the package ID has no version at or below the one being uploaded), builds
// a delta against it and posts it to …/{baseVersion}/delta; the server
// applies the delta to the stored base file, checks the result's hash and
// stores it as an upload of the file name sent. Feeds other than the
// built-in one list no packages (the simulator reaches no external feed).
//
// The file is held in the store as base64 ("Data"), so Dump and seeds
// carry it.
var packagesColl = &simColl{
	Name: packagesStore, ItemType: "Package", Deletable: true,
	Render: renderPackage, Match: matchPackage, Order: packageOrder, Extra: servePackageRoutes,
}

func init() {
	packagesColl.register()
	registerBinary("packages/raw")
	registerBinary("packages/*/*/delta")
	registerSubResource("feeds", "packages", serveFeedPackages)
	registerCollAction("feeds", "stats", serveBuiltInFeedStats)
}

// builtInFeedID is the ID of every space's built-in package feed.
const builtInFeedID = "feeds-builtin"

// packagesStore is the store (and seed collection) of built-in feed packages.
const packagesStore = "packages"

// packageFileName is the clients' file name rule (go-octopusdeploy's
// packages.ParsePackageIDAndVersion): ID, a dot, a semantic version.
var packageFileName = regexp.MustCompile(`^(\w+(?:[_.-]\w+)*?)\.(\d+(?:\.\d+){0,3}(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?)$`)

// packageExtensions are the package formats the built-in feed accepts,
// longest first so ".tar.gz" wins over ".gz".
var packageExtensions = []string{".tar.bz2", ".tar.gz", ".tar.bz", ".nupkg", ".tgz", ".tbz", ".tar", ".zip", ".jar", ".war", ".ear", ".rar"}

// parsePackageFile splits a package file name into ID, version and extension.
func parsePackageFile(name string) (id, version, ext string, err error) {
	name = name[strings.LastIndexAny(name, `/\`)+1:]
	for _, e := range packageExtensions {
		if len(name) > len(e) && strings.EqualFold(name[len(name)-len(e):], e) {
			ext = strings.ToLower(e)
			break
		}
	}
	if ext == "" {
		return "", "", "", badRequestf("The package file '%s' is not a supported package format (%s).", name, strings.Join(packageExtensions, ", "))
	}
	m := packageFileName.FindStringSubmatch(name[:len(name)-len(ext)])
	if m == nil {
		return "", "", "", badRequestf("The package ID and version could not be determined from the file name '%s': expected {PackageId}.{Version}%s.", name, ext)
	}
	return m[1], m[2], ext, nil
}

func packageDocID(packageID, version string) string { return "packages-" + packageID + "." + version }

// servePackageRoutes answers the package routes beyond list, get and delete.
func servePackageRoutes(s *Server, r *request, sp *space, segs []string) (int, any, error) {
	switch {
	case len(segs) == 1 && strings.EqualFold(segs[0], "raw"):
		if r.method != http.MethodPost {
			return 0, nil, methodNotAllowed(r.method, r.path)
		}
		name, data, err := uploadedPackage(r)
		if err != nil {
			return 0, nil, err
		}
		return s.storePackage(r, sp, name, data)
	case len(segs) == 2 && strings.EqualFold(segs[1], "raw"):
		if r.method != http.MethodGet {
			return 0, nil, methodNotAllowed(r.method, r.path)
		}
		doc := sp.coll(packagesStore).get(segs[0])
		if doc == nil {
			return 0, nil, notFound(segs[0])
		}
		data, err := base64.StdEncoding.DecodeString(str(doc["Data"]))
		if err != nil {
			return 0, nil, errorf("stored package %s: %v", str(doc["Id"]), err)
		}
		return http.StatusOK, binaryAnswer{data: data, contentType: "application/octet-stream"}, nil
	case len(segs) == 3 && strings.EqualFold(segs[2], "delta-signature"):
		if r.method != http.MethodGet {
			return 0, nil, methodNotAllowed(r.method, r.path)
		}
		return deltaSignature(sp, segs[0], segs[1])
	case len(segs) == 3 && strings.EqualFold(segs[2], "delta"):
		if r.method != http.MethodPost {
			return 0, nil, methodNotAllowed(r.method, r.path)
		}
		return s.applyDelta(r, sp, segs[0], segs[1])
	}
	if len(segs) == 0 {
		return 0, nil, methodNotAllowed(r.method, r.path)
	}
	return 0, nil, notFound(r.path)
}

// uploadedPackage reads the one file of a multipart package upload.
func uploadedPackage(r *request) (string, []byte, error) {
	name, data, _, err := uploadedPart(r, 64<<20)
	if err != nil {
		return "", nil, err
	}
	return name, data, nil
}

// storePackage stores an uploaded package file under the overwrite mode
// of the request.
func (s *Server) storePackage(r *request, sp *space, fileName string, data []byte) (int, any, error) {
	pkgID, version, ext, err := parsePackageFile(fileName)
	if err != nil {
		return 0, nil, err
	}
	mode := r.q("overwriteMode")
	if mode == "" {
		mode = "FailIfExists"
		if strings.EqualFold(r.q("replace"), "true") {
			mode = "OverwriteExisting"
		}
	}
	c := sp.coll(packagesStore)
	existing := c.get(packageDocID(pkgID, version))
	status := http.StatusCreated
	if existing != nil {
		switch {
		case strings.EqualFold(mode, "IgnoreIfExists"):
			return http.StatusOK, renderPackage(s, sp, existing), nil
		case strings.EqualFold(mode, "OverwriteExisting"):
			status = http.StatusOK
			pkgID, version = str(existing["PackageId"]), str(existing["Version"])
		case strings.EqualFold(mode, "FailIfExists"):
			return 0, nil, &apiError{Status: http.StatusConflict, Message: "There was a problem with your request.",
				Errors: []string{"The package " + str(existing["PackageId"]) + " version " + str(existing["Version"]) +
					" already exists in the built-in package repository. Use the overwrite mode OverwriteExisting to replace it, or IgnoreIfExists to keep it."}}
		default:
			return 0, nil, badRequestf("The overwrite mode '%s' is not valid: use FailIfExists, OverwriteExisting or IgnoreIfExists.", mode)
		}
	}
	sum := sha1.Sum(data)
	doc := map[string]any{
		"Id": packageDocID(pkgID, version), "SpaceId": sp.id(), "PackageId": pkgID, "Version": version,
		"FeedId": builtInFeedID, "Title": pkgID, "Summary": "", "Description": "", "ReleaseNotes": nil,
		"Published": timestamp(time.Now()), "FileExtension": ext, "PackageSizeBytes": len(data),
		"Hash": hex.EncodeToString(sum[:]), "Data": base64.StdEncoding.EncodeToString(data),
	}
	c.put(str(doc["Id"]), doc)
	return status, renderPackage(s, sp, doc), nil
}

// renderPackage is a stored package as the API answers it (the upload
// answer, PackageFromBuiltInFeedResource, has the same fields).
func renderPackage(s *Server, sp *space, doc map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range doc {
		if k != "Data" {
			out[k] = v
		}
	}
	out["NuGetPackageId"] = doc["PackageId"]
	out["NuGetFeedId"] = doc["FeedId"]
	out["PackageVersionBuildInformation"] = buildInformationFor(sp, str(doc["PackageId"]), str(doc["Version"]))
	self := "/api/" + sp.id() + "/packages/" + str(doc["Id"])
	out["Links"] = map[string]any{"Self": self, "Raw": self + "/raw", "Feed": "/api/" + sp.id() + "/feeds/" + str(doc["FeedId"])}
	return out
}

// matchPackage applies the package list's filters: nuGetPackageId (exact),
// filter (part of the package ID) and latest (only each ID's highest
// version).
func matchPackage(r *request, sp *space, doc map[string]any) bool {
	id := str(doc["PackageId"])
	if want := r.q("nuGetPackageId"); want != "" && !strings.EqualFold(id, want) {
		return false
	}
	if f := r.q("filter"); f != "" && !strings.Contains(strings.ToLower(id), strings.ToLower(f)) {
		return false
	}
	if strings.EqualFold(r.q("latest"), "true") {
		for _, d := range packageVersions(sp, id) {
			if compareVersions(str(d["Version"]), str(doc["Version"])) > 0 {
				return false
			}
		}
	}
	return true
}

// packageOrder lists packages by ID, the highest version first.
func packageOrder(a, b map[string]any) int {
	if c := strings.Compare(strings.ToLower(str(a["PackageId"])), strings.ToLower(str(b["PackageId"]))); c != 0 {
		return c
	}
	return compareVersions(str(b["Version"]), str(a["Version"]))
}

// packageVersions are the stored versions of one package ID.
func packageVersions(sp *space, pkgID string) []map[string]any {
	return sp.coll(packagesStore).where("PackageId", pkgID)
}

// deltaSignature answers the octodiff signature of the stored version of
// pkgID nearest to version: the highest at or below it.
func deltaSignature(sp *space, pkgID, version string) (int, any, error) {
	var base map[string]any
	for _, d := range packageVersions(sp, pkgID) {
		v := str(d["Version"])
		if compareVersions(v, version) <= 0 && (base == nil || compareVersions(v, str(base["Version"])) > 0) {
			base = d
		}
	}
	if base == nil {
		return 0, nil, notFound(pkgID + " " + version)
	}
	data, err := base64.StdEncoding.DecodeString(str(base["Data"]))
	if err != nil {
		return 0, nil, errorf("stored package %s: %v", str(base["Id"]), err)
	}
	var sig bytes.Buffer
	if err := octodiff.NewSignatureBuilder().Build(bytes.NewReader(data), int64(len(data)), &sig); err != nil {
		return 0, nil, errorf("signature of %s: %v", str(base["Id"]), err)
	}
	return http.StatusOK, map[string]any{
		"Signature": base64.StdEncoding.EncodeToString(sig.Bytes()), "BaseVersion": base["Version"],
	}, nil
}

// applyDelta rebuilds an uploaded file from a delta against the stored
// pkgID baseVersion and stores it.
func (s *Server) applyDelta(r *request, sp *space, pkgID, baseVersion string) (int, any, error) {
	base := sp.coll(packagesStore).get(packageDocID(pkgID, baseVersion))
	if base == nil {
		return 0, nil, notFound(pkgID + " " + baseVersion)
	}
	name, delta, _, err := uploadedPart(r, 64<<20)
	if err != nil {
		return 0, nil, err
	}
	basis, err := base64.StdEncoding.DecodeString(str(base["Data"]))
	if err != nil {
		return 0, nil, errorf("stored package %s: %v", str(base["Id"]), err)
	}
	reader := octodiff.NewBinaryDeltaReader(bytes.NewReader(delta))
	var out bytes.Buffer
	if err := octodiff.ApplyDelta(bytes.NewReader(basis), reader, &out); err != nil {
		return 0, nil, badRequestf("The delta file could not be applied to %s %s: %v", pkgID, baseVersion, err)
	}
	if err := octodiff.VerifyNewFile(bytes.NewReader(out.Bytes()), reader); err != nil {
		return 0, nil, badRequestf("The delta file could not be applied to %s %s: %v", pkgID, baseVersion, err)
	}
	return s.storePackage(r, sp, name, out.Bytes())
}

// serveFeedPackages answers feeds/{id}/packages/versions and
// feeds/{id}/packages/search.
func serveFeedPackages(s *Server, r *request, sp *space, feed map[string]any, segs []string) (int, any, error) {
	if r.method != http.MethodGet {
		return 0, nil, methodNotAllowed(r.method, r.path)
	}
	builtIn := strings.EqualFold(str(feed["Id"]), builtInFeedID)
	feedPath := "/api/" + sp.id() + "/feeds/" + str(feed["Id"])
	switch {
	case len(segs) == 2 && strings.EqualFold(segs[1], "versions"):
		var items []map[string]any
		if builtIn {
			pre := strings.EqualFold(r.q("includePreRelease"), "true")
			for _, d := range packageVersions(sp, r.q("packageId")) {
				if !pre && strings.Contains(str(d["Version"]), "-") {
					continue
				}
				items = append(items, map[string]any{
					"Id": d["Id"], "PackageId": d["PackageId"], "Version": d["Version"], "FeedId": d["FeedId"],
					"Title": d["Title"], "Published": d["Published"], "ReleaseNotes": nil, "SizeBytes": d["PackageSizeBytes"],
					"Links": map[string]any{"Self": "/api/" + sp.id() + "/packages/" + str(d["Id"])},
				})
			}
			sortByVersionDesc(items)
		}
		return http.StatusOK, page(r, "PackageVersion", items), nil
	case len(segs) == 2 && strings.EqualFold(segs[1], "search"):
		var items []map[string]any
		if builtIn {
			latest := map[string]map[string]any{}
			var order []string
			term := strings.ToLower(r.q("term"))
			for _, d := range sp.coll(packagesStore).all() {
				id := str(d["PackageId"])
				if term != "" && !strings.Contains(strings.ToLower(id), term) {
					continue
				}
				k := strings.ToLower(id)
				if latest[k] == nil {
					order = append(order, k)
				}
				if latest[k] == nil || compareVersions(str(d["Version"]), str(latest[k]["Version"])) > 0 {
					latest[k] = d
				}
			}
			for _, k := range order {
				d := latest[k]
				items = append(items, map[string]any{
					"Id": d["PackageId"], "Name": d["PackageId"], "Description": d["Description"], "LatestVersion": d["Version"],
					"Links": map[string]any{"SearchPackageVersionsTemplate": feedPath + "/packages/versions{?packageId,take,skip,includePreRelease,versionRange,preReleaseTag,filter,includeReleaseNotes}"},
				})
			}
		}
		return http.StatusOK, page(r, "PackageDescription", items), nil
	}
	return 0, nil, notFound(r.path)
}

// sortByVersionDesc orders package versions, the highest first.
func sortByVersionDesc(items []map[string]any) {
	for i := 1; i < len(items); i++ {
		for j := i; j > 0 && compareVersions(str(items[j]["Version"]), str(items[j-1]["Version"])) > 0; j-- {
			items[j], items[j-1] = items[j-1], items[j]
		}
	}
}

// serveBuiltInFeedStats is GET feeds/stats: the built-in feed's package count.
func serveBuiltInFeedStats(s *Server, r *request, sp *space) (int, any, error) {
	if r.method != http.MethodGet {
		return 0, nil, methodNotAllowed(r.method, r.path)
	}
	return http.StatusOK, map[string]any{"TotalPackages": len(sp.coll(packagesStore).all()), "Links": map[string]any{}}, nil
}

// compareVersions orders two package versions as semantic versions:
// numeric parts by value (missing parts are 0), a pre-release below its
// release, pre-release identifiers numerically or by text; build metadata
// is ignored.
func compareVersions(a, b string) int {
	a, _, _ = strings.Cut(a, "+")
	b, _, _ = strings.Cut(b, "+")
	an, apre, _ := strings.Cut(a, "-")
	bn, bpre, _ := strings.Cut(b, "-")
	ap, bp := strings.Split(an, "."), strings.Split(bn, ".")
	for i := 0; i < max(len(ap), len(bp)); i++ {
		var x, y string
		if i < len(ap) {
			x = ap[i]
		}
		if i < len(bp) {
			y = bp[i]
		}
		if c := compareIdentifier(x, y); c != 0 {
			return c
		}
	}
	switch {
	case apre == bpre:
		return 0
	case apre == "":
		return 1
	case bpre == "":
		return -1
	}
	ai, bi := strings.Split(apre, "."), strings.Split(bpre, ".")
	for i := 0; i < min(len(ai), len(bi)); i++ {
		if c := compareIdentifier(ai[i], bi[i]); c != 0 {
			return c
		}
	}
	return len(ai) - len(bi)
}

// compareIdentifier compares version parts numerically when both are
// numbers ("" counts as 0), else case-insensitively as text.
func compareIdentifier(x, y string) int {
	xn, xerr := strconv.Atoi(cmp.Or(x, "0"))
	yn, yerr := strconv.Atoi(cmp.Or(y, "0"))
	if xerr == nil && yerr == nil {
		return cmp.Compare(xn, yn)
	}
	return strings.Compare(strings.ToLower(x), strings.ToLower(y))
}
