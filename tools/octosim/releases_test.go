package octosim

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/deployments"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/newclient"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/releases"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/runbooks"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/tasks"
)

// releaseFixture is a project with a one-step process using a built-in
// feed package, two environments in a two-phase lifecycle and a runbook.
type releaseFixture struct {
	*fixture
	project, channel, dev, prod, runbook string
}

func newReleaseFixture(t *testing.T, opts Options) releaseFixture {
	f := newFixture(t, opts)
	rf := releaseFixture{fixture: f}
	rf.dev = str(f.post(sp1("environments"), map[string]any{"Name": "Dev"})["Id"])
	rf.prod = str(f.post(sp1("environments"), map[string]any{"Name": "Prod"})["Id"])
	lc := str(f.post(sp1("lifecycles"), map[string]any{"Name": "Two phases", "Phases": []any{
		map[string]any{"Name": "Dev", "AutomaticDeploymentTargets": []any{rf.dev}},
		map[string]any{"Name": "Prod", "OptionalDeploymentTargets": []any{rf.prod}},
	}})["Id"])
	pg := str(f.get(sp1("projectgroups?partialName=Default"))["Items"].([]any)[0].(map[string]any)["Id"])
	p := f.post(sp1("projects"), map[string]any{"Name": "Acme", "LifecycleId": lc, "ProjectGroupId": pg})
	rf.project = str(p["Id"])
	proc := f.get(sp1("deploymentprocesses/" + str(p["DeploymentProcessId"])))
	proc["Steps"] = []any{map[string]any{"Name": "Deploy web", "Actions": []any{map[string]any{
		"Name": "Deploy web", "ActionType": "Octopus.TentaclePackage",
		"Properties": map[string]any{"Octopus.Action.Package.PackageId": "Acme.Web", "Octopus.Action.Package.FeedId": "feeds-builtin"},
		"Packages":   []any{map[string]any{"Name": "", "PackageId": "Acme.Web", "FeedId": "feeds-builtin", "AcquisitionLocation": "Server"}},
	}}}}
	f.put(sp1("deploymentprocesses/"+str(p["DeploymentProcessId"])), proc)
	rf.channel = str(f.get(sp1("projects/" + rf.project + "/channels"))["Items"].([]any)[0].(map[string]any)["Id"])
	rf.runbook = str(f.post(sp1("runbooks"), map[string]any{"Name": "Restart", "ProjectId": rf.project})["Id"])
	for _, v := range []string{"1.0.0", "1.1.0", "2.0.0-beta"} {
		f.upload(sp1("packages/raw"), "Acme.Web."+v+".zip", zipOf(t, []byte(v)))
	}
	return rf
}

// TestReleaseCreateValidation: what a real server refuses in a release.
func TestReleaseCreateValidation(t *testing.T) {
	rf := newReleaseFixture(t, Options{})
	pkgs := []any{map[string]any{"ActionName": "Deploy web", "PackageReferenceName": "", "Version": "1.0.0"}}
	cases := []struct {
		name string
		body map[string]any
		want string
	}{
		{"no project", map[string]any{"Version": "1.0.0"}, "select the project"},
		{"unknown project", map[string]any{"ProjectId": "Projects-99", "Version": "1.0.0"}, "does not exist"},
		{"no version", map[string]any{"ProjectId": rf.project, "SelectedPackages": pkgs}, "provide a version"},
		{"bad version", map[string]any{"ProjectId": rf.project, "Version": "one", "SelectedPackages": pkgs}, "not a valid version"},
		{"foreign channel", map[string]any{"ProjectId": rf.project, "Version": "1.0.0", "ChannelId": "Channels-999", "SelectedPackages": pkgs}, "is not a channel"},
		{"package missing", map[string]any{"ProjectId": rf.project, "Version": "1.0.0"}, "Acme.Web"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := newclient.Post[map[string]any](rf.session(), sp1("releases"), c.body)
			wantBadRequest(t, err, c.want)
		})
	}
	rel := rf.post(sp1("releases"), map[string]any{"ProjectId": rf.project, "Version": "1.0.0", "SelectedPackages": pkgs})
	if rel["ChannelId"] != rf.channel || rel["Assembled"] == nil {
		t.Errorf("release %v", rel)
	}
	snap := str(rel["ProjectDeploymentProcessSnapshotId"])
	if !strings.HasPrefix(snap, "deploymentprocess-"+rf.project+"-s-") {
		t.Errorf("process snapshot %q", snap)
	}
	// The snapshot keeps the process as released.
	live := rf.get(sp1("deploymentprocesses/deploymentprocess-" + rf.project))
	live["Steps"] = []any{}
	rf.put(sp1("deploymentprocesses/deploymentprocess-"+rf.project), live)
	if frozen := rf.get(sp1("deploymentprocesses/" + snap)); len(frozen["Steps"].([]any)) != 1 {
		t.Errorf("snapshot changed with the live process: %v", frozen["Steps"])
	}
	if vs := rf.get(sp1("variables/" + str(rel["ProjectVariableSetSnapshotId"]))); vs["OwnerId"] != rf.project {
		t.Errorf("variable snapshot %v", vs)
	}
	_, err := newclient.Post[map[string]any](rf.session(), sp1("releases"), map[string]any{"ProjectId": rf.project, "Version": "1.0.0"})
	wantBadRequest(t, err, "already exists")
	if byVersion := rf.get(sp1("projects/" + rf.project + "/releases/1.0.0")); byVersion["Id"] != rel["Id"] {
		t.Errorf("by version %v", byVersion["Id"])
	}
}

