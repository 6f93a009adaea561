package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/rogpeppe/go-internal/testscript"
)

// mkreleaseCmd is the scripts' command that makes a release on a simulator
// as a build server and a person would:
//
//	mkrelease SIM PROJECT VERSION ACTION=PACKAGE:PKGVERSION[@FEED]… [notes=TEXT] [content=TEXT]
//
// For each ACTION it makes sure the project's deployment process has an
// action of that name deploying PACKAGE from FEED (by name; default the
// built-in feed), adding a step when it lacks one; a built-in feed
// package version it lacks is pushed (the file PACKAGE.PKGVERSION.zip,
// its bytes "PACKAGE PKGVERSION" and content's text) with its build
// information. Then it creates release VERSION selecting those versions.
// With VERSION "-" it only prepares the process and the packages.
func mkreleaseCmd(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 3 {
		ts.Fatalf("usage: mkrelease SIM PROJECT VERSION ACTION=PACKAGE:VERSION[@FEED]… [notes=TEXT] [content=TEXT]")
	}
	ctx := context.Background()
	c, err := octopus.Connect(ctx, octopus.Config{URL: ts.Getenv(args[0] + "_URL"), APIKey: ts.Getenv("OCTOPUS_API_KEY")})
	ts.Check(err)
	err = makeRelease(ctx, c, args[1], args[2], args[3:])
	if (err != nil) != neg {
		ts.Fatalf("mkrelease: %v", err)
	}
}

func makeRelease(ctx context.Context, c *octopus.Client, projectName, version string, specs []string) error {
	projects, err := c.List(ctx, c.SpacePath("projects", false), nil)
	if err != nil {
		return err
	}
	var project map[string]any
	for _, p := range projects {
		if p["Name"] == projectName {
			project = p
		}
	}
	if project == nil {
		return fmt.Errorf("no project %s", projectName)
	}
	feeds, err := c.List(ctx, c.SpacePath("feeds", false), nil)
	if err != nil {
		return err
	}
	notes, content := "", ""
	type sel struct{ action, pkg, version, feed string }
	var sels []sel
	for _, s := range specs {
		if v, ok := strings.CutPrefix(s, "notes="); ok {
			notes = v
			continue
		}
		if v, ok := strings.CutPrefix(s, "content="); ok {
			content = v
			continue
		}
		action, rest, ok1 := strings.Cut(s, "=")
		pkg, pv, ok2 := strings.Cut(rest, ":")
		if !ok1 || !ok2 {
			return fmt.Errorf("bad selection %q", s)
		}
		pv, feed, _ := strings.Cut(pv, "@")
		if feed == "" {
			feed = "Octopus Server (built-in)"
		}
		sels = append(sels, sel{action, pkg, pv, feed})
	}
	procPath := c.SpacePath("deploymentprocesses/"+project["DeploymentProcessId"].(string), false)
	proc, err := c.Get(ctx, procPath)
	if err != nil {
		return err
	}
	changed := false
	var selected []any
	for _, s := range sels {
		feedID := ""
		builtIn := false
		for _, f := range feeds {
			if f["Name"] == s.feed {
				feedID, builtIn = f["Id"].(string), f["FeedType"] == "BuiltIn"
			}
		}
		if feedID == "" {
			return fmt.Errorf("no feed %s", s.feed)
		}
		found := false
		for _, st := range proc["Steps"].([]any) {
			for _, a := range st.(map[string]any)["Actions"].([]any) {
				found = found || a.(map[string]any)["Name"] == s.action
			}
		}
		if !found {
			steps, _ := proc["Steps"].([]any)
			proc["Steps"] = append(steps, map[string]any{
				"Name": s.action, "Condition": "Success", "StartTrigger": "StartAfterPrevious", "PackageRequirement": "LetOctopusDecide",
				"Properties": map[string]any{"Octopus.Action.TargetRoles": "release-web"},
				"Actions": []any{map[string]any{
					"Name": s.action, "ActionType": "Octopus.TentaclePackage", "IsDisabled": false, "Environments": []any{}, "ExcludedEnvironments": []any{}, "Channels": []any{},
					"Properties": map[string]any{"Octopus.Action.Package.PackageId": s.pkg, "Octopus.Action.Package.FeedId": feedID, "Octopus.Action.Package.DownloadOnTentacle": "False"},
					"Packages":   []any{map[string]any{"Name": "", "PackageId": s.pkg, "FeedId": feedID, "AcquisitionLocation": "Server", "Properties": map[string]any{}}},
				}},
			})
			changed = true
		}
		if builtIn {
			items, err := c.List(ctx, c.SpacePath("packages", false), url.Values{"nuGetPackageId": {s.pkg}})
			if err != nil {
				return err
			}
			have := false
			for _, it := range items {
				have = have || it["Version"] == s.version
			}
			if !have {
				name := s.pkg + "." + s.version + ".zip"
				if err := c.UploadFile(ctx, http.MethodPost, c.SpacePath("packages/raw", false), name, "", []byte(s.pkg+" "+s.version+" "+content)); err != nil {
					return err
				}
				_, err := c.Post(ctx, c.SpacePath("build-information?overwriteMode=OverwriteExisting", false), map[string]any{
					"PackageId": s.pkg, "Version": s.version, "OctopusBuildInformation": map[string]any{
						"BuildEnvironment": "GitHub Actions", "BuildNumber": "build-" + s.version, "Branch": "main", "VcsType": "Git",
						"VcsRoot": "https://github.com/acme/" + s.pkg, "VcsCommitNumber": "abc123",
						"Commits": []any{map[string]any{"Id": "abc123", "Comment": "release " + s.version}},
					}})
				if err != nil {
					return err
				}
			}
		}
		selected = append(selected, map[string]any{"ActionName": s.action, "PackageReferenceName": "", "Version": s.version})
	}
	if changed {
		if _, err := c.Put(ctx, procPath, proc); err != nil {
			return err
		}
	}
	if version == "-" {
		return nil
	}
	body := map[string]any{"ProjectId": project["Id"], "Version": version, "SelectedPackages": selected}
	if notes != "" {
		body["ReleaseNotes"] = notes
	}
	_, err = c.Post(ctx, c.SpacePath("releases", false), body)
	return err
}

