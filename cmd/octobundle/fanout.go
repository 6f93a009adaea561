package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/apply/render"
	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/fanout"
	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/syncrun"
	"github.com/octobundle/octobundle/transform"
	"github.com/urfave/cli/v2"
)

// fanOutFlags are plan's and apply's flags for one bundle to several
// destinations.
func fanOutFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "destinations", Usage: "plan or apply to every destination listed in `FILE` (YAML: name, url, space, apiKeyFile or apiKeyEnv, rules, caCert; see docs/fan-out.md), concurrently; needs --out DIR"},
		&cli.IntFlag{Name: "parallel-destinations", Value: 4, Usage: "with --destinations: how many destinations are worked on at once"},
	}
}

// connectionEnv are the connection flags a destinations file replaces, with
// their environment variables (set in the environment they are no error).
var connectionEnv = map[string]string{
	"server": "OCTOPUS_URL", "api-key": "OCTOPUS_API_KEY", "api-key-file": "", "space": "OCTOPUS_SPACE",
	"ca-cert": "OCTOBUNDLE_CA_CERT", "insecure-skip-tls-verify": "", "plan": "",
}

// destResult is what happened at one destination.
type destResult struct {
	Name   string `json:"name"`
	Server string `json:"server"`
	Space  string `json:"space"`
	// Status: apply: succeeded, partially failed, failed or not started;
	// plan: planned, has errors or not started.
	Status string `json:"status"`
	// Counts are the plan's actions or the receipt's outcomes, zeros kept.
	Counts map[string]int `json:"counts"`
	// Cleanup counts the placeholders written (apply) or to write (plan).
	Cleanup int `json:"cleanup"`
	// Dir holds the destination's files (plan, receipt, clean-up report).
	Dir string `json:"dir"`
	// Error is why it failed or did not start.
	Error   string `json:"error,omitempty"`
	started bool
	changes bool
}

const (
	statusNotStarted = "not started"
	statusPlanned    = "planned"
	statusHasErrors  = "has errors"
)

// fanOut plans (or applies, when applying) the one BUNDLE to every
// destination of --destinations, at most --parallel-destinations at a
// time, each with its own rules, state folder (--state DIR/NAME), plan,
// receipt and clean-up report in --out DIR/NAME, and prints a summary
// table. Exit 0: all succeeded (planned without errors); 2: some failed,
// partially failed or could not start (plan --detailed-exitcode: or some
// differ, as the single-destination plan counts it: changes, or entities
// deleted at the source and kept); 1: none could start.
func fanOut(c *cli.Context, applying bool) error {
	if c.NArg() != 1 {
		return usageError("%s --destinations takes one BUNDLE argument (a directory or .tar.zst)", c.Command.Name)
	}
	for name, env := range connectionEnv {
		given := c.IsSet(name) && c.String(name) != "" && (env == "" || os.Getenv(env) != c.String(name))
		if name == "insecure-skip-tls-verify" {
			given = c.Bool(name)
		}
		if !given {
			continue
		}
		if c.Command.Name == "plan" && name == "plan" {
			continue
		}
		return usageError("--%s cannot be combined with --destinations: each destination's connection comes from the destinations file", name)
	}
	out := c.String("out")
	if out == "" {
		return usageError("--destinations needs --out DIR: each destination's plan, receipt and clean-up report go to DIR/NAME/")
	}
	n := c.Int("parallel-destinations")
	if n < 1 {
		return usageError("--parallel-destinations must be at least 1")
	}
	if len(c.StringSlice("rules")) > 0 {
		return usageError("--rules cannot be combined with --destinations: give each destination its rules: in the destinations file")
	}
	file, err := fanout.Read(c.String("destinations"))
	if err != nil {
		return err
	}
	b, err := checkedBundle(c, c.Args().First())
	if err != nil {
		return err
	}
	// Every destination's rule files are read and their signatures
	// checked before any destination is read: under --require-signature
	// one unsigned rule file refuses the whole run.
	rules := make([][]*transform.RuleFile, len(file.Destinations))
	for i, d := range file.Destinations {
		if rules[i], err = loadRules(c, d.Rules); err != nil {
			return cli.Exit(fmt.Sprintf("destination %s: %v", d.Name, err), exitFailed)
		}
	}
	bundlePath, _ := filepath.Abs(c.Args().First())

	results := make([]*destResult, len(file.Destinations))
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for i, d := range file.Destinations {
		results[i] = &destResult{Name: d.Name, Server: d.URL, Space: d.Space, Status: statusNotStarted, Dir: filepath.Join(out, d.Name)}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			r := results[i]
			log := logger().With("destination", d.Name)
			if err := toDestination(c, applying, d, rules[i], b, bundlePath, r, log); err != nil {
				r.Error = oneLine(err.Error())
				log.Error(c.Command.Name+" failed", "error", err)
			}
		}()
	}
	wg.Wait()

	if c.String("output") == "json" {
		err = writeFanOutJSON(c.App.Writer, applying, results)
	} else {
		err = writeFanOutText(c.App.Writer, applying, results)
	}
	if err != nil {
		return err
	}
	return fanOutExit(c, applying, results)
}

