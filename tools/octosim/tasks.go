package octosim

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Server tasks: every deployment, runbook run and server action is a task
// (ServerTasks-N) with a state and an activity log, as on a real server:
//
//	GET  /api/tasks[?states,project,environment,tenant,runbook,name,node,running,active,
//	     hasPendingInterruptions,hasWarningsOrErrors,ids,partialName,spaces,includeSystem,skip,take]
//	GET  /api/{space}/tasks[?…]            the space's tasks (and, unless includeSystem=false, the system's)
//	GET  …/tasks/{id}, …/tasks/{id}/details (ActivityLogs, Progress, PhysicalLogSize), …/tasks/{id}/raw (the log as text)
//	POST …/tasks/{id}/cancel, …/tasks/rerun/{id}, …/tasks/{id}/state {State, Reason}
//	POST …/tasks {Name, Description, Arguments}  a server action (Health, AdHocScript …)
//	GET  …/tasks/tasktypes
//	also below /api/spaces/{space}/tasks (go-octopusdeploy's tasks.Cancel).
//
// The simulator has no Tentacles: a task does what the server itself would
// do and logs what the targets would have done as skipped. A task is
// Queued until its queue time (a deployment's runAt), Executing for
// Options.TaskDuration after that, then Success — read lazily from the
// clock, so nothing runs in the background and a zero TaskDuration
// completes every task as it is created. Cancel (before completion) makes
// it Canceled, the state action sets Success or Failed.
//
// A fresh server has run its start-up system task, synchronizing the
// community step templates (SpaceId null), as a real one does.
//
// System tasks live in the server store, space tasks in the space's
// "tasks" collection (which Dump and seeds carry).
const tasksStore = "tasks"

func init() {
	registerServerRoute("tasks", func(s *Server, r *request, segs []string) (int, any, error) {
		return s.serveTasks(r, nil, segs)
	})
	registerSpaceRoute("tasks", func(s *Server, r *request, sp *space, segs []string) (int, any, error) {
		return s.serveTasks(r, sp, segs)
	})
	registerSeedCollection(tasksStore, "", "Id")
}

// taskStep is one child activity of a task's log: a name, its lines and
// the error lines it ends with (shown once the task has completed: a
// failed step's).
type taskStep struct {
	Name   string
	Lines  []string
	Errors []string
}

// taskSpec is what creates a task.
type taskSpec struct {
	// Name is the task type ("Deploy", "RunbookRun", "Health").
	Name string
	// Description is the task's title ("Deploy Acme release 1.0.0 to Production").
	Description string
	// Arguments are the task's arguments (DeploymentId …).
	Arguments map[string]any
	// Regarding holds the IDs the list filters match: ProjectId,
	// EnvironmentId, TenantId, RunbookId.
	Regarding map[string]string
	// QueueTime is when the task may start (zero: now); QueueTimeExpiry,
	// if set, when it may no longer start.
	QueueTime, QueueTimeExpiry time.Time
	// Steps are the log's child activities.
	Steps []taskStep
	// Outcome is the state the task ends in when it runs to completion:
	// "" (Success), "Failed" or "Canceled" (see deployments.go's
	// simulator variables); ErrorMessage is the task's ErrorMessage then.
	Outcome, ErrorMessage string
}