// TestReleaseCreateV1AndDeploy: the CLI's commands create a release with
// resolved package versions and deploy it along the lifecycle; each
// deployment's task succeeds with a log.
func TestReleaseCreateV1AndDeploy(t *testing.T) {
	rf := newReleaseFixture(t, Options{})
	cmd := releases.NewCreateReleaseCommandV1("Spaces-1", "Acme")
	res, err := releases.CreateReleaseV1(rf.c, cmd)
	if err != nil {
		t.Fatal(err)
	}
	if res.ReleaseVersion != "0.0.1" {
		t.Errorf("version %q", res.ReleaseVersion)
	}
	rel := rf.get(sp1("releases/" + res.ReleaseID))
	if v := rel["SelectedPackages"].([]any)[0].(map[string]any)["Version"]; v != "1.1.0" {
		t.Errorf("package version %v, want the newest stable 1.1.0", v)
	}
	cmd.PackageVersion = "1.0.0"
	if res, err = releases.CreateReleaseV1(rf.c, cmd); err != nil || res.ReleaseVersion != "0.0.2" {
		t.Fatalf("second release: %v %v", res, err)
	}
	cmd.ReleaseVersion, cmd.IgnoreIfAlreadyExists = "0.0.1", true
	if again, err := releases.CreateReleaseV1(rf.c, cmd); err != nil || again.ReleaseID != rel["Id"] {
		t.Errorf("ignoreIfAlreadyExists: %v %v", again, err)
	}

	deploy := func(env string) (*deployments.CreateDeploymentResponseV1, error) {
		d := deployments.NewCreateDeploymentUntenantedCommandV1("Spaces-1", "Acme")
		d.ReleaseVersion, d.EnvironmentNames = "0.0.1", []string{env}
		return deployments.CreateDeploymentUntenantedV1(rf.c, d)
	}
	_, err = deploy("Prod")
	wantBadRequest(t, err, "lifecycle")
	dep, err := deploy("Dev")
	if err != nil {
		t.Fatal(err)
	}
	taskID := dep.DeploymentServerTasks[0].ServerTaskID
	task := rf.get(sp1("tasks/" + taskID))
	if task["State"] != "Success" || task["Name"] != "Deploy" || task["Description"] != "Deploy Acme release 0.0.1 to Dev" {
		t.Errorf("task %v", task)
	}
	details, err := tasks.GetDetails(rf.c, "Spaces-1", taskID)
	if err != nil {
		t.Fatal(err)
	}
	if len(details.ActivityLogs) != 1 || len(details.ActivityLogs[0].Children) != 1 ||
		!strings.Contains(details.ActivityLogs[0].Children[0].LogElements[0].MessageText, "Deploy web") {
		t.Errorf("activity log %+v", details.ActivityLogs)
	}
	raw := rf.raw(http.MethodGet, "/api/tasks/"+taskID+"/raw", testKey, nil)
	if !strings.Contains(string(raw.body), "Step 1: Deploy web") {
		t.Errorf("raw log %s", raw.body)
	}
	if _, err := deploy("Prod"); err != nil {
		t.Errorf("after Dev succeeded, Prod: %v", err)
	}
	list := rf.get(sp1("releases/" + str(rel["Id"]) + "/deployments"))
	if list["TotalResults"] != float64(2) {
		t.Errorf("release deployments %v", list["TotalResults"])
	}
	filtered := rf.get("/api/tasks?project=" + rf.project + "&environment=" + rf.dev + "&states=Success")
	if filtered["TotalResults"] != float64(1) {
		t.Errorf("tasks filtered by project, environment and state: %v", filtered["TotalResults"])
	}
	// Deleting the project takes its releases and their deployments.
	if err := rf.c.Projects.DeleteByID(rf.project); err != nil {
		t.Fatal(err)
	}
	if n := rf.get(sp1("deployments"))["TotalResults"]; n != float64(0) {
		t.Errorf("deployments left: %v", n)
	}
}

