package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"aead.dev/minisign"
	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/internal/simproc"
	"github.com/octobundle/octobundle/internal/state"
	"github.com/octobundle/octobundle/policy"
	"github.com/octobundle/octobundle/schema"
	"github.com/octobundle/octobundle/sign"
	"github.com/octobundle/octobundle/tools/octosim"
	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	// The host-local lock registry lives in the user's cache folder: the
	// tests and the commands they run use a folder of their own, removed
	// when the tests are done.
	var cache string
	if os.Getenv("OCTOBUNDLE_TEST_CACHE") == "" {
		// Go's build cache stays where it was, for building octosim.
		if out, err := exec.Command("go", "env", "GOCACHE").Output(); err == nil && os.Getenv("GOCACHE") == "" {
			os.Setenv("GOCACHE", strings.TrimSpace(string(out)))
		}
		if dir, err := os.MkdirTemp("", "octobundle-cmd-test-cache-"); err == nil {
			cache = dir
			os.Setenv("XDG_CACHE_HOME", cache)
			os.Setenv("OCTOBUNDLE_TEST_CACHE", cache)
		}
	}
	testscript.Main(cleanupAfter{m, cache}, map[string]func(){
		"octobundle": func() { os.Exit(run(os.Args, os.Stdout, os.Stderr)) },
	})
}

// cleanupAfter runs the tests, then removes the cache folder TestMain made
// and sharedTempDir's folder (testscript.Main exits itself).
type cleanupAfter struct {
	m     *testing.M
	cache string
}

func (c cleanupAfter) Run() int {
	code := c.m.Run()
	for _, dir := range []string{c.cache, shared.dir} {
		if dir != "" {
			os.RemoveAll(dir)
		}
	}
	return code
}

// shared is the folder of what the tests of this process share (the
// binaries they build once).
var shared struct {
	once sync.Once
	dir  string
}

// sharedTempDir returns a temporary folder the tests of this process
// share, made on first use and removed when they are done.
func sharedTempDir() string {
	shared.once.Do(func() {
		dir, err := os.MkdirTemp("", "octobundle-cmd-test-")
		if err != nil {
			panic(err)
		}
		shared.dir = dir
	})
	return shared.dir
}

// raceCLIEnv, set to 1, makes the scripts run this test binary as
// octobundle even when it was built with -race (make test-race).
const raceCLIEnv = "OCTOBUNDLE_TEST_RACE_CLI"

// scriptBin is the folder that holds the octobundle the scripts run when
// it is not this test binary (see scriptBinary).
var scriptBin struct {
	once sync.Once
	dir  string
}

// scriptBinary returns a folder holding the octobundle the scripts run, to
// put first in their PATH, or "" for this test binary (testscript.Main's
// copy of it, already in PATH).
//
// Under go test -race, it is this package's test binary built again
// without the race detector (go test -c: mostly a link, its packages are
// in the build cache), unless OCTOBUNDLE_TEST_RACE_CLI=1. The scripts
// (with TestDocsExamples' and TestJSONOutput's) run octobundle about 550
// times: race-built, TestScripts took 306 CPU-seconds instead of 103, and
// every run slept 1 s at exit (the race runtime's atexit_sleep_ms), which
// made this package take 544-625 s of make test's 705 s (2026-12-07).
// Nothing that runs concurrently is left unchecked: the command's
// concurrent code (apply, export, fanout, octopus, state...) is tested
// with -race in its own package, this process (the simulators, the script
// commands) still runs under -race, and make test-race (CI) runs the
// scripts with the race-built binary too. Without the go tool, or when the
// build fails, the scripts run this binary (logged).
func scriptBinary(t *testing.T) string {
	if !raceDetector || os.Getenv(raceCLIEnv) == "1" {
		return ""
	}
	scriptBin.once.Do(func() {
		if _, err := exec.LookPath("go"); err != nil {
			t.Logf("scripts run the race-built test binary: %v", err)
			return
		}
		dir := filepath.Join(sharedTempDir(), "scripts")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Logf("scripts run the race-built test binary: %v", err)
			return
		}
		build := goCommand("test", "-c", "-o", filepath.Join(dir, "octobundle"), ".")
		if out, err := build.CombinedOutput(); err != nil {
			t.Logf("scripts run the race-built test binary: building it without -race failed: %v\n%s", err, out)
			return
		}
		scriptBin.dir = dir
	})
	return scriptBin.dir
}