// toDestination does the work for one destination, filling r; files are
// its rule files, read and checked (see loadRules).
func toDestination(c *cli.Context, applying bool, d fanout.Destination, files []*transform.RuleFile, b *bundles.Bundle, bundlePath string, r *destResult, log *slog.Logger) error {
	if err := os.MkdirAll(r.Dir, 0o755); err != nil {
		return err
	}
	if len(files) > 0 {
		fitted, rep, err := fitRules(b, files, len(c.StringSlice("pubkey")) > 0)
		if rep != nil {
			if werr := writeFileAtomic(filepath.Join(r.Dir, "transform.txt"), rep.WriteText); werr != nil {
				return werr
			}
		}
		if err != nil {
			return fmt.Errorf("rules %s: %w (report in %s)", strings.Join(d.Rules, ", "), err, filepath.Join(r.Dir, "transform.txt"))
		}
		// The fitted bundle is kept beside the plan: the plan names it,
		// so apply --plan DIR/NAME/plan.json finds it.
		b = fitted
		bundlePath, _ = filepath.Abs(filepath.Join(r.Dir, "bundle.tar.zst"))
		if err := b.Write(bundlePath); err != nil {
			return err
		}
	}
	key, source, err := d.APIKey()
	if err != nil {
		return err
	}
	cl, err := octopus.Connect(c.Context, octopus.Config{
		URL: d.URL, APIKey: key, Space: d.Space, Logger: log, Tool: "octobundle/" + toolVersion(),
		CACertFile: d.CACert, KeySource: source, MaxInFlight: c.Int("concurrency"),
		RequestTimeout: requestTimeout(c),
	})
	if err != nil {
		return fmt.Errorf("connecting to Octopus: %w", err)
	}
	r.Server, r.Space = cl.Server(), cl.SpaceName
	dest, err := syncrun.Open(filepath.Join(c.String("state"), d.Name), cl)
	if err != nil {
		return err
	}
	opts := applyOptions(c, "")
	opts.Progress, opts.Logger = nil, log // one bar per destination would interleave
	if !applying {
		p, err := planWithBase(c, dest, b, bundlePath, opts)
		if err != nil {
			return err
		}
		r.started = true
		r.Counts, r.Cleanup, r.changes = counts(p.Summary), len(p.Cleanup), p.Differs()
		r.Status = statusPlanned
		if p.HasErrors() {
			r.Status = statusHasErrors
		}
		if err := writeFileAtomic(filepath.Join(r.Dir, "plan.json"), p.WriteJSON); err != nil {
			return err
		}
		return writeFileAtomic(filepath.Join(r.Dir, "plan.txt"), func(w io.Writer) error { return render.Plan(w, p) })
	}
	name := "receipt.txt"
	if c.String("output") == "json" {
		name = "receipt.json"
	}
	ao := syncrun.ApplyOptions{PlanOptions: opts, AllowErrors: c.Bool("allow-errors")}
	ao.Report = func(rec *plans.Receipt) error {
		r.started = true
		r.Counts, r.Cleanup = counts(rec.Summary), len(rec.Cleanup)
		r.Status = strings.ToLower(statusWord(rec.Status()))
		if rec.Status() == plans.Succeeded {
			r.Status = "succeeded"
		}
		write := func(w io.Writer) error { return render.Receipt(w, rec) }
		if c.String("output") == "json" {
			write = rec.WriteJSON
		}
		if err := writeFileAtomic(filepath.Join(r.Dir, name), write); err != nil {
			return err
		}
		return writeFileAtomic(filepath.Join(r.Dir, "cleanup-report.json"), rec.WriteCleanupJSON)
	}
	rec, err := applyRecorded(c, dest, b, ao)
	if err != nil {
		return err
	}
	if rec.Status() != plans.Succeeded {
		return fmt.Errorf("apply %s: see %s", statusWord(rec.Status()), filepath.Join(r.Dir, name))
	}
	return nil
}

