package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/release"
)

// releaseCommand is `release`: promoting a release across the air gap
// (docs/release-promotion.md).
func releaseCommand() *cli.Command {
	return &cli.Command{
		Name:  "release",
		Usage: "promote a release to an instance that cannot see the source (docs/release-promotion.md)",
		Subcommands: append([]*cli.Command{releaseExportCommand(), releasePlanCommand(), releaseApplyCommand()},
			releaseResultCommands()...),
	}
}

func releaseExportCommand() *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "write a release bundle: one release of one project, the configuration it was cut from, and with --with-packages its built-in feed packages",
		ArgsUsage: " ",
		Flags: append(connectionFlags(),
			&cli.StringFlag{Name: "project", Usage: "the project `NAME`", Required: true},
			&cli.StringFlag{Name: "version", Usage: "the release `VERSION`", Required: true},
			&cli.StringFlag{Name: "channel", Usage: "refuse unless the release is in channel `NAME`"},
			&cli.BoolFlag{Name: "with-packages", Usage: "carry the built-in feed's package files the release selects (with their sha256)"},
			&cli.StringFlag{Name: "out", Usage: "write the release bundle to `PATH` (ending in .tar.zst: an archive; otherwise a directory)", Required: true},
			outputFlag(),
		),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageError("release export takes no arguments (got %q); use --out PATH", c.Args().First())
			}
			asJSON, err := jsonOutput(c)
			if err != nil {
				return err
			}
			cl, err := connect(c)
			if err != nil {
				return err
			}
			b, err := release.Export(c.Context, cl, release.ExportOptions{
				Project: c.String("project"), Version: c.String("version"), Channel: c.String("channel"),
				WithPackages: c.Bool("with-packages"), Concurrency: c.Int("concurrency"), ToolVersion: toolVersion(),
				Logger: logger(), Progress: progress(c, "reading"),
			})
			if err != nil {
				return fmt.Errorf("release export failed, nothing written: %w", err)
			}
			out := c.String("out")
			if err := b.Write(out); err != nil {
				return fmt.Errorf("writing %s: %w", out, err)
			}
			rb, err := release.Open(b)
			if err != nil {
				return err
			}
			logger().Info("exported", "project", rb.Doc.Project, "release", rb.Doc.Version, "to", out, "packages", len(rb.Doc.Packages))
			if asJSON {
				return writeJSON(c.App.Writer, releaseExportJSON{
					Path: out, Digest: b.Digest(), Project: rb.Doc.Project, Version: rb.Doc.Version, Channel: rb.Doc.Channel,
					Source: release.SourceName(b.Manifest.Source), Configuration: rb.Doc.Configuration.Digest,
					Packages: release.PackagesJSON(rb.Doc.Packages),
				})
			}
			fmt.Fprintln(c.App.Writer, b.Digest())
			return nil
		},
	}
}

// releaseExportJSON is release export --output json
// (docs/json-schemas/release-export.schema.json).
type releaseExportJSON struct {
	// Path is where the bundle was written.
	Path string `json:"path"`
	// Digest is the release bundle's digest.
	Digest string `json:"digest"`
	// Project, Version and Channel name the release.
	Project string `json:"project"`
	Version string `json:"version"`
	Channel string `json:"channel"`
	// Source names the source instance.
	Source string `json:"source"`
	// Configuration is the digest of the process and variables the
	// destination must hold.
	Configuration string `json:"configuration"`
	// Packages are the release's package versions.
	Packages []release.PackageJSON `json:"packages"`
}

// releaseTargetFlags are release plan's and apply's flags.
func releaseTargetFlags() []cli.Flag {
	return append(append(connectionFlags(), stateFlags()...),
		outputFlag(),
		&cli.BoolFlag{Name: "require-signature", Usage: "refuse, before reading the destination, a release bundle or --rules file not signed by one of the --pubkey keys"},
		pubkeyFlag(),
		rulesFlag(),
		&cli.StringFlag{Name: "deploy-to", Usage: "also deploy the release to environment `NAME` (the destination's lifecycle decides whether it may)"},
		&cli.StringSliceFlag{Name: "tenant", Usage: "with --deploy-to: deploy for tenant `NAME` (repeatable)"},
	)
}

