package octosim

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Releases as a real server makes them (the releases collection of the
// kind registry, which the sync never writes):
//
//   - POST /api/{space}/releases {ProjectId, ChannelId, Version,
//     SelectedPackages, ReleaseNotes}: the project must exist, the channel
//     (default: the project's default channel) must be one of its
//     channels, the version must be a version string and unique in the
//     project, and every package reference of the deployment process needs
//     a selected version. The server stamps Assembled, freezes the
//     deployment process and the variables (ProjectDeploymentProcessSnapshotId,
//     ProjectVariableSetSnapshotId, LibraryVariableSetSnapshotIds; see
//     snapshots.go) and copies the build information of the selected
//     built-in feed packages.
//   - POST /api/{space}/releases/create/v1, the command the Octopus CLI
//     sends: the project and channel by name or ID, the version given or
//     from the project's versioning template
//     (#{Octopus.Version.LastMajor}.#{Octopus.Version.LastMinor}.#{Octopus.Version.NextPatch}
//     by default), package versions from the packages list
//     ("StepName:1.0.0", "PackageId:1.0.0", "Step:Reference:1.0.0",
//     "*:1.0.0"), else packageVersion, else the newest stable version in the
//     built-in feed; ignoreIfAlreadyExists answers the existing release.
//     Answers {ReleaseId, ReleaseVersion}.
//   - GET projects/{id}/releases (newest version first, searchByVersion),
//     projects/{id}/releases/{version}, releases/{id}/deployments,
//     releases/{id}/deployments/template (the environments the lifecycle
//     lets it be deployed to).
//   - Deleting a project deletes its releases; deleting a release its
//     deployments.
//
// Channel version rules are not checked (the simulator treats every
// release as if IgnoreChannelRules were set).
func init() {
	registerCreateHook("releases", createHook{Prepare: prepareRelease})
	registerCollAction("releases", "create/v1", createReleaseV1)
	registerSubResource("projects", "releases", serveProjectReleases)
	registerOwnedRecords("projects", ownedRecord{"releases", "ProjectId"}, ownedRecord{"runbookSnapshots", "ProjectId"})
	registerOwnedRecords("releases", ownedRecord{"deployments", "ReleaseId"})
	subResources = append(subResources,
		subResource{Owner: "releases", Link: "Project", Through: &linkThrough{Coll: "projects", Field: "ProjectId"}},
		subResource{Owner: "releases", Link: "Channel", Through: &linkThrough{Coll: "channels", Field: "ChannelId"}},
		subResource{Owner: "releases", Link: "Deployments", Sub: "deployments", Query: "{?skip,take}", List: &subList{Coll: "deployments", Field: "ReleaseId"}},
		subResource{Owner: "releases", Link: "DeploymentTemplate", Sub: "deployments/template", Doc: releaseDeploymentTemplate},
		subResource{Owner: "releases", Link: "ProjectDeploymentProcessSnapshot", Through: &linkThrough{Coll: "deploymentprocesses", Field: "ProjectDeploymentProcessSnapshotId"}},
		subResource{Owner: "releases", Link: "ProjectVariableSnapshot", Through: &linkThrough{Coll: "variables", Field: "ProjectVariableSetSnapshotId"}},
	)
}

// versionString is what a real server accepts as a release version.
var versionString = regexp.MustCompile(`^\d+(\.\d+){0,3}(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$`)

// prepareRelease checks and completes a new release.
func prepareRelease(s *Server, r *request, sp *space, doc map[string]any) error {
	project := lookupByIDOrName(sp, "projects", str(doc["ProjectId"]), "")
	if project == nil {
		if str(doc["ProjectId"]) == "" {
			return badRequest("Please select the project the release belongs to (ProjectId).")
		}
		return badRequestf("The project '%s' does not exist.", str(doc["ProjectId"]))
	}
	pid := str(project["Id"])
	var errs []string
	version := strings.TrimSpace(str(doc["Version"]))
	switch {
	case version == "":
		errs = append(errs, "Please provide a version for the release.")
	case !versionString.MatchString(version):
		errs = append(errs, fmt.Sprintf("'%s' is not a valid version string: use a semantic version such as 1.2.3 or 1.2.3-beta.", version))
	default:
		for _, d := range sp.coll("releases").whereAny("ProjectId", pid) {
			if strings.EqualFold(str(d["Version"]), version) {
				errs = append(errs, fmt.Sprintf("A release with the version '%s' already exists in the project '%s'.", version, str(project["Name"])))
			}
		}
	}
	channel := projectChannel(sp, project, str(doc["ChannelId"]))
	if channel == nil {
		errs = append(errs, fmt.Sprintf("The channel '%s' is not a channel of the project '%s'.", str(doc["ChannelId"]), str(project["Name"])))
	}
	proc := sp.coll("deploymentprocesses").get(str(project["DeploymentProcessId"]))
	selected, perrs := selectedPackages(proc, asSlice(doc["SelectedPackages"]))
	errs = append(errs, perrs...)
	if len(errs) > 0 {
		return badRequest(errs...)
	}
	doc["ProjectId"] = pid
	doc["ChannelId"] = channel["Id"]
	doc["Version"] = version
	doc["SelectedPackages"] = selected
	doc["Assembled"] = timestamp(time.Now())
	doc["ProjectDeploymentProcessSnapshotId"] = s.freeze(sp, "deploymentprocesses", str(project["DeploymentProcessId"]))
	doc["ProjectVariableSetSnapshotId"], doc["LibraryVariableSetSnapshotIds"] = s.freezeVariables(sp, project)
	doc["BuildInformation"] = releaseBuildInformation(sp, proc, selected)
	if _, ok := doc["IgnoreChannelRules"].(bool); !ok {
		doc["IgnoreChannelRules"] = false
	}
	if _, ok := doc["ReleaseNotes"]; !ok {
		doc["ReleaseNotes"] = nil
	}
	if _, ok := doc["CustomFields"].(map[string]any); !ok {
		doc["CustomFields"] = map[string]any{}
	}
	doc["SelectedGitResources"] = []any{}
	doc["VersionControlReference"] = nil
	return nil
}

// lookupByIDOrName finds an entity of coll by ID, slug or name
// (case-insensitively); parentField/parent restrict it to one owner.
func lookupByIDOrName(sp *space, coll, key, parent string) map[string]any {
	if key == "" {
		return nil
	}
	spec := collByName[coll]
	ok := func(d map[string]any) bool {
		return d != nil && (parent == "" || strings.EqualFold(str(d[spec.ParentField]), parent))
	}
	if d := sp.coll(coll).get(key); ok(d) {
		return d
	}
	for _, f := range []string{"Slug", "Name"} {
		for _, d := range sp.coll(coll).where(f, key) {
			if ok(d) {
				return d
			}
		}
	}
	return nil
}

// projectChannel is the project's channel named by key (ID or name), or
// its default channel when key is empty.
func projectChannel(sp *space, project map[string]any, key string) map[string]any {
	pid := str(project["Id"])
	if key != "" {
		return lookupByIDOrName(sp, "channels", key, pid)
	}
	for _, c := range sp.coll("channels").where("ProjectId", pid) {
		if b, _ := c["IsDefault"].(bool); b {
			return c
		}
	}
	return nil
}

// selectedPackages matches a release's selected packages to the package
// references of the process: each reference needs one, named by its
// action (or step) and reference name.
func selectedPackages(proc map[string]any, given []any) ([]any, []string) {
	out := []any{}
	var errs []string
	if proc == nil {
		return out, nil
	}
	for _, p := range processPackages(proc) {
		pm := p.(map[string]any)
		var found map[string]any
		for _, g := range given {
			gm := asMap(g)
			name := cmpOrStr(str(fieldFold(gm, "ActionName")), str(fieldFold(gm, "StepName")))
			if (strings.EqualFold(name, str(pm["ActionName"])) || strings.EqualFold(name, str(pm["StepName"]))) &&
				strings.EqualFold(str(fieldFold(gm, "PackageReferenceName")), str(pm["PackageReferenceName"])) {
				found = gm
				break
			}
		}
		if found == nil || str(fieldFold(found, "Version")) == "" {
			errs = append(errs, fmt.Sprintf("Please provide a version for the package %s of the step '%s'.", str(pm["PackageId"]), str(pm["StepName"])))
			continue
		}
		out = append(out, map[string]any{"ActionName": pm["ActionName"], "StepName": pm["StepName"],
			"PackageReferenceName": cmpOrStr(str(pm["PackageReferenceName"])), "Version": fieldFold(found, "Version")})
	}
	return out, errs
}

func cmpOrStr(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// releaseBuildInformation copies the build information of the selected
// built-in feed packages.
func releaseBuildInformation(sp *space, proc map[string]any, selected []any) []any {
	out := []any{}
	if proc == nil {
		return out
	}
	for i, p := range processPackages(proc) {
		pm := p.(map[string]any)
		if i >= len(selected) || !strings.EqualFold(str(pm["FeedId"]), builtInFeedID) {
			continue
		}
		bi, _ := buildInformationFor(sp, str(pm["PackageId"]), str(asMap(selected[i])["Version"])).(map[string]any)
		if bi == nil {
			continue
		}
		entry := map[string]any{}
		for _, f := range []string{"PackageId", "Version", "BuildEnvironment", "BuildNumber", "BuildUrl", "Branch", "VcsType",
			"VcsRoot", "VcsCommitNumber", "VcsCommitUrl", "IssueTrackerName", "WorkItems", "Commits"} {
			entry[f] = bi[f]
		}
		out = append(out, entry)
	}
	return out
}

// serveProjectReleases answers projects/{id}/releases[/{version}].
func serveProjectReleases(s *Server, r *request, sp *space, project map[string]any, segs []string) (int, any, error) {
	if r.method != http.MethodGet {
		return 0, nil, methodNotAllowed(r.method, r.path)
	}
	spec := collByName["releases"]
	rels := sp.coll("releases").where("ProjectId", str(project["Id"]))
	switch len(segs) {
	case 1:
		var items []map[string]any
		search := strings.ToLower(r.q("searchByVersion"))
		for _, d := range rels {
			if search == "" || strings.Contains(strings.ToLower(str(d["Version"])), search) {
				items = append(items, d)
			}
		}
		slices.SortStableFunc(items, func(a, b map[string]any) int { return compareVersions(str(b["Version"]), str(a["Version"])) })
		return http.StatusOK, s.renderPage(r, sp, spec, selection{docs: items}), nil
	case 2:
		for _, d := range rels {
			if strings.EqualFold(str(d["Version"]), segs[1]) {
				return http.StatusOK, s.render(sp, spec, d, true), nil
			}
		}
		return 0, nil, notFound(segs[1])
	}
	return 0, nil, notFound(r.path)
}

// createReleaseV1 is POST releases/create/v1.
func createReleaseV1(s *Server, r *request, sp *space) (int, any, error) {
	if r.method != http.MethodPost {
		return 0, nil, methodNotAllowed(r.method, r.path)
	}
	b := r.body
	projectKey := str(fieldFold(b, "projectName"))
	project := lookupByIDOrName(sp, "projects", projectKey, "")
	if project == nil {
		return 0, nil, badRequestf("Could not find a project named or with the ID '%s'.", projectKey)
	}
	channel := projectChannel(sp, project, str(fieldFold(b, "channelName")))
	if channel == nil {
		return 0, nil, badRequestf("Could not find a channel named or with the ID '%s' in the project '%s'.", str(fieldFold(b, "channelName")), str(project["Name"]))
	}
	version := str(fieldFold(b, "releaseVersion"))
	if version == "" {
		v, err := nextReleaseVersion(sp, project, channel)
		if err != nil {
			return 0, nil, err
		}
		version = v
	}
	if ignore, _ := fieldFold(b, "ignoreIfAlreadyExists").(bool); ignore {
		for _, d := range sp.coll("releases").whereAny("ProjectId", str(project["Id"])) {
			if strings.EqualFold(str(d["Version"]), version) {
				return http.StatusOK, map[string]any{"ReleaseId": d["Id"], "ReleaseVersion": d["Version"]}, nil
			}
		}
	}
	proc := sp.coll("deploymentprocesses").get(str(project["DeploymentProcessId"]))
	selected, err := resolvePackageVersions(sp, proc, strs(fieldFold(b, "packages")), str(fieldFold(b, "packageVersion")))
	if err != nil {
		return 0, nil, err
	}
	doc := map[string]any{
		"ProjectId": project["Id"], "ChannelId": channel["Id"], "Version": version, "SelectedPackages": selected,
		"ReleaseNotes": cmpStr(str(fieldFold(b, "releaseNotes"))), "IgnoreChannelRules": fieldFold(b, "ignoreChannelRules") == true,
	}
	if cf, ok := fieldFold(b, "customFields").(map[string]any); ok {
		doc["CustomFields"] = cf
	}
	rel, err := s.insert(r, sp, collByName["releases"], doc, nil)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"ReleaseId": rel["Id"], "ReleaseVersion": rel["Version"]}, nil
}

// resolvePackageVersions picks a version for every package reference of
// the process, as the release creation command does.
func resolvePackageVersions(sp *space, proc map[string]any, overrides []string, def string) ([]any, error) {
	out := []any{}
	if proc == nil {
		return out, nil
	}
	type override struct{ step, ref, version string }
	var ovs []override
	for _, o := range overrides {
		parts := strings.FieldsFunc(o, func(r rune) bool { return r == ':' || r == '=' || r == '/' })
		switch len(parts) {
		case 2:
			ovs = append(ovs, override{step: parts[0], version: parts[1]})
		case 3:
			ovs = append(ovs, override{step: parts[0], ref: parts[1], version: parts[2]})
		default:
			return nil, badRequestf("The package version '%s' is not valid: use StepName:Version, PackageId:Version or StepName:PackageReferenceName:Version.", o)
		}
	}
	var errs []string
	for _, p := range processPackages(proc) {
		pm := p.(map[string]any)
		version := ""
		for _, o := range ovs {
			named := o.step == "*" || strings.EqualFold(o.step, str(pm["ActionName"])) || strings.EqualFold(o.step, str(pm["StepName"])) ||
				(o.ref == "" && strings.EqualFold(o.step, str(pm["PackageId"])))
			if named && (o.ref == "" || strings.EqualFold(o.ref, str(pm["PackageReferenceName"]))) {
				version = o.version
			}
		}
		if version == "" {
			version = def
		}
		if version == "" && strings.EqualFold(str(pm["FeedId"]), builtInFeedID) {
			for _, d := range packageVersions(sp, str(pm["PackageId"])) {
				v := str(d["Version"])
				if !strings.Contains(v, "-") && (version == "" || compareVersions(v, version) > 0) {
					version = v
				}
			}
		}
		if version == "" {
			errs = append(errs, fmt.Sprintf("Could not find a version of the package %s for the step '%s': push it to the built-in feed or give its version.", str(pm["PackageId"]), str(pm["StepName"])))
			continue
		}
		out = append(out, map[string]any{"ActionName": pm["ActionName"], "StepName": pm["StepName"],
			"PackageReferenceName": pm["PackageReferenceName"], "Version": version})
	}
	if len(errs) > 0 {
		return nil, badRequest(errs...)
	}
	return out, nil
}

// defaultVersionTemplate is a project's release versioning template when
// it sets none.
const defaultVersionTemplate = "#{Octopus.Version.LastMajor}.#{Octopus.Version.LastMinor}.#{Octopus.Version.NextPatch}"

var versionVariable = regexp.MustCompile(`#\{([^}]*)\}`)

// nextReleaseVersion evaluates the project's versioning template against
// its releases (Octopus.Version.*) and the channel's
// (Octopus.Version.Channel.*).
func nextReleaseVersion(sp *space, project, channel map[string]any) (string, error) {
	tmpl := str(asMap(project["VersioningStrategy"])["Template"])
	if tmpl == "" {
		if asMap(project["VersioningStrategy"])["DonorPackage"] != nil {
			return "", badRequest("The project takes its release version from a package; please give the release version.")
		}
		tmpl = defaultVersionTemplate
	}
	last := func(channelOnly bool) []int {
		best := ""
		for _, d := range sp.coll("releases").whereAny("ProjectId", str(project["Id"])) {
			if channelOnly && str(d["ChannelId"]) != str(channel["Id"]) {
				continue
			}
			if v := str(d["Version"]); best == "" || compareVersions(v, best) > 0 {
				best = v
			}
		}
		nums := make([]int, 4)
		core, _, _ := strings.Cut(best, "-")
		core, _, _ = strings.Cut(core, "+")
		for i, p := range strings.Split(core, ".") {
			if i < 4 {
				nums[i], _ = strconv.Atoi(p)
			}
		}
		return nums
	}
	parts := map[string]int{"Major": 0, "Minor": 1, "Patch": 2, "Build": 3, "Revision": 3}
	var bad []string
	out := versionVariable.ReplaceAllStringFunc(tmpl, func(m string) string {
		name := strings.TrimSpace(m[2 : len(m)-1])
		rest, ok := strings.CutPrefix(name, "Octopus.Version.")
		if !ok {
			bad = append(bad, name)
			return m
		}
		channelOnly := false
		if r, ok := strings.CutPrefix(rest, "Channel."); ok {
			rest, channelOnly = r, true
		}
		for prefix, inc := range map[string]int{"Last": 0, "Next": 1} {
			if p, ok := strings.CutPrefix(rest, prefix); ok {
				if i, ok := parts[p]; ok {
					return strconv.Itoa(last(channelOnly)[i] + inc)
				}
			}
		}
		bad = append(bad, name)
		return m
	})
	if len(bad) > 0 {
		return "", badRequestf("The versioning template '%s' uses variables the simulator does not evaluate (%s); please give the release version.", tmpl, strings.Join(bad, ", "))
	}
	return out, nil
}