// TestScripts runs the CLI end to end: each testdata/script/*.txtar starts
// simulators with the sim command and drives the octobundle binary.
//
// Script commands added here:
//
//	sim NAME SEED [offset] [version=X.Y.Z] [latency=DURATION] [tls]
//	                         start a simulator seeded from SEED (relative to
//	                         the repository root, or "empty"), optionally
//	                         reporting another Octopus version, optionally
//	                         adding latency to every request, optionally
//	                         over TLS with a certificate from a new test CA
//	                         (written to NAME-ca.pem); sets NAME_URL,
//	                         NAME_HOSTPORT (127.0.0.1:PORT) and
//	                         OCTOPUS_API_KEY
//	fault NAME METHOD PREFIX STATUS|drop [times=N] [MESSAGE]
//	                         fail the next request (or N, -1 for all)
//	                         matching METHOD and the path PREFIX with STATUS
//	                         (and MESSAGE), or drop its connection after the
//	                         server handled it
//	setpolicy IN OUT FILE    write a copy of bundle IN with the apply policy
//	                         in FILE (JSON, as transform rules set it) to OUT
//	v2sign BUNDLE KEY PWFILE  rewrite BUNDLE in format octobundle/v2 and
//	                         sign it with KEY as octobundle before format
//	                         v3 did (the signature covers checksums.txt,
//	                         not manifest.json)
//	writes NAME N            the simulator saw exactly N POST/PUT/DELETE
//	                         requests since the last reset; resets
//	resetcounts NAME         reset the simulator's request counters
//	waitcount NAME writes|requests N
//	                         wait (up to a minute) until the simulator has
//	                         seen at least N writes (POST/PUT/DELETE) or
//	                         requests since the last reset: a command
//	                         started in the background is under way
//	requests NAME N          the simulator saw exactly N requests since the
//	                         last reset (any method); resets
//	drip NAME [INTERVAL] [SIM PREFIX]
//	                         start a server on loopback that answers every
//	                         request (with SIM and PREFIX: every request
//	                         whose path starts with PREFIX; the others go
//	                         to simulator SIM) 200 and then drips its body
//	                         one byte per INTERVAL (default 100ms), forever;
//	                         sets NAME_URL
//	bigfile NAME SIZE        create a sparse file of SIZE bytes (suffix K, M
//	                         or G: binary units)
//	simapi NAME METHOD PATH [BODY]
//	                         send a request to simulator NAME's API (with its
//	                         key) and print the answer's body on stdout;
//	                         fails on an error status (negated: expects one)
//	nosecrets [VALUE...]     neither the last command's stdout and stderr nor
//	                         any file below $WORK (archives decompressed)
//	                         holds the simulators' API key, a sensitive value
//	                         of the sample instances, or VALUE
func TestScripts(t *testing.T) {
	t.Parallel()
	testscript.Run(t, scriptParams(t, "testdata/script"))
}