// TestTaskStatesFromTheClock: with a TaskDuration a deployment's task is
// Executing, then Success; a queued one can be canceled.
func TestTaskStatesFromTheClock(t *testing.T) {
	rf := newReleaseFixture(t, Options{TaskDuration: 300 * time.Millisecond})
	rel := rf.post(sp1("releases"), map[string]any{"ProjectId": rf.project, "Version": "1.0.0",
		"SelectedPackages": []any{map[string]any{"ActionName": "Deploy web", "Version": "1.0.0"}}})
	dep := rf.post(sp1("deployments"), map[string]any{"ReleaseId": rel["Id"], "EnvironmentId": rf.dev})
	id := str(dep["TaskId"])
	if st := rf.get("/api/tasks/" + id)["State"]; st != "Executing" {
		t.Errorf("state at once %v", st)
	}
	if n := rf.get(sp1("tasks?running=true&project=" + rf.project))["TotalResults"]; n != float64(1) {
		t.Errorf("running tasks %v", n)
	}
	time.Sleep(400 * time.Millisecond)
	if st := rf.get("/api/tasks/" + id)["State"]; st != "Success" {
		t.Errorf("state later %v", st)
	}
	later := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	queued := rf.post(sp1("deployments"), map[string]any{"ReleaseId": rel["Id"], "EnvironmentId": rf.prod, "QueueTime": later})
	qid := str(queued["TaskId"])
	if st := rf.get(sp1("tasks/" + qid))["State"]; st != "Queued" {
		t.Errorf("scheduled task %v", st)
	}
	canceled, err := tasks.Cancel(rf.c, "Spaces-1", qid)
	if err != nil {
		t.Fatal(err)
	}
	if canceled.State != "Canceled" || canceled.FinishedSuccessfully == nil || *canceled.FinishedSuccessfully {
		t.Errorf("canceled %+v", canceled)
	}
	// A fresh server lists its start-up system task.
	sys := rf.get("/api/tasks?name=SyncCommunityActionTemplates")
	if sys["TotalResults"] != float64(1) {
		t.Errorf("system task %v", sys["TotalResults"])
	}
	if _, err := tasks.GetDetails(rf.c, "Spaces-1", "ServerTasks-999"); err == nil {
		t.Error("details of an unknown task")
	}
}

// TestRunbookSnapshotAndRun: a published snapshot is what the CLI's run
// command runs; the run queues a task.
func TestRunbookSnapshotAndRun(t *testing.T) {
	rf := newReleaseFixture(t, Options{})
	cmd := runbooks.NewRunbookRunCommandV1("Spaces-1", "Acme")
	cmd.RunbookName, cmd.EnvironmentNames = "Restart", []string{"Dev"}
	_, err := runbooks.RunbookRunV1(rf.c, cmd)
	wantBadRequest(t, err, "no published snapshot")
	snap := rf.post(sp1("runbookSnapshots?publish=true"), map[string]any{"Name": "Snapshot 1", "RunbookId": rf.runbook})
	if !strings.HasPrefix(str(snap["FrozenRunbookProcessId"]), "RunbookProcess-"+rf.runbook+"-s-") || snap["ProjectId"] != rf.project {
		t.Errorf("snapshot %v", snap)
	}
	if rb := rf.get(sp1("runbooks/" + rf.runbook)); rb["PublishedRunbookSnapshotId"] != snap["Id"] {
		t.Errorf("published %v", rb["PublishedRunbookSnapshotId"])
	}
	// The CLI lists a runbook's snapshots through its project.
	if l := rf.get(sp1("projects/" + rf.project + "/runbooks/" + rf.runbook + "/runbookSnapshots")); l["TotalResults"] != float64(1) {
		t.Errorf("snapshots through the project: %v", l["TotalResults"])
	}
	_, err = newclient.Post[map[string]any](rf.session(), sp1("runbookSnapshots"), map[string]any{"Name": "Snapshot 1", "RunbookId": rf.runbook})
	wantBadRequest(t, err, "already exists")
	res, err := runbooks.RunbookRunV1(rf.c, cmd)
	if err != nil {
		t.Fatal(err)
	}
	run := rf.get(sp1("runbookRuns/" + res.RunbookRunServerTasks[0].RunbookRunID))
	task := rf.get(sp1("tasks/" + res.RunbookRunServerTasks[0].ServerTaskID))
	if run["RunbookSnapshotId"] != snap["Id"] || task["Name"] != "RunbookRun" || task["State"] != "Success" {
		t.Errorf("run %v task %v", run, task)
	}
}
