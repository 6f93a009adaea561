package octosim

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/tasks"
)

// TestDeploymentOutcomes: the simulator variables decide how a
// deployment's task ends, and the task then has the fields a real
// server's has (go-octopusdeploy's tasks.Task decodes it): a failed
// deployment is Failed with the server's ErrorMessage, not finished
// successfully, with warnings or errors, start, completion and duration,
// and its log holds the step's error and the fatal message.
func TestDeploymentOutcomes(t *testing.T) {
	rf := newReleaseFixture(t, Options{})
	// A project variable scoped to Prod fails only Prod's deployments.
	vs := rf.get(sp1("variables/variableset-" + rf.project))
	vs["Variables"] = []any{map[string]any{"Name": SimFailVariable, "Value": "The disk is full",
		"Scope": map[string]any{"Environment": []any{rf.prod}}}}
	rf.put(sp1("variables/variableset-"+rf.project), vs)
	pkgs := []any{map[string]any{"ActionName": "Deploy web", "Version": "1.0.0"}}
	rel := rf.post(sp1("releases"), map[string]any{"ProjectId": rf.project, "Version": "1.0.0", "SelectedPackages": pkgs})
	deploy := func(env string, form map[string]any) map[string]any {
		t.Helper()
		return rf.post(sp1("deployments"), map[string]any{"ReleaseId": rel["Id"], "EnvironmentId": env, "FormValues": form})
	}
	cases := []struct {
		name, env    string
		form         map[string]any
		state, error string
		log          []string
	}{
		{"success", rf.dev, nil, "Success", "", []string{"Task status:    Success", "Step 1: Deploy web"}},
		{"prompted failure", rf.dev, map[string]any{SimFailVariable: "Smoke test failed"}, "Failed", deploymentFailedMessage,
			[]string{"Task status:    Failed", "Error    |     Smoke test failed", "Fatal    |   " + deploymentFailedMessage}},
		{"prompted failure, default message", rf.dev, map[string]any{SimFailVariable: "True"}, "Failed", deploymentFailedMessage,
			[]string{"The step failed: Octopus.Simulator.Fail is set."}},
		{"not failing", rf.dev, map[string]any{SimFailVariable: "false"}, "Success", "", nil},
		{"scoped project variable", rf.prod, nil, "Failed", deploymentFailedMessage, []string{"The disk is full"}},
		{"cancel", rf.dev, map[string]any{SimCancelVariable: "true"}, "Canceled", "The task was canceled.", []string{"Task status:    Canceled"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dep := deploy(c.env, c.form)
			for _, f := range []string{"DeployedBy", "Created", "TaskId", "ReleaseId", "EnvironmentId", "ProjectId", "ChannelId", "Name"} {
				if str(dep[f]) == "" {
					t.Errorf("deployment %s empty: %v", f, dep)
				}
			}
			id := str(dep["TaskId"])
			page, err := rf.c.Tasks.Get(tasks.TasksQuery{IDs: []string{id}, Take: 1})
			if err != nil || len(page.Items) != 1 {
				t.Fatalf("tasks?ids=%s: %v %v", id, page, err)
			}
			task := page.Items[0]
			if task.State != c.state || task.ErrorMessage != c.error || task.IsCompleted == nil || !*task.IsCompleted ||
				task.FinishedSuccessfully == nil || *task.FinishedSuccessfully != (c.state == "Success") ||
				task.HasWarningsOrErrors != (c.state == "Failed") || task.StartTime == nil || task.CompletedTime == nil || task.Duration == "" {
				t.Errorf("task %+v", task)
			}
			raw := string(rf.raw(http.MethodGet, sp1("tasks/"+id+"/raw"), testKey, nil).body)
			for _, want := range c.log {
				if !strings.Contains(raw, want) {
					t.Errorf("raw log lacks %q:\n%s", want, raw)
				}
			}
			details, err := tasks.GetDetails(rf.c, "Spaces-1", id)
			if err != nil {
				t.Fatal(err)
			}
			errs := 0
			for _, ch := range details.ActivityLogs[0].Children {
				for _, le := range ch.LogElements {
					if le.Category == "Error" {
						errs++
					}
				}
			}
			if (errs > 0) != (c.state == "Failed") {
				t.Errorf("%d error log elements for a %s task", errs, c.state)
			}
		})
	}
	// Listed by project and environment, as report reads them.
	list := rf.get(sp1("deployments?projects=" + rf.project + "&environments=" + rf.prod))
	if list["TotalResults"] != float64(1) {
		t.Errorf("deployments?projects&environments: %v", list["TotalResults"])
	}
	// A failed deployment does not complete its lifecycle phase.
	if st := rf.get(sp1("tasks?states=Failed&project=" + rf.project))["TotalResults"]; st != float64(3) {
		t.Errorf("failed tasks %v", st)
	}
}

// TestFailingActionWhileExecuting: an action property fails its step; the
// error shows only once the task has completed.
func TestFailingActionWhileExecuting(t *testing.T) {
	rf := newReleaseFixture(t, Options{TaskDuration: 300 * time.Millisecond})
	proc := rf.get(sp1("deploymentprocesses/deploymentprocess-" + rf.project))
	action := proc["Steps"].([]any)[0].(map[string]any)["Actions"].([]any)[0].(map[string]any)
	action["Properties"].(map[string]any)[SimFailVariable] = "Step exploded"
	rf.put(sp1("deploymentprocesses/deploymentprocess-"+rf.project), proc)
	rel := rf.post(sp1("releases"), map[string]any{"ProjectId": rf.project, "Version": "1.0.0",
		"SelectedPackages": []any{map[string]any{"ActionName": "Deploy web", "Version": "1.0.0"}}})
	id := str(rf.post(sp1("deployments"), map[string]any{"ReleaseId": rel["Id"], "EnvironmentId": rf.dev})["TaskId"])
	task := rf.get(sp1("tasks/" + id))
	if task["State"] != "Executing" || task["ErrorMessage"] != nil {
		t.Errorf("executing task %v %v", task["State"], task["ErrorMessage"])
	}
	if raw := string(rf.raw(http.MethodGet, sp1("tasks/"+id+"/raw"), testKey, nil).body); strings.Contains(raw, "Step exploded") {
		t.Errorf("error logged before the end:\n%s", raw)
	}
	time.Sleep(400 * time.Millisecond)
	task = rf.get(sp1("tasks/" + id))
	if task["State"] != "Failed" || task["ErrorMessage"] != deploymentFailedMessage {
		t.Errorf("completed task %v %v", task["State"], task["ErrorMessage"])
	}
	if raw := string(rf.raw(http.MethodGet, sp1("tasks/"+id+"/raw"), testKey, nil).body); !strings.Contains(raw, "Step exploded") {
		t.Errorf("raw log lacks the step error:\n%s", raw)
	}
}