// scriptParams are the testscript parameters of TestScripts (and of
// TestDocsExamples): the repository root in $REPO and the commands above.
func scriptParams(t *testing.T, dir string) testscript.Params {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	bin := scriptBinary(t)
	var mu sync.Mutex // scripts run in parallel
	sims := map[*testscript.TestScript]map[string]*octosim.Server{}
	simFor := func(ts *testscript.TestScript, name string) *octosim.Server {
		mu.Lock()
		defer mu.Unlock()
		return sims[ts][name]
	}
	return testscript.Params{
		Dir: dir,
		Setup: func(env *testscript.Env) error {
			if bin != "" {
				env.Setenv("PATH", bin+string(filepath.ListSeparator)+env.Getenv("PATH"))
			}
			env.Setenv("REPO", root)
			env.Setenv("OCTOBUNDLE_LOG_LEVEL", "warn")
			// The demo's simulator program: the scripts run outside the
			// source tree, where the demo would not find it.
			octosim, err := scriptOctosim()
			if err != nil {
				return fmt.Errorf("the scripts' octosim: %w", err)
			}
			env.Setenv(simproc.EnvVar, octosim)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"sim": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) < 2 {
					ts.Fatalf("usage: sim NAME SEED [offset] [version=X.Y.Z] [latency=D] [task=D] [tls]")
				}
				version, useTLS := "", false
				var latency, task time.Duration
				for n := len(args); n > 2; n = len(args) {
					if strings.HasPrefix(args[n-1], "version=") {
						version = strings.TrimPrefix(args[n-1], "version=")
					} else if d, ok := strings.CutPrefix(args[n-1], "latency="); ok {
						lat, perr := time.ParseDuration(d)
						ts.Check(perr)
						latency = lat
					} else if d, ok := strings.CutPrefix(args[n-1], "task="); ok {
						// how long a server task (a deployment) stays Executing
						td, perr := time.ParseDuration(d)
						ts.Check(perr)
						task = td
					} else if args[n-1] == "tls" {
						useTLS = true
					} else {
						break
					}
					args = args[:n-1]
				}
				var seed *octosim.Instance
				if args[1] != "empty" {
					s, err := octosim.LoadSeed(filepath.Join(root, args[1]))
					ts.Check(err)
					seed = s
				}
				offset := 0
				if len(args) > 2 {
					n, aerr := strconv.Atoi(args[2])
					ts.Check(aerr)
					offset = n
				}
				sim, err := octosim.New(octosim.Options{Seed: seed, IDOffset: offset, ServerVersion: version, Faults: octosim.Faults{Latency: latency}, TaskDuration: task})
				ts.Check(err)
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				ts.Check(err)
				srv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second,
					ErrorLog: log.New(io.Discard, "", 0)} // refused TLS handshakes
				scheme := "http"
				if useTLS {
					cert, err := octosim.NewTLSCertificate("127.0.0.1")
					ts.Check(err)
					ts.Check(os.WriteFile(ts.MkAbs(args[0]+"-ca.pem"), cert.CAPEM, 0o644))
					ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert.Server}})
					scheme = "https"
				}
				go func() {
					if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
						ts.Logf("simulator: %v", err)
					}
				}()
				ts.Defer(func() { _ = srv.Shutdown(context.Background()) })
				mu.Lock()
				if sims[ts] == nil {
					sims[ts] = map[string]*octosim.Server{}
				}
				sims[ts][args[0]] = sim
				mu.Unlock()
				ts.Setenv(args[0]+"_URL", scheme+"://"+ln.Addr().String())
				ts.Setenv(args[0]+"_HOSTPORT", ln.Addr().String())
				ts.Setenv("OCTOPUS_API_KEY", sim.APIKey())
			},
			"simapi": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) < 3 || len(args) > 4 {
					ts.Fatalf("usage: simapi NAME METHOD PATH [BODY]")
				}
				sim := simFor(ts, args[0])
				if sim == nil {
					ts.Fatalf("no simulator %s", args[0])
				}
				var body io.Reader
				if len(args) == 4 {
					body = strings.NewReader(args[3])
				}
				req, err := http.NewRequest(args[1], ts.Getenv(args[0]+"_URL")+args[2], body)
				ts.Check(err)
				req.Header.Set("X-Octopus-ApiKey", sim.APIKey())
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				ts.Check(err)
				data, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				ts.Check(err)
				fmt.Fprintf(ts.Stdout(), "%s\n", data)
				if failed := resp.StatusCode >= 400; failed != neg {
					ts.Fatalf("%s %s: status %d: %s", args[1], args[2], resp.StatusCode, data)
				}
			},
			"writes": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 {
					ts.Fatalf("usage: writes NAME N")
				}
				sim := simFor(ts, args[0])
				if sim == nil {
					ts.Fatalf("no simulator %s", args[0])
				}
				want, err := strconv.Atoi(args[1])
				ts.Check(err)
				got := sim.Writes()
				sim.ResetCounters()
				if (got == want) == neg {
					ts.Fatalf("simulator %s saw %d writes, want %s%d", args[0], got, map[bool]string{true: "not ", false: ""}[neg], want)
				}
			},
			"fault": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) < 4 {
					ts.Fatalf("usage: fault NAME METHOD PATHPREFIX STATUS|drop [times=N] [MESSAGE...]")
				}
				sim := simFor(ts, args[0])
				if sim == nil {
					ts.Fatalf("no simulator %s", args[0])
				}
				times := 0
				if len(args) > 4 && strings.HasPrefix(args[4], "times=") {
					n, aerr := strconv.Atoi(strings.TrimPrefix(args[4], "times="))
					ts.Check(aerr)
					times = n
					args = append(args[:4:4], args[5:]...)
				}
				rule := octosim.FaultRule{Method: args[1], PathPrefix: args[2], Times: times, Message: strings.Join(args[4:], " ")}
				if args[3] == "drop" {
					rule.Drop, rule.AfterHandling = true, true
				} else {
					rule.Status, err = strconv.Atoi(args[3])
					ts.Check(err)
				}
				sim.AddFaultRule(rule)
			},
			"v2sign": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 3 {
					ts.Fatalf("usage: v2sign BUNDLE KEY PWFILE")
				}
				b, err := bundles.Read(ts.MkAbs(args[0]), bundles.ReadOptions{})
				ts.Check(err)
				b.Manifest.Format = bundles.FormatV2
				ts.Check(b.Seal())
				pw, err := os.ReadFile(ts.MkAbs(args[2]))
				ts.Check(err)
				key, err := sign.LoadSecretKey(ts.MkAbs(args[1]), strings.TrimSpace(string(pw)))
				ts.Check(err)
				sums, _ := b.Raw(bundles.ChecksumsFile)
				r := minisign.NewReader(bytes.NewReader(sums))
				_, err = io.Copy(io.Discard, r)
				ts.Check(err)
				m := b.Manifest
				tc := fmt.Sprintf("octobundle digest=%s exported=%s space=%s source=%s",
					m.Digest, m.ExportedAt.UTC().Format(time.RFC3339), strconv.Quote(m.Source.Space), strconv.Quote(m.Source.Server))
				ts.Check(b.SetSignature(append(bytes.TrimRight(r.SignWithComments(key, tc, "legacy"), "\n"), '\n')))
				ts.Check(b.Write(ts.MkAbs(args[0])))
			},
			"setpolicy": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 3 {
					ts.Fatalf("usage: setpolicy IN OUT POLICYFILE (a copy of bundle IN with the apply policy in POLICYFILE, as transform rules would set it)")
				}
				b, err := bundles.Read(ts.MkAbs(args[0]), bundles.ReadOptions{})
				ts.Check(err)
				data, err := os.ReadFile(ts.MkAbs(args[2]))
				ts.Check(err)
				var pol policy.File
				ts.Check(json.Unmarshal(data, &pol))
				ts.Check(b.SetApplyPolicy(&pol))
				ts.Check(b.Seal())
				ts.Check(b.Write(ts.MkAbs(args[1])))
			},
			"bigfile": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 {
					ts.Fatalf("usage: bigfile NAME SIZE")
				}
				num, mult := args[1], int64(1)
				for suffix, m := range map[string]int64{"K": 1 << 10, "M": 1 << 20, "G": 1 << 30} {
					if n, ok := strings.CutSuffix(num, suffix); ok {
						num, mult = n, m
					}
				}
				n, err := strconv.ParseInt(num, 10, 64)
				ts.Check(err)
				f, err := os.Create(ts.MkAbs(args[0]))
				ts.Check(err)
				ts.Check(f.Truncate(n * mult))
				ts.Check(f.Close())
			},
			"nosecrets": func(ts *testscript.TestScript, neg bool, args []string) {
				secrets := append(sampleSecrets(ts, root), args...)
				leaks := findSecrets(ts, secrets)
				if len(leaks) > 0 && !neg {
					ts.Fatalf("secrets leaked:\n%s", strings.Join(leaks, "\n"))
				}
				if len(leaks) == 0 && neg {
					ts.Fatalf("no secret found (checked %d values)", len(secrets))
				}
				ts.Logf("checked %d secret values: %d leaks", len(secrets), len(leaks))
			},
			"setvar": func(ts *testscript.TestScript, neg bool, args []string) {
				// An administrator edits a project variable on the
				// destination through the API (GET, change, PUT); an
				// OWNER of "set:NAME" is a library variable set or script
				// module.
				if len(args) != 4 || simFor(ts, args[0]) == nil {
					ts.Fatalf("usage: setvar SIM OWNER VARIABLE VALUE (an unscoped variable of a project, or of set:NAME, of a started simulator)")
				}
				sim := simFor(ts, args[0])
				ctx := context.Background()
				c, err := octopus.Connect(ctx, octopus.Config{URL: ts.Getenv(args[0] + "_URL"), APIKey: sim.APIKey()})
				ts.Check(err)
				owner, coll := args[1], "projects"
				if name, ok := strings.CutPrefix(owner, "set:"); ok {
					owner, coll = name, "libraryvariablesets"
				}
				owners, err := c.List(ctx, c.SpacePath(coll, false), nil)
				ts.Check(err)
				for _, p := range owners {
					if p["Name"] != owner {
						continue
					}
					path := c.SpacePath("variables/"+p["VariableSetId"].(string), false)
					doc, err := c.Get(ctx, path)
					ts.Check(err)
					n := 0
					for _, v := range doc["Variables"].([]any) {
						if m := v.(map[string]any); m["Name"] == args[2] {
							m["Value"] = args[3]
							n++
						}
					}
					if n == 0 {
						ts.Fatalf("%s has no variable %s", args[1], args[2])
					}
					_, err = c.Put(ctx, path, doc)
					ts.Check(err)
					return
				}
				ts.Fatalf("no %s %s", coll, owner)
			},
			"bundlevar": func(ts *testscript.TestScript, neg bool, args []string) {
				// The source changes a project variable: a copy of bundle
				// IN with the variable's values set.
				if len(args) != 5 {
					ts.Fatalf("usage: bundlevar IN OUT PROJECT VARIABLE VALUE")
				}
				b, err := bundles.Read(ts.MkAbs(args[0]), bundles.ReadOptions{})
				ts.Check(err)
				k := schema.MustLookup(schema.ProjectVariables)
				doc, ok := b.Entity(k, args[2])
				if !ok {
					ts.Fatalf("no variables of project %s in %s", args[2], args[0])
				}
				doc = schema.DeepCopy(doc)
				for _, v := range doc.(map[string]any)["Variables"].([]any) {
					if m := v.(map[string]any); m["Name"] == args[3] {
						m["Value"] = args[4]
					}
				}
				_, err = b.PutEntity(k, []string{args[2]}, doc)
				ts.Check(err)
				ts.Check(b.Seal())
				ts.Check(b.Write(ts.MkAbs(args[1])))
			},
			"bundlerm": func(ts *testscript.TestScript, neg bool, args []string) {
				// A copy of bundle IN without the entity files whose
				// paths start with PREFIX, resealed: a bundle whose
				// references may dangle, as a hand edit or another tool
				// could leave it.
				if len(args) != 3 {
					ts.Fatalf("usage: bundlerm IN OUT PREFIX")
				}
				b, err := bundles.Read(ts.MkAbs(args[0]), bundles.ReadOptions{})
				ts.Check(err)
				n := 0
				for _, p := range b.Paths() {
					if strings.HasPrefix(p, args[2]) && b.Remove(p) {
						n++
					}
				}
				if n == 0 {
					ts.Fatalf("no file of %s starts with %s", args[0], args[2])
				}
				ts.Check(b.Seal())
				ts.Check(b.Write(ts.MkAbs(args[1])))
			},
			"writelock": func(ts *testscript.TestScript, neg bool, args []string) {
				// A lock file as an apply on this host with process PID
				// leaves it.
				if len(args) != 2 {
					ts.Fatalf("usage: writelock DIR PID")
				}
				host, _ := os.Hostname()
				pid, err := strconv.Atoi(args[1])
				ts.Check(err)
				data, _ := json.Marshal(state.LockInfo{PID: pid, Host: host, Since: "2026-01-01T00:00:00Z"})
				ts.Check(os.WriteFile(filepath.Join(ts.MkAbs(args[0]), state.LockFile), data, 0o600))
			},
			"requests": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 || simFor(ts, args[0]) == nil {
					ts.Fatalf("usage: requests NAME N (a started simulator)")
				}
				want, err := strconv.Atoi(args[1])
				ts.Check(err)
				sim := simFor(ts, args[0])
				got := sim.Requests()
				sim.ResetCounters()
				if (got == want) == neg {
					ts.Fatalf("simulator %s saw %d requests, want %s%d", args[0], got, map[bool]string{true: "not ", false: ""}[neg], want)
				}
			},
			"drip": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 1 && len(args) != 2 && len(args) != 4 {
					ts.Fatalf("usage: drip NAME [INTERVAL] [SIM PREFIX]")
				}
				interval := 100 * time.Millisecond
				if len(args) >= 2 {
					d, err := time.ParseDuration(args[1])
					ts.Check(err)
					interval = d
				}
				var pass http.Handler
				prefix := ""
				if len(args) == 4 {
					sim := simFor(ts, args[2])
					if sim == nil {
						ts.Fatalf("no simulator %s", args[2])
					}
					pass, prefix = sim.Handler(), args[3]
				}
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if pass != nil && !strings.HasPrefix(r.URL.Path, prefix) {
						pass.ServeHTTP(w, r)
						return
					}
					w.Header().Set("Content-Type", "application/json")
					w.Header().Set("Content-Length", "1000000")
					w.WriteHeader(http.StatusOK)
					for {
						if _, err := w.Write([]byte(" ")); err != nil {
							return
						}
						w.(http.Flusher).Flush()
						select {
						case <-r.Context().Done():
							return
						case <-time.After(interval):
						}
					}
				}))
				ts.Defer(srv.Close)
				ts.Setenv(args[0]+"_URL", srv.URL)
			},
			"waitcount": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 3 || simFor(ts, args[0]) == nil || (args[1] != "writes" && args[1] != "requests") {
					ts.Fatalf("usage: waitcount NAME writes|requests N (a started simulator)")
				}
				want, err := strconv.Atoi(args[2])
				ts.Check(err)
				sim := simFor(ts, args[0])
				count := sim.Writes
				if args[1] == "requests" {
					count = sim.Requests
				}
				for deadline := time.Now().Add(time.Minute); count() < want; time.Sleep(5 * time.Millisecond) {
					if time.Now().After(deadline) {
						ts.Fatalf("simulator %s saw %d %s in a minute, want at least %d", args[0], count(), args[1], want)
					}
				}
			},
			"mkrelease":    mkreleaseCmd,
			"checkrelease": checkreleaseCmd,
			"packagecount": packagecountCmd,
			"failtask":     failtaskCmd,
			// statedump ROOT prints every document of the state folders
			// under the state directory ROOT (packed and journalled, so
			// not to be grepped as files): "base PATH" or "written PATH",
			// then the document as canonical JSON.
			"statedump": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 1 {
					ts.Fatalf("usage: statedump ROOT")
				}
				root := ts.MkAbs(args[0])
				manifests, err := filepath.Glob(filepath.Join(root, "*", "*", state.ManifestFile))
				ts.Check(err)
				if len(manifests) == 0 {
					ts.Fatalf("no state folder under %s", args[0])
				}
				for _, mf := range manifests {
					data, err := os.ReadFile(mf)
					ts.Check(err)
					m, err := state.ParseManifest(data)
					ts.Check(err)
					st, err := state.Open(root, m.Destination)
					ts.Check(err)
					base, _, err := st.Base()
					ts.Check(err)
					written, err := st.Written()
					ts.Check(err)
					for _, part := range []struct {
						name string
						b    *bundles.Bundle
					}{{"base", base}, {"written", written}} {
						if part.b == nil {
							continue
						}
						for _, p := range part.b.Paths() {
							raw, _ := part.b.Raw(p)
							fmt.Fprintf(ts.Stdout(), "%s %s\n%s\n", part.name, p, raw)
						}
					}
				}
			},
			"resetcounts": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 1 || simFor(ts, args[0]) == nil {
					ts.Fatalf("usage: resetcounts NAME (a started simulator)")
				}
				simFor(ts, args[0]).ResetCounters()
			},
		},
	}
}

// TestEveryCommandHasAnExample fails when a command's --help shows no
// example invocation of that command.
func TestEveryCommandHasAnExample(t *testing.T) {
	app := newApp(io.Discard, io.Discard)
	for _, cmd := range app.Commands {
		t.Run(cmd.Name, func(t *testing.T) {
			var out strings.Builder
			if code := run([]string{"octobundle", cmd.Name, "--help"}, &out, io.Discard); code != 0 {
				t.Fatalf("%s --help: exit %d", cmd.Name, code)
			}
			i := strings.Index(out.String(), "Examples:")
			if i < 0 {
				t.Fatalf("%s --help has no Examples section:\n%s", cmd.Name, out.String())
			}
			if !strings.Contains(out.String()[i:], "octobundle "+cmd.Name) {
				t.Errorf("%s --help: no example runs octobundle %s:\n%s", cmd.Name, cmd.Name, out.String()[i:])
			}
		})
	}
}