func releasePlanCommand() *cli.Command {
	return &cli.Command{
		Name:      "plan",
		Usage:     "show what release apply would do on the destination (exit 1 when it would refuse)",
		ArgsUsage: "RELEASE-BUNDLE",
		Flags:     releaseTargetFlags(),
		Action: func(c *cli.Context) error {
			asJSON, err := jsonOutput(c)
			if err != nil {
				return err
			}
			rb, fitted, cl, err := releaseAndDestination(c)
			if err != nil {
				return err
			}
			p, err := release.MakePlan(c.Context, cl, rb, fitted, releasePlanOptions(c))
			if err != nil {
				return err
			}
			if asJSON {
				err = writeJSON(c.App.Writer, p)
			} else {
				err = writeReleasePlan(c.App.Writer, p)
			}
			if err != nil {
				return err
			}
			if p.HasErrors() {
				return cli.Exit(fmt.Sprintf("the plan has %d error(s) (see above): release apply refuses it", len(p.Errors)), exitFailed)
			}
			return nil
		},
	}
}

func releaseApplyCommand() *cli.Command {
	return &cli.Command{
		Name:      "apply",
		Usage:     "create the release on the destination (exit 0 done, 2 a followed deployment failed or was cancelled, 1 refused or failed)",
		ArgsUsage: "RELEASE-BUNDLE",
		Flags: append(releaseTargetFlags(),
			&cli.BoolFlag{Name: "wait", Usage: "with --deploy-to: follow the deployment until it ends (a progress bar on stderr)"},
			&cli.BoolFlag{Name: "force-unlock", Usage: "take the destination's state lock even if another apply seems to hold it"},
		),
		Action: func(c *cli.Context) error {
			asJSON, err := jsonOutput(c)
			if err != nil {
				return err
			}
			if c.Bool("wait") && c.String("deploy-to") == "" {
				return usageError("--wait follows a deployment: give --deploy-to ENV")
			}
			rb, fitted, cl, err := releaseAndDestination(c)
			if err != nil {
				return err
			}
			dest, err := lockedState(c, cl, logger())
			if err != nil {
				return err
			}
			defer dest.Unlock(logger())
			p, err := release.MakePlan(c.Context, cl, rb, fitted, releasePlanOptions(c))
			if err != nil {
				return err
			}
			if p.HasErrors() {
				if asJSON {
					err = writeJSON(c.App.Writer, releaseApplyJSON{Plan: p, Result: nil})
				} else {
					err = writeReleasePlan(c.App.Writer, p)
				}
				if err != nil {
					return err
				}
				return cli.Exit(fmt.Sprintf("refused: the plan has %d error(s) (see above); nothing was written", len(p.Errors)), exitFailed)
			}
			res, err := release.Apply(c.Context, cl, p, rb, release.ApplyOptions{DeployTo: c.String("deploy-to"), Tenants: c.StringSlice("tenant"), Logger: logger()})
			if err != nil {
				var re *release.RefusedError
				if errors.As(err, &re) {
					return cli.Exit("refused: "+err.Error(), exitFailed)
				}
				return err
			}
			failed := 0
			if c.Bool("wait") {
				for i := range res.Deployments {
					d := &res.Deployments[i]
					t, err := release.Wait(c.Context, cl, d.Task, taskBar(c, d))
					if err != nil {
						return err
					}
					d.State, d.Error = t.State, t.Error
					logger().Info("deployment ended", "environment", d.Environment, "tenant", d.Tenant, "task", d.Task, "state", t.State)
					if t.State != "Success" {
						failed++
					}
				}
			}
			if asJSON {
				err = writeJSON(c.App.Writer, releaseApplyJSON{Plan: p, Result: res})
			} else {
				err = writeReleaseResult(c.App.Writer, p, res)
			}
			if err != nil {
				return err
			}
			if failed > 0 {
				return cli.Exit(fmt.Sprintf("%d deployment(s) did not succeed (see above)", failed), exitPartial)
			}
			return nil
		},
	}
}

// releaseApplyJSON is release apply --output json
// (docs/json-schemas/release-apply.schema.json).
type releaseApplyJSON struct {
	// Plan is what was planned.
	Plan *release.Plan `json:"plan"`
	// Result is what was done; null when the plan was refused.
	Result *release.Result `json:"result"`
}

func releasePlanOptions(c *cli.Context) release.PlanOptions {
	return release.PlanOptions{DeployTo: c.String("deploy-to"), Tenants: c.StringSlice("tenant"),
		Concurrency: c.Int("concurrency"), Logger: logger(), Progress: progress(c, "reading destination")}
}

