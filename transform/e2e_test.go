package transform_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/octobundle/octobundle/apply"
	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/export"
	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/schema"
	"github.com/octobundle/octobundle/tools/octosim"
	"github.com/octobundle/octobundle/tools/octosim/simtest"
	"github.com/octobundle/octobundle/transform"
)

func startSim(t *testing.T, seed string) *octopus.Client {
	t.Helper()
	inst, err := octosim.LoadSeed(filepath.Join("..", "testdata", "instances", seed))
	if err != nil {
		t.Fatal(err)
	}
	srv, url := simtest.Start(t, octosim.Options{Seed: inst})
	c, err := octopus.Connect(context.Background(), octopus.Config{URL: url, APIKey: srv.APIKey(),
		Retry: octopus.Retry{Attempts: 5, Base: 5 * time.Millisecond, Max: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func exportSpace(t *testing.T, c *octopus.Client) *bundles.Bundle {
	t.Helper()
	res, err := export.Run(context.Background(), c, export.Options{ToolVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return res.Bundle
}

// End to end on the sample instances, through the simulator over HTTP:
// export the source, transform it with the demo's rules, apply it to the
// Staging/Production destination, and check, entity by entity, that the
// destination received what the rules say and nothing else.
func TestEndToEndStagingProduction(t *testing.T) {
	src, dst := startSim(t, "source.json"), startSim(t, "destination.json")
	rf, err := transform.ReadRuleFile(filepath.Join("..", "testdata", "rules", "staging-production.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	before := exportSpace(t, dst)
	fitted, _, err := transform.Transform(exportSpace(t, src), []*transform.RuleFile{rf}, transform.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, receipt, err := apply.Apply(context.Background(), dst, fitted, apply.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if receipt.Status() != plans.Succeeded {
		t.Fatalf("apply: %s", receipt.Status())
	}
	after := exportSpace(t, dst)

	// Nothing the rules dropped reached the destination.
	for _, gone := range [][]string{
		{schema.Environment, "Development"}, {schema.Environment, "Test"}, {schema.Lifecycle, "QA"},
		{schema.Channel, "OctoFX", "QA"}, {schema.Tenant, "Development Team A"},
		{schema.Account, "Azure Dev/Test Subscription"}, {schema.Certificate, "OctoFX Wildcard (Dev/Test)"},
		{schema.Runbook, "Infrastructure Runbooks", "Refresh Test Data"},
	} {
		if _, ok := after.Entity(schema.MustLookup(gone[0]), gone[1:]...); ok {
			t.Errorf("%v was created on the destination", gone)
		}
	}
	// Everything the fitted bundle holds is on the destination, and every
	// destination entity is either from the bundle or was there before.
	for _, e := range fitted.Entries() {
		if _, ok := after.Entity(e.Kind, e.Names...); !ok {
			t.Errorf("%s is not on the destination", e.Path)
		}
	}
	for _, e := range after.Entries() {
		_, inBundle := fitted.Entity(e.Kind, e.Names...)
		_, wasThere := before.Entity(e.Kind, e.Names...)
		if !inBundle && !wasThere {
			t.Errorf("%s appeared on the destination from nowhere", e.Path)
		}
	}
	// The process and the values carry no Development/Test or QA traces.
	proc, _ := after.Entity(schema.MustLookup(schema.DeploymentProcess), "OctoFX")
	for _, s := range proc.(map[string]any)["Steps"].([]any) {
		if s.(map[string]any)["Name"] == "QA Sign-off" {
			t.Error(`"QA Sign-off" was created on the destination`)
		}
	}
	vars, _ := after.Entity(schema.MustLookup(schema.ProjectVariables), "OctoFX")
	for _, v := range vars.(map[string]any)["Variables"].([]any) {
		sc, _ := v.(map[string]any)["Scope"].(map[string]any)
		envs, _ := sc["Environment"].([]any)
		for _, env := range envs {
			if env == "Development" || env == "Test" {
				t.Errorf("value %v scoped to %v on the destination", v.(map[string]any)["Name"], env)
			}
		}
	}
	tenant, _ := after.Entity(schema.MustLookup(schema.Tenant), "Internal")
	for p, envs := range tenant.(map[string]any)["ProjectEnvironments"].(map[string]any) {
		for _, env := range envs.([]any) {
			if !slices.Contains([]any{"Staging", "Production"}, env) {
				t.Errorf("tenant Internal linked to %s in %s", env, p)
			}
		}
	}
	roles, _ := after.Entity(schema.MustLookup(schema.ScopedUserRole), "OctoFX Developers")
	for _, r := range roles.([]any) {
		for _, env := range r.(map[string]any)["EnvironmentIds"].([]any) {
			if env == "Development" || env == "Test" {
				t.Errorf("role %v scoped to %v on the destination", r.(map[string]any)["UserRoleId"], env)
			}
		}
	}
}