// counts are a plan's action counts or a receipt's outcome counts by name.
func counts[K ~string](m map[K]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[string(k)] = v
	}
	return out
}

// The summary's count columns: plan actions, receipt outcomes.
var (
	planColumns  = []string{string(plans.OpCreate), string(plans.OpUpdate), string(plans.OpDelete), string(plans.OpNoOp), string(plans.OpLeftAlone), string(plans.OpError)}
	applyColumns = []string{string(plans.OutcomeCreated), string(plans.OutcomeUpdated), string(plans.OutcomeDeleted), string(plans.OutcomeUnchanged), string(plans.OutcomeLeftAlone), string(plans.OutcomeFailed), string(plans.OutcomeSkipped)}
)

func writeFanOutText(w io.Writer, applying bool, results []*destResult) error {
	cols := planColumns
	if applying {
		cols = applyColumns
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := []string{"DESTINATION", "STATUS"}
	for _, c := range cols {
		if c == string(plans.OpNoOp) {
			c = "unchanged" // the word the text plan uses
		}
		head = append(head, strings.ToUpper(c))
	}
	head = append(head, "CLEANUP", "DETAIL")
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, r := range results {
		row := []string{r.Name, r.Status}
		for _, c := range cols {
			if r.started {
				row = append(row, fmt.Sprint(r.Counts[c]))
			} else {
				row = append(row, "-")
			}
		}
		detail := r.Dir
		if r.Error != "" {
			detail = r.Error
		}
		row = append(row, fmt.Sprint(r.Cleanup), detail)
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

func writeFanOutJSON(w io.Writer, applying bool, results []*destResult) error {
	cols := planColumns
	if applying {
		cols = applyColumns
	}
	for _, r := range results {
		if r.Counts == nil {
			r.Counts = map[string]int{}
		}
		for _, c := range cols {
			r.Counts[c] += 0 // zero counts are kept
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(map[string]any{"destinations": results})
}

// fanOutExit is the exit code table of --destinations.
func fanOutExit(c *cli.Context, applying bool, results []*destResult) error {
	started, bad, changes := 0, 0, 0
	for _, r := range results {
		if r.started {
			started++
		}
		if !r.started || (applying && r.Status != "succeeded") || (!applying && r.Status == statusHasErrors) {
			bad++
		}
		if r.changes {
			changes++
		}
	}
	switch {
	case started == 0:
		return cli.Exit(fmt.Sprintf("%s: none of the %d destinations could start (see above)", c.Command.Name, len(results)), exitFailed)
	case bad > 0:
		return cli.Exit(fmt.Sprintf("%s: %d of %d destinations did not succeed (see above)", c.Command.Name, bad, len(results)), exitPartial)
	case !applying && c.Bool("detailed-exitcode") && changes > 0:
		return cli.Exit("", exitChanges)
	}
	return nil
}

// oneLine keeps the first line of a message, for the summary table.
func oneLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}