// releaseAndDestination reads the RELEASE-BUNDLE argument, checks its
// signature (--pubkey, --require-signature) and release document, fits
// its configuration with --rules, and only then connects to the
// destination.
func releaseAndDestination(c *cli.Context) (*release.Bundle, *bundles.Bundle, *octopus.Client, error) {
	if c.NArg() != 1 {
		return nil, nil, nil, usageError("release %s takes one RELEASE-BUNDLE argument (a directory or .tar.zst)", c.Command.Name)
	}
	path := c.Args().First()
	b, err := bundles.Read(path, bundles.ReadOptions{})
	if err != nil {
		return nil, nil, nil, err
	}
	res, err := checkSignature(c, b, path, c.Bool("require-signature"))
	if err != nil {
		var ec cli.ExitCoder
		if errors.As(err, &ec) {
			return nil, nil, nil, err
		}
		return nil, nil, nil, cli.Exit(err.Error()+"\nrefused before reading the destination", exitFailed)
	}
	if res.Verified {
		logger().Info("signature ok", "key", res.KeyID, "pubkey", res.By.File)
	}
	rb, err := release.Open(b)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	fitted, err := withRules(c, rb.Config, res.Verified)
	if err != nil {
		return nil, nil, nil, err
	}
	cl, err := connect(c)
	if err != nil {
		return nil, nil, nil, err
	}
	return rb, fitted, cl, nil
}

// releaseMarks are the text output's marks per action.
var releaseMarks = map[string]string{
	release.OpUpload: "+", release.OpBuildInfo: "+", release.OpCreate: "+", release.OpDeploy: "+",
	release.OpUnchanged: "=", release.OpDeployed: "=", release.OpPackageOK: "=", release.OpConfigured: "=",
}

// writeReleasePlan renders a release plan for people.
func writeReleasePlan(w io.Writer, p *release.Plan) error {
	fmt.Fprintf(w, "Release %s of project %q (channel %q) from %s, bundle %s\n", p.Version, p.Project, p.Channel, p.Source, p.Bundle)
	for _, a := range p.Actions {
		fmt.Fprintf(w, "%s %-17s %s: %s\n", releaseMarks[a.Op], a.Op, a.Subject, a.Detail)
	}
	for _, e := range p.Errors {
		fmt.Fprintf(w, "! error: %s\n", e)
	}
	switch {
	case p.HasErrors():
		_, err := fmt.Fprintf(w, "%d error(s): refused; nothing is written.\n", len(p.Errors))
		return err
	case !p.Writes():
		_, err := fmt.Fprintln(w, "No changes: the destination holds this release as the bundle asks.")
		return err
	}
	return nil
}

// writeReleaseResult renders what release apply did.
func writeReleaseResult(w io.Writer, p *release.Plan, r *release.Result) error {
	fmt.Fprintf(w, "Release %s of project %q (channel %q) from %s, bundle %s\n", p.Version, p.Project, p.Channel, p.Source, p.Bundle)
	for _, u := range r.Uploaded {
		fmt.Fprintf(w, "+ uploaded          %s\n", u)
	}
	for _, b := range r.BuildInformation {
		fmt.Fprintf(w, "+ build-information %s\n", b)
	}
	if r.Created {
		fmt.Fprintf(w, "+ created           release %s (%s)\n", p.Version, r.Release)
	} else {
		fmt.Fprintf(w, "= unchanged         release %s (%s)\n", p.Version, r.Release)
	}
	for _, d := range r.Deployments {
		where := d.Environment
		if d.Tenant != "" {
			where += " for " + d.Tenant
		}
		verb := "= followed          "
		if d.Started {
			verb = "+ deployed          "
		}
		line := fmt.Sprintf("%s%s: deployment %s, task %s", verb, where, d.ID, d.Task)
		if d.State != "" {
			line += ": " + d.State
		}
		if d.Error != "" {
			line += " (" + d.Error + ")"
		}
		fmt.Fprintln(w, line)
	}
	if !p.Writes() {
		_, err := fmt.Fprintln(w, "No changes.")
		return err
	}
	return nil
}

// taskBar returns Wait's progress callback for deployment d: a bar on
// stderr when it is a terminal, else a log line per state change.
func taskBar(c *cli.Context, d *release.Deployment) func(release.Task) {
	var bar *progressbar.ProgressBar
	if f, ok := c.App.ErrWriter.(*os.File); ok && isTerminal(f) {
		bar = progressbar.NewOptions(100, progressbar.OptionSetWriter(f),
			progressbar.OptionSetDescription("deploying to "+d.Environment), progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(), progressbar.OptionEnableColorCodes(false), progressbar.OptionSetWidth(30),
			progressbar.OptionSpinnerType(14))
	}
	last := ""
	return func(t release.Task) {
		if bar != nil {
			bar.Describe(fmt.Sprintf("deploying to %s: %s", d.Environment, strings.ToLower(t.State)))
			_ = bar.Set(t.Percent)
			if t.Completed {
				_ = bar.Finish()
			}
		}
		if t.State != last {
			last = t.State
			logger().Info("deployment", "environment", d.Environment, "task", t.ID, "state", t.State)
		}
	}
}