// newTask stores a task in sp (nil: a system task) and returns it.
func (s *Server) newTask(sp *space, ts taskSpec) map[string]any {
	now := time.Now()
	queue := ts.QueueTime
	if queue.IsZero() || queue.Before(now) {
		queue = now
	}
	args := ts.Arguments
	if args == nil {
		args = map[string]any{}
	}
	steps := make([]any, 0, len(ts.Steps))
	for _, st := range ts.Steps {
		lines := make([]any, len(st.Lines))
		for i, l := range st.Lines {
			lines[i] = l
		}
		step := map[string]any{"Name": st.Name, "Lines": lines}
		if len(st.Errors) > 0 {
			errs := make([]any, len(st.Errors))
			for i, l := range st.Errors {
				errs[i] = l
			}
			step["Errors"] = errs
		}
		steps = append(steps, step)
	}
	doc := map[string]any{
		"Id": s.st.nextID("ServerTasks"), "Name": ts.Name, "Description": ts.Description, "Arguments": args,
		"QueueTime": timestamp(queue), "Created": timestamp(now), "DurationNs": float64(s.taskDuration),
		"ServerNode": "octosim", "Steps": steps, "Regarding": regardingDoc(ts.Regarding),
	}
	if !ts.QueueTimeExpiry.IsZero() {
		doc["QueueTimeExpiry"] = timestamp(ts.QueueTimeExpiry)
	}
	if ts.Outcome != "" && ts.Outcome != "Success" {
		doc["Outcome"], doc["OutcomeMessage"] = ts.Outcome, ts.ErrorMessage
	}
	store := s.st.server
	doc["SpaceId"] = nil
	if sp != nil && sp.doc != nil {
		store = sp
		doc["SpaceId"] = sp.id()
	}
	store.coll(tasksStore).put(str(doc["Id"]), doc)
	return doc
}

