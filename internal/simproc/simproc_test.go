package simproc

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/octobundle/octobundle/tools/octosim"
)

// roleEnv makes the test binary play a part instead of running tests: a
// fake octosim ("fail", "garbage", "silent", "stubborn") or a parent that
// starts a real one and then waits to be killed ("parent").
const roleEnv = "SIMPROC_TEST_ROLE"

// octosimBin is the octosim program the tests run, built by Find from this
// source tree.
var octosimBin string

func TestMain(m *testing.M) {
	switch os.Getenv(roleEnv) {
	case "":
	case "fail":
		fmt.Fprintln(os.Stderr, "boom: cannot start")
		os.Exit(3)
	case "garbage":
		fmt.Println("hello")
		time.Sleep(time.Hour)
	case "silent":
		time.Sleep(time.Hour)
	case "stubborn":
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("http://127.0.0.1:1")
		time.Sleep(time.Hour)
	case "parent":
		s, err := Start(context.Background(), os.Getenv(EnvVar), Options{})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(s.Pid())
		time.Sleep(time.Hour)
	default:
		os.Exit(2)
	}
	// Find builds octosim from this source tree into the user's cache
	// folder, as the demo does, so later runs reuse it.
	os.Unsetenv(EnvVar)
	if _, err := exec.LookPath("go"); err == nil {
		var err error
		if octosimBin, err = Find(context.Background(), "", nil); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

func needOctosim(t *testing.T) {
	t.Helper()
	if octosimBin == "" {
		t.Skip("no go command to build octosim with")
	}
}

// TestFind: the places Find looks, in order, and an error that names
// every place tried.
func TestFind(t *testing.T) {
	tmp := t.TempDir()
	file := func(p string) string {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	explicit := file(filepath.Join(tmp, "explicit", "sim"))
	fromEnv := file(filepath.Join(tmp, "env", "sim"))
	bin := filepath.Join(tmp, "bin")
	file(filepath.Join(bin, exeName))
	onPath := file(filepath.Join(tmp, "path", exeName))
	release := filepath.Join(tmp, "release")
	file(filepath.Join(release, "octosim-v1.2.3-linux-amd64"))
	other := filepath.Join(tmp, "other")
	file(filepath.Join(other, "go.mod"))
	if err := os.WriteFile(filepath.Join(other, "go.mod"), []byte("module example.com/other\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	nowhere := filepath.Join(tmp, "nowhere", "octobundle")
	noPath := func(string) (string, error) { return "", exec.ErrNotFound }
	pathHas := func(name string) (string, error) {
		if name == "octosim" {
			return onPath, nil
		}
		return "", exec.ErrNotFound
	}
	for _, c := range []struct {
		name string
		f    finder
		want string   // the path found, or
		errs []string // what the error says
	}{
		{"explicit first", finder{Explicit: explicit, Env: fromEnv, Executable: filepath.Join(bin, "octobundle"), LookPath: pathHas}, explicit, nil},
		{"explicit, missing", finder{Explicit: filepath.Join(tmp, "nope"), Env: fromEnv, LookPath: pathHas}, "", []string{"--octosim", "nope"}},
		{"explicit, a folder", finder{Explicit: tmp, LookPath: pathHas}, "", []string{"is a folder"}},
		{"environment", finder{Env: fromEnv, Executable: filepath.Join(bin, "octobundle"), LookPath: pathHas}, fromEnv, nil},
		{"environment, missing", finder{Env: filepath.Join(tmp, "nope"), LookPath: pathHas}, "", []string{EnvVar, "nope"}},
		{"next to the executable", finder{Executable: filepath.Join(bin, "octobundle"), Dir: other, LookPath: pathHas}, filepath.Join(bin, exeName), nil},
		{"beside a release binary", finder{Executable: filepath.Join(release, "octobundle-v1.2.3-linux-amd64"), Dir: other, LookPath: pathHas}, filepath.Join(release, "octosim-v1.2.3-linux-amd64"), nil},
		{"on PATH", finder{Executable: nowhere, Dir: other, LookPath: pathHas}, onPath, nil},
		{"nowhere", finder{Executable: nowhere, Dir: other, LookPath: noPath}, "", []string{
			filepath.Join(filepath.Dir(nowhere), exeName) + " (next to this program)", "not in octobundle's source tree", "octosim on PATH", "--octosim PATH", EnvVar}},
		{"source tree without go", finder{Executable: nowhere, Dir: filepath.Join(repo, "internal"), LookPath: noPath}, "", []string{"no go command on PATH", filepath.Join(repo, "cmd", "octosim")}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.f.find(context.Background())
			if c.errs == nil {
				if err != nil || got != c.want {
					t.Fatalf("got %q, %v; want %q", got, err, c.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("got %q, want an error", got)
			}
			for _, want := range c.errs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q: %v", want, err)
				}
			}
		})
	}

	t.Run("source tree, built once into the cache", func(t *testing.T) {
		needOctosim(t)
		cache, _ := os.UserCacheDir()
		if !strings.HasPrefix(octosimBin, cache) {
			t.Errorf("built %s, not in the cache folder %s", octosimBin, cache)
		}
		st, err := os.Stat(octosimBin)
		if err != nil {
			t.Fatal(err)
		}
		// From a sub-folder of the tree, before PATH: the same program,
		// up to date, not linked again.
		got, err := finder{Executable: nowhere, Dir: filepath.Join(repo, "internal", "demo"), LookPath: func(name string) (string, error) {
			if name == "octosim" {
				return onPath, nil
			}
			return exec.LookPath(name)
		}}.find(context.Background())
		if err != nil || got != octosimBin {
			t.Fatalf("got %q, %v; want %s", got, err, octosimBin)
		}
		// (go touches an up-to-date program; it does not replace it.)
		if st2, err := os.Stat(got); err != nil || !os.SameFile(st, st2) {
			t.Errorf("the up-to-date program was written again: %v", err)
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(got), "lock")); !os.IsNotExist(err) {
			t.Errorf("the build lock is left behind: %v", err)
		}
	})

	t.Run("the module path is go.mod's", func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join(repo, "go.mod"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(data), "module "+modulePath+"\n") {
			t.Errorf("go.mod does not declare %s", modulePath)
		}
		if got := moduleRoot(filepath.Join(repo, "internal", "simproc")); got != repo {
			t.Errorf("moduleRoot: %q, want %s", got, repo)
		}
	})
}

// TestLockWaits: a second lock waits for the first, and a stale one is
// taken over.
func TestLockWaits(t *testing.T) {
	p := filepath.Join(t.TempDir(), "lock")
	unlock, err := lock(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := lock(ctx, p); err == nil {
		t.Fatal("took a held lock")
	}
	unlock()
	unlock2, err := lock(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock2()
	old := time.Now().Add(-2 * staleLock)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	unlock3, err := lock(ctx2, p)
	if err != nil {
		t.Fatalf("a stale lock was not taken over: %v", err)
	}
	unlock3()
}

// TestStartCountersStop runs the real octosim: it serves the seed with
// the key, its counters come over HTTP, and Stop ends the process.
func TestStartCountersStop(t *testing.T) {
	needOctosim(t)
	if CountersPath != octosim.CountersPath {
		t.Fatalf("CountersPath %q, octosim's %q", CountersPath, octosim.CountersPath)
	}
	ctx := context.Background()
	const key = "API-SIMPROCTEST0001"
	s, err := Start(ctx, octosimBin, Options{Seed: "../../testdata/instances/destination.json", APIKey: key, IDOffset: 5000})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	do := func(method, path, body string) int {
		t.Helper()
		req, _ := http.NewRequest(method, s.URL+path, strings.NewReader(body))
		req.Header.Set("X-Octopus-ApiKey", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := do(http.MethodGet, "/api/Spaces-1/environments", ""); code != http.StatusOK {
		t.Fatalf("GET environments: %d", code)
	}
	if code := do(http.MethodPost, "/api/Spaces-1/environments", `{"Name":"Dev"}`); code != http.StatusCreated {
		t.Fatalf("POST environment: %d", code)
	}
	c, err := s.Counters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.Requests != 2 || c.Writes != 1 || c.Counters["POST /api/{id}/environments"] != 1 {
		t.Errorf("counters %+v, want 2 requests, 1 write", c)
	}
	if err := s.ResetCounters(ctx); err != nil {
		t.Fatal(err)
	}
	if c, err := s.Counters(ctx); err != nil || c.Requests != 0 || c.Writes != 0 {
		t.Errorf("after the reset: %+v, %v", c, err)
	}
	bad := &Sim{URL: s.URL, APIKey: "API-WRONG", client: s.client}
	if _, err := bad.Counters(ctx); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("counters with a wrong key: %v", err)
	}
	if err := s.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if alive(s.Pid()) {
		t.Errorf("octosim (pid %d) still runs after Stop", s.Pid())
	}
	if err := s.Stop(); err != nil {
		t.Errorf("a second Stop: %v", err)
	}
}

// TestStartFailures: a program that exits, prints something else than a
// URL, stays silent past ctx, or ignores SIGTERM is stopped, and the error
// says why.
func TestStartFailures(t *testing.T) {
	stopGrace = 500 * time.Millisecond
	defer func() { stopGrace = 5 * time.Second }()
	for _, c := range []struct {
		role    string
		timeout time.Duration
		want    []string
	}{
		{"fail", time.Minute, []string{"exited before printing its URL", "exit status 3", "boom: cannot start"}},
		{"garbage", time.Minute, []string{`printed "hello", not its URL`}},
		{"silent", 300 * time.Millisecond, []string{"context deadline exceeded"}},
	} {
		t.Run(c.role, func(t *testing.T) {
			t.Setenv(roleEnv, c.role)
			ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
			defer cancel()
			s, err := Start(ctx, os.Args[0], Options{})
			if err == nil {
				s.Stop()
				t.Fatal("started")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, err)
				}
			}
			if pids := children(t); len(pids) != 0 {
				t.Errorf("left running: %v", pids)
			}
		})
	}
	t.Run("stubborn", func(t *testing.T) {
		if runtime.GOOS == "windows" {
			t.Skip("no SIGTERM on Windows")
		}
		t.Setenv(roleEnv, "stubborn")
		s, err := Start(context.Background(), os.Args[0], Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Stop(); err == nil || !strings.Contains(err.Error(), "was killed") {
			t.Errorf("Stop: %v", err)
		}
		if alive(s.Pid()) {
			t.Errorf("pid %d still runs", s.Pid())
		}
	})
}

// TestNoOrphanWhenParentKilled: a simulator outlives no parent, even one
// killed with SIGKILL (no deferred Stop runs): its standard input ends.
func TestNoOrphanWhenParentKilled(t *testing.T) {
	needOctosim(t)
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	parent := exec.Command(os.Args[0])
	parent.Env = append(os.Environ(), roleEnv+"=parent", EnvVar+"="+octosimBin)
	var stderr bytes.Buffer
	parent.Stderr = &stderr
	out, err := parent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		parent.Process.Kill()
		parent.Wait()
		t.Fatalf("the parent printed no pid: %v (%s)", err, stderr.String())
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || !alive(pid) {
		t.Fatalf("pid %q: %v, alive %v", line, err, alive(pid))
	}
	if err := parent.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	parent.Wait()
	for deadline := time.Now().Add(10 * time.Second); alive(pid); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("octosim (pid %d) outlived its killed parent by 10s", pid)
		}
	}
}

// alive reports whether pid runs (a zombie does not; where /proc is
// missing, whether it can be signalled).
func alive(pid int) bool {
	if runtime.GOOS == "linux" {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return false
		}
		// pid (comm) STATE ...: comm may hold spaces and parentheses.
		rest := string(b[bytes.LastIndexByte(b, ')')+1:])
		return !strings.HasPrefix(strings.TrimSpace(rest), "Z")
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	return p.Signal(syscall.Signal(0)) == nil
}

// children lists the running child processes of this one (Linux only;
// elsewhere none).
func children(t *testing.T) []int {
	t.Helper()
	if runtime.GOOS != "linux" {
		return nil
	}
	dirs, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) > 1 && f[0] != "Z" && f[1] == strconv.Itoa(os.Getpid()) {
			pid, _ := strconv.Atoi(strings.Split(d, "/")[2])
			pids = append(pids, pid)
		}
	}
	return pids
}
