package octosim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// benchSpace is a simulator with n projects whose deployment processes
// hold about 8 KB each (2,000 projects: 16 MB of processes, as the
// benchmark instances of issue 20), served in-process.
func benchSpace(b *testing.B, n int) (http.Handler, []string, []string) {
	b.Helper()
	s, err := New(Options{APIKey: testKey})
	if err != nil {
		b.Fatal(err)
	}
	h := s.Handler()
	do := func(method, path string, body any) map[string]any {
		var rd *bytes.Reader
		if body != nil {
			data, _ := json.Marshal(body)
			rd = bytes.NewReader(data)
		} else {
			rd = bytes.NewReader(nil)
		}
		req := httptest.NewRequest(method, path, rd)
		req.Header.Set("X-Octopus-ApiKey", testKey)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code >= 300 {
			b.Fatalf("%s %s: %d %s", method, path, w.Code, w.Body.Bytes())
		}
		var m map[string]any
		_ = json.Unmarshal(w.Body.Bytes(), &m)
		return m
	}
	var lcs, pgs []map[string]any
	for _, it := range do(http.MethodGet, "/api/Spaces-1/lifecycles", nil)["Items"].([]any) {
		lcs = append(lcs, it.(map[string]any))
	}
	for _, it := range do(http.MethodGet, "/api/Spaces-1/projectgroups", nil)["Items"].([]any) {
		pgs = append(pgs, it.(map[string]any))
	}
	script := strings.Repeat("Write-Host 'step';", 150)
	var procs, vars []string
	for i := range n {
		p := do(http.MethodPost, "/api/Spaces-1/projects", map[string]any{
			"Name": fmt.Sprintf("Project %05d", i), "LifecycleId": lcs[0]["Id"], "ProjectGroupId": pgs[0]["Id"],
		})
		procID := str(p["DeploymentProcessId"])
		proc := do(http.MethodGet, "/api/Spaces-1/deploymentprocesses/"+procID, nil)
		var steps []any
		for j := range 2 {
			steps = append(steps, map[string]any{
				"Name": fmt.Sprintf("Step %d", j), "Condition": "Success", "StartTrigger": "StartAfterPrevious",
				"PackageRequirement": "LetOctopusDecide", "Properties": map[string]any{},
				"Actions": []any{map[string]any{
					"Name": fmt.Sprintf("Step %d", j), "ActionType": "Octopus.Script",
					"Properties": map[string]any{"Octopus.Action.Script.ScriptBody": script, "Octopus.Action.Script.Syntax": "PowerShell"},
				}},
			})
		}
		proc["Steps"] = steps
		do(http.MethodPut, "/api/Spaces-1/deploymentprocesses/"+procID, proc)
		procs = append(procs, procID)
		vars = append(vars, str(p["VariableSetId"]))
	}
	return h, procs, vars
}

func benchGet(b *testing.B, h http.Handler, path string) int {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set("X-Octopus-ApiKey", testKey)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		b.Fatalf("GET %s: %d", path, w.Code)
	}
	return w.Body.Len()
}

// reportCPU starts measuring the process's CPU time; the function it
// returns reports it per op (cpu-ms/op), less noisy than the wall time on
// a shared machine.
func reportCPU(b *testing.B) func() {
	cpu0 := processCPU()
	return func() { b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op") }
}

// BenchmarkListForms reads every deployment process of a space of 500 and
// of 2,000 projects in pages of 500, and every variable set by ids in
// chunks of 100: the cost per op should grow linearly with the number of
// projects (no quadratic work in the list or ids path).
//
//	go test ./tools/octosim -run '^$' -bench BenchmarkListForms -benchtime 3x
func BenchmarkListForms(b *testing.B) {
	for _, n := range []int{500, 2000} {
		h, procs, vars := benchSpace(b, n)
		b.Run(fmt.Sprintf("deploymentprocesses/N=%d", n), func(b *testing.B) {
			total := 0
			defer reportCPU(b)()
			for b.Loop() {
				total = 0
				for skip := 0; skip < n; skip += 500 {
					total += benchGet(b, h, fmt.Sprintf("/api/Spaces-1/deploymentprocesses?skip=%d&take=500", skip))
				}
			}
			b.ReportMetric(float64(total)/(1<<20), "MiB")
		})
		b.Run(fmt.Sprintf("deploymentprocesses-ids/N=%d", n), func(b *testing.B) {
			defer reportCPU(b)()
			for b.Loop() {
				for i := 0; i < len(procs); i += 100 {
					benchGet(b, h, "/api/Spaces-1/deploymentprocesses?take=100&ids="+url.QueryEscape(strings.Join(procs[i:min(i+100, len(procs))], ",")))
				}
			}
		})
		b.Run(fmt.Sprintf("variables-all-ids/N=%d", n), func(b *testing.B) {
			defer reportCPU(b)()
			for b.Loop() {
				for i := 0; i < len(vars); i += 100 {
					benchGet(b, h, "/api/Spaces-1/variables/all?ids="+url.QueryEscape(strings.Join(vars[i:min(i+100, len(vars))], ",")))
				}
			}
		})
	}
}