// checkreleaseCmd is the scripts' check of a release on a simulator:
//
//	checkrelease SIM PROJECT VERSION ACTION=PKGVERSION… [NOTES-REGEXP…]
//
// The release must exist with exactly those package versions, and its
// notes match every regular expression.
func checkreleaseCmd(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 3 {
		ts.Fatalf("usage: checkrelease SIM PROJECT VERSION ACTION=VERSION… [NOTES-REGEXP…]")
	}
	ctx := context.Background()
	c, err := octopus.Connect(ctx, octopus.Config{URL: ts.Getenv(args[0] + "_URL"), APIKey: ts.Getenv("OCTOPUS_API_KEY")})
	ts.Check(err)
	projects, err := c.List(ctx, c.SpacePath("projects", false), nil)
	ts.Check(err)
	var rel map[string]any
	for _, p := range projects {
		if p["Name"] == args[1] {
			rel, err = c.Get(ctx, c.SpacePath("projects/"+p["Id"].(string)+"/releases/"+args[2], false))
			ts.Check(err)
		}
	}
	if rel == nil {
		ts.Fatalf("no project %s", args[1])
	}
	got := map[string]string{}
	for _, s := range rel["SelectedPackages"].([]any) {
		m := s.(map[string]any)
		got[m["ActionName"].(string)] = m["Version"].(string)
	}
	notes, _ := rel["ReleaseNotes"].(string)
	var problems []string
	want := 0
	for _, a := range args[3:] {
		if action, v, ok := strings.Cut(a, "="); ok && !strings.ContainsAny(a, `\^$[(`) {
			want++
			if got[action] != v {
				problems = append(problems, fmt.Sprintf("action %s: version %q, want %q", action, got[action], v))
			}
			continue
		}
		if !regexp.MustCompile(a).MatchString(notes) {
			problems = append(problems, fmt.Sprintf("notes %q do not match %q", notes, a))
		}
	}
	if len(got) != want {
		problems = append(problems, fmt.Sprintf("%d selected packages, want %d: %v", len(got), want, got))
	}
	if (len(problems) > 0) != neg {
		ts.Fatalf("checkrelease %s: %s (notes %q)", args[2], strings.Join(problems, "; "), notes)
	}
}

// packagecountCmd checks how many versions of a package the built-in
// feed of a simulator holds: packagecount SIM PACKAGE N.
func packagecountCmd(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: packagecount SIM PACKAGE N")
	}
	ctx := context.Background()
	c, err := octopus.Connect(ctx, octopus.Config{URL: ts.Getenv(args[0] + "_URL"), APIKey: ts.Getenv("OCTOPUS_API_KEY")})
	ts.Check(err)
	items, err := c.List(ctx, c.SpacePath("packages", false), url.Values{"nuGetPackageId": {args[1]}})
	ts.Check(err)
	if (fmt.Sprint(len(items)) == args[2]) == neg {
		ts.Fatalf("%s holds %d versions of %s, want %s", args[0], len(items), args[1], args[2])
	}
}

// failtaskCmd marks the newest Deploy task of a simulator's space Failed
// with a reason, as an operator does (POST tasks/{id}/state):
// failtask SIM REASON.
func failtaskCmd(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: failtask SIM REASON")
	}
	ctx := context.Background()
	c, err := octopus.Connect(ctx, octopus.Config{URL: ts.Getenv(args[0] + "_URL"), APIKey: ts.Getenv("OCTOPUS_API_KEY")})
	ts.Check(err)
	tasks, err := c.List(ctx, c.SpacePath("tasks", false), url.Values{"name": {"Deploy"}})
	ts.Check(err)
	newest, n := "", -1
	for _, t := range tasks {
		id, _ := t["Id"].(string)
		var k int
		if _, err := fmt.Sscanf(id, "ServerTasks-%d", &k); err == nil && k > n {
			newest, n = id, k
		}
	}
	if newest == "" {
		ts.Fatalf("no Deploy task on %s", args[0])
	}
	_, err = c.Post(ctx, c.SpacePath("tasks/"+newest+"/state", false), map[string]any{"State": "Failed", "Reason": args[1]})
	ts.Check(err)
}