func regardingDoc(m map[string]string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

// startServerTasks records the tasks a real server runs when it starts.
func (s *Server) startServerTasks() {
	s.newTask(nil, taskSpec{
		Name: "SyncCommunityActionTemplates", Description: "Synchronize Community Step Templates",
		Steps: []taskStep{{Name: "Synchronize Community Step Templates", Lines: []string{
			"The simulator holds no community library; there was nothing to synchronize."}}},
	})
}

// taskTimes are a task's state and times at now, derived from its queue
// time and duration unless the task was ended explicitly (EndState). A
// task that runs to completion ends in its Outcome (Success unless the
// deployment was told to fail or be canceled).
type taskTimes struct {
	State                string
	Start, End           time.Time
	Started, IsCompleted bool
}

func taskTimesAt(doc map[string]any, now time.Time) taskTimes {
	queue := parseStamp(str(doc["QueueTime"]))
	if end := str(doc["EndState"]); end != "" {
		t := taskTimes{State: end, End: parseStamp(str(doc["EndTime"])), IsCompleted: true}
		if st := str(doc["StartTime"]); st != "" {
			t.Start, t.Started = parseStamp(st), true
		}
		return t
	}
	dur := time.Duration(num(doc["DurationNs"]))
	switch {
	case now.Before(queue):
		if exp := str(doc["QueueTimeExpiry"]); exp != "" && now.After(parseStamp(exp)) {
			return taskTimes{State: "TimedOut", End: parseStamp(exp), IsCompleted: true}
		}
		return taskTimes{State: "Queued"}
	case now.Before(queue.Add(dur)):
		return taskTimes{State: "Executing", Start: queue, Started: true}
	}
	return taskTimes{State: cmpOrStr(str(doc["Outcome"]), "Success"), Start: queue, End: queue.Add(dur), Started: true, IsCompleted: true}
}

// taskError is the task's ErrorMessage at tt: the one an explicit end
// (cancel, state) stored, else its outcome's once it has completed.
func taskError(doc map[string]any, tt taskTimes) string {
	if msg := str(doc["ErrorMessage"]); msg != "" || str(doc["EndState"]) != "" {
		return msg
	}
	if tt.IsCompleted {
		return str(doc["OutcomeMessage"])
	}
	return ""
}

func parseStamp(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

func num(v any) float64 {
	f, _ := v.(float64)
	return f
}

// renderTask is a task as the API answers it (TaskResource).
func renderTask(doc map[string]any, now time.Time) map[string]any {
	tt := taskTimesAt(doc, now)
	out := map[string]any{
		"Id": doc["Id"], "SpaceId": doc["SpaceId"], "Name": doc["Name"], "Description": doc["Description"],
		"Arguments": doc["Arguments"], "State": tt.State, "QueueTime": doc["QueueTime"],
		"QueueTimeExpiry": doc["QueueTimeExpiry"], "StartTime": nil, "CompletedTime": nil, "Completed": nil,
		"LastUpdatedTime": doc["QueueTime"], "ServerNode": nil, "Duration": nil,
		"ErrorMessage": cmpStr(taskError(doc, tt)), "HasBeenPickedUpByProcessor": tt.Started,
		"IsCompleted": tt.IsCompleted, "FinishedSuccessfully": tt.State == "Success",
		"HasPendingInterruptions": false, "CanRerun": tt.IsCompleted && rerunnable[str(doc["Name"])],
		"HasWarningsOrErrors": tt.State == "Failed" || tt.State == "TimedOut",
	}
	if tt.Started {
		out["StartTime"] = timestamp(tt.Start)
		out["ServerNode"] = doc["ServerNode"]
		out["LastUpdatedTime"] = timestamp(tt.Start)
		end := now
		if tt.IsCompleted {
			end = tt.End
		}
		out["Duration"] = humanDuration(end.Sub(tt.Start))
	}
	if tt.IsCompleted {
		out["CompletedTime"] = timestamp(tt.End)
		out["Completed"] = tt.End.UTC().Format("Monday, 2 January 2006 3:04:05 PM -07:00")
		out["LastUpdatedTime"] = timestamp(tt.End)
	}
	self := taskBase(doc) + "/" + str(doc["Id"])
	out["Links"] = map[string]any{
		"Self": self, "Web": "/app#/" + spacePrefix(doc) + "tasks/" + str(doc["Id"]),
		"Raw": self + "/raw", "Rerun": taskBase(doc) + "/rerun/" + str(doc["Id"]), "Cancel": self + "/cancel",
		"State": self + "/state", "QueuedBehind": self + "/queued-behind{?skip,take}",
		"Details": self + "/details{?verbose,tail,ranges}", "StatusMessages": self + "/status/messages",
		"Artifacts":     artifactsPath(doc) + "?regarding=" + str(doc["Id"]),
		"Interruptions": interruptionsPath(doc) + "?regarding=" + str(doc["Id"]),
	}
	return out
}

// rerunnable are the task types a real server can run again.
var rerunnable = map[string]bool{"Deploy": true, "RunbookRun": true, "Health": true, "AdHocScript": true,
	"Upgrade": true, "TestEmail": true, "SyncCommunityActionTemplates": true}

func cmpStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func spacePrefix(doc map[string]any) string {
	if sp := str(doc["SpaceId"]); sp != "" {
		return sp + "/"
	}
	return ""
}

func taskBase(doc map[string]any) string {
	if sp := str(doc["SpaceId"]); sp != "" {
		return "/api/" + sp + "/tasks"
	}
	return "/api/tasks"
}

func artifactsPath(doc map[string]any) string {
	return strings.TrimSuffix(taskBase(doc), "tasks") + "artifacts"
}

func interruptionsPath(doc map[string]any) string {
	return strings.TrimSuffix(taskBase(doc), "tasks") + "interruptions"
}

// humanDuration writes a duration as the server does ("less than a
// second", "1 second", "3 minutes").
func humanDuration(d time.Duration) string {
	unit := func(n int, name string) string {
		if n == 1 {
			return "1 " + name
		}
		return fmt.Sprintf("%d %ss", n, name)
	}
	switch {
	case d < time.Second:
		return "less than a second"
	case d < time.Minute:
		return unit(int(d/time.Second), "second")
	case d < time.Hour:
		return unit(int(d/time.Minute), "minute")
	}
	return unit(int(d/time.Hour), "hour")
}

// taskScope lists the tasks a request may see: sp's and (unless the
// request says includeSystem=false) the system's; with sp nil every
// space's (or those named by spaces=) and the system's (includeSystem
// defaults to true).
func (s *Server) taskScope(r *request, sp *space) []map[string]any {
	var docs []map[string]any
	includeSystem := !strings.EqualFold(r.q("includeSystem"), "false")
	if includeSystem {
		docs = append(docs, s.st.server.coll(tasksStore).all()...)
	}
	if sp != nil {
		return append(docs, sp.coll(tasksStore).all()...)
	}
	wanted := map[string]bool{}
	for _, id := range r.queryValues("spaces") {
		wanted[strings.ToLower(id)] = true
	}
	for _, d := range s.st.spaces.all() {
		if len(wanted) > 0 && !wanted[strings.ToLower(str(d["Id"]))] {
			continue
		}
		if one := s.st.lookupSpace(str(d["Id"])); one != nil {
			docs = append(docs, one.coll(tasksStore).all()...)
		}
	}
	return docs
}

// findTask finds a task by ID among the request's scope (any space for a
// route without one).
func (s *Server) findTask(sp *space, id string) (map[string]any, *space) {
	if d := s.st.server.coll(tasksStore).get(id); d != nil {
		return d, s.st.server
	}
	if sp != nil {
		return sp.coll(tasksStore).get(id), sp
	}
	for _, d := range s.st.spaces.all() {
		if one := s.st.lookupSpace(str(d["Id"])); one != nil {
			if t := one.coll(tasksStore).get(id); t != nil {
				return t, one
			}
		}
	}
	return nil, nil
}

// taskFilter is a list filter: its query parameter and test.
type taskFilter struct {
	Param string
	Match func(doc map[string]any, tt taskTimes, val string) bool
}

var taskFilters = []taskFilter{
	{"states", func(_ map[string]any, tt taskTimes, v string) bool {
		return slices.ContainsFunc(splitIDs([]string{v}), func(s string) bool { return strings.EqualFold(s, tt.State) })
	}},
	{"project", regardingMatch("ProjectId")},
	{"environment", regardingMatch("EnvironmentId")},
	{"tenant", regardingMatch("TenantId")},
	{"runbook", regardingMatch("RunbookId")},
	{"name", func(d map[string]any, _ taskTimes, v string) bool { return strings.EqualFold(str(d["Name"]), v) }},
	{"node", func(d map[string]any, _ taskTimes, v string) bool { return strings.EqualFold(str(d["ServerNode"]), v) }},
	{"running", func(_ map[string]any, tt taskTimes, v string) bool {
		return !strings.EqualFold(v, "true") || tt.State == "Executing"
	}},
	{"active", func(_ map[string]any, tt taskTimes, v string) bool {
		return !strings.EqualFold(v, "true") || !tt.IsCompleted
	}},
	{"hasPendingInterruptions", func(_ map[string]any, _ taskTimes, v string) bool { return !strings.EqualFold(v, "true") }},
	{"hasWarningsOrErrors", func(_ map[string]any, tt taskTimes, v string) bool {
		return !strings.EqualFold(v, "true") || tt.State == "Failed" || tt.State == "TimedOut"
	}},
	{"partialName", func(d map[string]any, _ taskTimes, v string) bool {
		return strings.Contains(strings.ToLower(str(d["Description"])), strings.ToLower(v))
	}},
}

func regardingMatch(field string) func(map[string]any, taskTimes, string) bool {
	return func(d map[string]any, _ taskTimes, v string) bool {
		reg, _ := d["Regarding"].(map[string]any)
		return strings.EqualFold(str(reg[field]), v)
	}
}

// listTasks answers a task list, newest first.
func (s *Server) listTasks(r *request, sp *space) map[string]any {
	now := time.Now()
	ids := map[string]bool{}
	for _, id := range r.queryValues("ids") {
		ids[strings.ToLower(id)] = true
	}
	var items []map[string]any
	for _, d := range s.taskScope(r, sp) {
		if len(ids) > 0 && !ids[strings.ToLower(str(d["Id"]))] {
			continue
		}
		tt := taskTimesAt(d, now)
		ok := true
		for _, f := range taskFilters {
			if v := r.q(f.Param); v != "" && !f.Match(d, tt, v) {
				ok = false
				break
			}
		}
		if ok {
			items = append(items, d)
		}
	}
	slices.SortStableFunc(items, func(a, b map[string]any) int {
		if c := strings.Compare(str(b["Created"]), str(a["Created"])); c != 0 {
			return c
		}
		return compareVersions(strings.TrimPrefix(str(b["Id"]), "ServerTasks-"), strings.TrimPrefix(str(a["Id"]), "ServerTasks-"))
	})
	out := page(r, "Task", items)
	pageItems := out["Items"].([]map[string]any)
	rendered := make([]map[string]any, len(pageItems))
	for i, d := range pageItems {
		rendered[i] = renderTask(d, now)
	}
	out["Items"] = rendered
	return out
}

// serveTasks answers /tasks… (sp nil: the server route /api/tasks).
func (s *Server) serveTasks(r *request, sp *space, segs []string) (int, any, error) {
	switch {
	case len(segs) == 0 && r.method == http.MethodGet:
		return http.StatusOK, s.listTasks(r, sp), nil
	case len(segs) == 0 && r.method == http.MethodPost:
		return s.createActionTask(r, sp)
	case len(segs) == 1 && strings.EqualFold(segs[0], "tasktypes") && r.method == http.MethodGet:
		return http.StatusOK, taskTypes(), nil
	case len(segs) == 2 && strings.EqualFold(segs[0], "rerun"):
		if r.method != http.MethodPost {
			return 0, nil, methodNotAllowed(r.method, r.path)
		}
		return s.rerunTask(sp, segs[1])
	case len(segs) == 0:
		return 0, nil, methodNotAllowed(r.method, r.path)
	}
	doc, home := s.findTask(sp, segs[0])
	if doc == nil {
		return 0, nil, notFound(segs[0])
	}
	now := time.Now()
	sub := ""
	if len(segs) == 2 {
		sub = strings.ToLower(segs[1])
	} else if len(segs) > 2 {
		return 0, nil, notFound(r.path)
	}
	switch {
	case sub == "" && r.method == http.MethodGet:
		return http.StatusOK, renderTask(doc, now), nil
	case sub == "details" && r.method == http.MethodGet:
		return http.StatusOK, taskDetails(doc, now), nil
	case sub == "raw" && r.method == http.MethodGet:
		return http.StatusOK, binaryAnswer{data: []byte(taskRawLog(doc, now)), contentType: "text/plain; charset=utf-8"}, nil
	case sub == "queued-behind" && r.method == http.MethodGet:
		return http.StatusOK, page(r, "Task", nil), nil
	case sub == "cancel" && r.method == http.MethodPost:
		return s.endTask(home, doc, "Canceled", "The task was canceled.", now)
	case sub == "state" && r.method == http.MethodPost:
		state := str(fieldFold(r.body, "State"))
		if state != "Success" && state != "Failed" {
			return 0, nil, badRequestf("The state '%s' is not valid: a task can be marked Success or Failed.", state)
		}
		if !taskTimesAt(doc, now).IsCompleted {
			return 0, nil, badRequest("Only a completed task can have its state changed.")
		}
		return s.endTask(home, doc, state, str(fieldFold(r.body, "Reason")), now)
	}
	return 0, nil, methodNotAllowed(r.method, r.path)
}

// endTask stores state as the task's final state; a cancel of a completed
// task changes nothing, as on a real server.
func (s *Server) endTask(home *space, doc map[string]any, state, msg string, now time.Time) (int, any, error) {
	tt := taskTimesAt(doc, now)
	if state == "Canceled" && tt.IsCompleted {
		return http.StatusOK, renderTask(doc, now), nil
	}
	d := copyDoc(doc)
	d["EndState"] = state
	if tt.IsCompleted {
		d["EndTime"] = timestamp(tt.End)
	} else {
		d["EndTime"] = timestamp(now)
	}
	if tt.Started {
		d["StartTime"] = timestamp(tt.Start)
	}
	if state != "Success" {
		d["ErrorMessage"] = msg
	}
	steps := asSlice(d["Steps"])
	line := "Task state changed to " + state
	if msg != "" {
		line += ": " + msg
	}
	d["Steps"] = append(steps, map[string]any{"Name": "Task state", "Lines": []any{line}})
	home.coll(tasksStore).put(str(d["Id"]), d)
	return http.StatusOK, renderTask(d, now), nil
}

// rerunTask queues a new task like the completed one.
func (s *Server) rerunTask(sp *space, id string) (int, any, error) {
	doc, home := s.findTask(sp, id)
	if doc == nil {
		return 0, nil, notFound(id)
	}
	now := time.Now()
	if !taskTimesAt(doc, now).IsCompleted {
		return 0, nil, badRequest("The task is still running; only a completed task can be re-run.")
	}
	reg := map[string]string{}
	for k, v := range asMap(doc["Regarding"]) {
		reg[k] = str(v)
	}
	ts := taskSpec{Name: str(doc["Name"]), Description: str(doc["Description"]), Arguments: asMap(copyDoc(doc)["Arguments"]), Regarding: reg}
	for _, st := range asSlice(doc["Steps"]) {
		m := asMap(st)
		if str(m["Name"]) != "Task state" {
			ts.Steps = append(ts.Steps, taskStep{Name: str(m["Name"]), Lines: strs(m["Lines"]), Errors: strs(m["Errors"])})
		}
	}
	ts.Outcome, ts.ErrorMessage = str(doc["Outcome"]), str(doc["OutcomeMessage"])
	if home == s.st.server {
		home = nil
	}
	return http.StatusOK, renderTask(s.newTask(home, ts), now), nil
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// actionTasks are the server actions POST /tasks may start, with what the
// simulator logs for them.
var actionTasks = map[string]string{
	"Health":                       "The simulator has no Tentacles; no machine was checked.",
	"AdHocScript":                  "The simulator has no Tentacles; the script was not run.",
	"Upgrade":                      "The simulator has no Tentacles; nothing was upgraded.",
	"UpdateCalamari":               "The simulator has no Tentacles; Calamari was not updated.",
	"TentacleUpgrade":              "The simulator has no Tentacles; nothing was upgraded.",
	"SyncCommunityActionTemplates": "The simulator holds no community library; there was nothing to synchronize.",
	"Retention":                    "The simulator keeps every release; retention removed nothing.",
	"TestEmail":                    "The simulator sends no email.",
}

// createActionTask is POST /tasks: a server action.
func (s *Server) createActionTask(r *request, sp *space) (int, any, error) {
	name := str(fieldFold(r.body, "Name"))
	msg, ok := actionTasks[name]
	if !ok {
		names := make([]string, 0, len(actionTasks))
		for n := range actionTasks {
			names = append(names, n)
		}
		slices.Sort(names)
		return 0, nil, badRequestf("The task type '%s' cannot be started this way: use one of %s.", name, strings.Join(names, ", "))
	}
	desc := str(fieldFold(r.body, "Description"))
	if desc == "" {
		desc = name
	}
	args := asMap(fieldFold(r.body, "Arguments"))
	if sp == nil {
		if id := str(fieldFold(r.body, "SpaceId")); id != "" {
			if sp = s.st.lookupSpace(id); sp == nil {
				return 0, nil, badRequestf("The space '%s' does not exist.", id)
			}
		}
	}
	doc := s.newTask(sp, taskSpec{Name: name, Description: desc, Arguments: args,
		Steps: []taskStep{{Name: desc, Lines: []string{msg}}}})
	return http.StatusCreated, renderTask(doc, time.Now()), nil
}

func taskTypes() []any {
	names := []string{"Deploy", "RunbookRun"}
	for n := range actionTasks {
		names = append(names, n)
	}
	slices.Sort(names)
	out := make([]any, 0, len(names))
	for _, n := range names {
		out = append(out, map[string]any{"Id": n, "Name": n})
	}
	return out
}

// taskDetails is GET tasks/{id}/details: the task, its activity log tree
// (one root, a child per step) and progress.
func taskDetails(doc map[string]any, now time.Time) map[string]any {
	tt := taskTimesAt(doc, now)
	status := map[string]string{"Queued": "Pending", "Executing": "Running", "Success": "Success",
		"Failed": "Failed", "Canceled": "Canceled", "TimedOut": "Failed", "Cancelling": "Running"}[tt.State]
	var started, ended any
	if tt.Started {
		started = timestamp(tt.Start)
	}
	if tt.IsCompleted {
		ended = timestamp(tt.End)
	}
	id := str(doc["Id"])
	children := []any{}
	size := 0
	for i, st := range asSlice(doc["Steps"]) {
		m := asMap(st)
		logs := []any{}
		stepStatus := status
		if tt.Started {
			for _, l := range strs(m["Lines"]) {
				logs = append(logs, map[string]any{"OccurredAt": started, "Category": "Info", "MessageText": l, "Detail": nil})
				size += len(l) + 1
			}
		}
		if tt.IsCompleted {
			for _, l := range strs(m["Errors"]) {
				logs = append(logs, map[string]any{"OccurredAt": ended, "Category": "Error", "MessageText": l, "Detail": nil})
				size += len(l) + 1
			}
		}
		if tt.IsCompleted && status == "Failed" && len(strs(m["Errors"])) == 0 {
			stepStatus = "Success" // only the failed step fails
		}
		children = append(children, map[string]any{
			"Id": fmt.Sprintf("%s_%d", id, i+1), "Name": m["Name"], "Started": started, "Ended": ended,
			"Status": stepStatus, "Children": []any{}, "ShowAtSummaryLevel": true, "LogElements": logs,
			"ProgressPercentage": 0, "ProgressMessage": nil,
		})
	}
	root := map[string]any{
		"Id": id, "Name": doc["Description"], "Started": started, "Ended": ended, "Status": status,
		"Children": children, "ShowAtSummaryLevel": true, "LogElements": []any{},
		"ProgressPercentage": 0, "ProgressMessage": nil,
	}
	pct := 0
	if tt.IsCompleted {
		pct = 100
	}
	task := renderTask(doc, now)
	return map[string]any{
		"Id": id, "Task": task, "ActivityLogs": []any{root}, "PhysicalLogSize": size,
		"Progress": map[string]any{"ProgressPercentage": pct, "EstimatedTimeRemaining": ""},
		"Links":    map[string]any{"Self": task["Links"].(map[string]any)["Self"].(string) + "/details"},
	}
}

// taskRawLog is GET tasks/{id}/raw: the log as the server's text file.
func taskRawLog(doc map[string]any, now time.Time) string {
	tt := taskTimesAt(doc, now)
	var b strings.Builder
	stamp := func(t time.Time) string { return t.UTC().Format("15:04:05") }
	fmt.Fprintf(&b, "Task ID:        %s\nTask status:    %s\nTask queued:    %s\n", str(doc["Id"]), tt.State, str(doc["QueueTime"]))
	if !tt.Started {
		return b.String()
	}
	fmt.Fprintf(&b, "Task started:   %s\n", timestamp(tt.Start))
	if tt.IsCompleted {
		fmt.Fprintf(&b, "Task completed: %s\nTask duration:  %s\n", timestamp(tt.End), humanDuration(tt.End.Sub(tt.Start)))
	}
	fmt.Fprintf(&b, "Server node:    %s\n\n                    | %s\n", str(doc["ServerNode"]), str(doc["Description"]))
	for _, st := range asSlice(doc["Steps"]) {
		m := asMap(st)
		fmt.Fprintf(&b, "                    |   %s\n", str(m["Name"]))
		for _, l := range strs(m["Lines"]) {
			fmt.Fprintf(&b, "%s   Info     |     %s\n", stamp(tt.Start), l)
		}
		if tt.IsCompleted {
			for _, l := range strs(m["Errors"]) {
				fmt.Fprintf(&b, "%s   Error    |     %s\n", stamp(tt.End), l)
			}
		}
	}
	if msg := taskError(doc, tt); msg != "" {
		fmt.Fprintf(&b, "%s   Fatal    |   %s\n", stamp(tt.End), msg)
	}
	return b.String()
}
