package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/octobundle/octobundle/tools/octosim"
)

// SyncSyscalls are the system calls counted as fsyncs: each one makes the
// kernel write data to the device before it returns.
var SyncSyscalls = []string{"fsync", "fdatasync", "syncfs", "sync_file_range"}

// shimEnv, when set in a process's environment, makes ShimMain run the
// command in the rest of its arguments and write the command's own
// rusage to the file the variable names. The benchmark puts the shim
// between the sync counter (perf or strace) and octobundle, so that the
// CPU it reports is octobundle's, without the counter's.
const shimEnv = "OCTOBENCH_RUSAGE_FILE"

// shimUsage is what the shim writes: its child's CPU times in
// nanoseconds and Maxrss in kB.
type shimUsage struct {
	User   int64 `json:"user_ns"`
	System int64 `json:"system_ns"`
	Maxrss int64 `json:"maxrss_kb"`
}

// ShimMain must be called first by every program that runs the benchmark
// (octobench's main, the package's TestMain): if the process was started
// as the benchmark's shim, it runs the command, writes its rusage and
// exits with the command's status; otherwise it returns at once.
func ShimMain() {
	out := os.Getenv(shimEnv)
	if out == "" {
		return
	}
	os.Unsetenv(shimEnv)
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "octobench shim: no command")
		os.Exit(2)
	}
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		fmt.Fprintln(os.Stderr, "octobench shim:", err)
		os.Exit(2)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		data, _ := json.Marshal(shimUsage{User: ru.Utime.Nano(), System: ru.Stime.Nano(), Maxrss: ru.Maxrss})
		if err := os.WriteFile(out, data, 0o600); err != nil {
			fmt.Fprintln(os.Stderr, "octobench shim:", err)
			os.Exit(2)
		}
	}
	os.Exit(cmd.ProcessState.ExitCode())
}

// SyncCounter counts a child's sync system calls (SyncSyscalls): with
// perf stat, which counts the syscall tracepoints in the kernel (the
// child never stops), or with strace -f --seccomp-bpf -c, which stops it
// at each sync call and, being ptrace, at each signal it receives (Go's
// runtime sends itself many), adding system time. Either way the CPU
// reported is the child's own, taken by a shim between the counter and
// octobundle.
type SyncCounter struct {
	// Tool is "perf" or "strace".
	Tool string
	// Path is the tool's executable.
	Path string
}

// String describes the counter for the report.
func (c SyncCounter) String() string {
	if c.Tool == "perf" {
		return "counted by " + c.Path + " stat -e syscalls:sys_enter_{" + strings.Join(SyncSyscalls, ",") + "}"
	}
	return "counted by " + c.Path + " -f --seccomp-bpf -c -e trace=" + strings.Join(SyncSyscalls, ",")
}

// args are the counter's arguments to count the sync calls of command,
// and of every thread and process it starts, into file.
func (c SyncCounter) args(file string, command ...string) []string {
	if c.Tool == "perf" {
		ev := make([]string, len(SyncSyscalls))
		for i, sc := range SyncSyscalls {
			ev[i] = "syscalls:sys_enter_" + sc
		}
		return append([]string{"stat", "-x", ",", "-e", strings.Join(ev, ","), "-o", file, "--"}, command...)
	}
	return append([]string{"-f", "--seccomp-bpf", "-qq", "-c", "-e", "trace=" + strings.Join(SyncSyscalls, ","), "-o", file, "--"}, command...)
}

// parse reads the counter's output file.
func (c SyncCounter) parse(r io.Reader) (map[string]int, error) {
	if c.Tool == "perf" {
		return parsePerfStat(r)
	}
	return parseStraceSummary(r)
}

// FindSyncCounter returns the counter mode asks for: "perf" or "strace"
// (from PATH, or the path after a colon, e.g. "strace:/usr/bin/strace"),
// "auto" (perf, else strace) or "off". It checks that the tool can count
// here (perf needs the syscall tracepoints and the right to open them,
// strace the right to ptrace); if none can, it returns false and why.
func FindSyncCounter(mode string) (SyncCounter, bool, string) {
	tools := []string{mode}
	switch mode {
	case "", "off":
		return SyncCounter{}, false, "turned off"
	case "auto":
		tools = []string{"perf", "strace"}
	}
	var why []string
	for _, t := range tools {
		tool, path, _ := strings.Cut(t, ":")
		if tool != "perf" && tool != "strace" {
			return SyncCounter{}, false, fmt.Sprintf("unknown counter %q (perf, strace, auto, off)", t)
		}
		if path == "" {
			p, err := exec.LookPath(tool)
			if err != nil {
				why = append(why, tool+" is not installed")
				continue
			}
			path = p
		}
		c := SyncCounter{Tool: tool, Path: path}
		if err := c.probe(); err != nil {
			why = append(why, err.Error())
			continue
		}
		return c, true, ""
	}
	return SyncCounter{}, false, strings.Join(why, "; ")
}

// probe counts the sync calls of true(1): none, every one counted.
func (c SyncCounter) probe() error {
	f, err := os.CreateTemp("", "octobench-probe-*")
	if err != nil {
		return err
	}
	f.Close()
	defer os.Remove(f.Name())
	out, err := exec.Command(c.Path, c.args(f.Name(), "true")...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s cannot count here: %v %s", c.Path, err, bytes.TrimSpace(out))
	}
	data, err := os.ReadFile(f.Name())
	if err != nil {
		return err
	}
	counts, err := c.parse(bytes.NewReader(data))
	if err == nil && c.Tool == "perf" && len(counts) != len(SyncSyscalls) {
		err = fmt.Errorf("counted only %v", counts)
	}
	if err != nil {
		return fmt.Errorf("%s cannot count here: %v", c.Path, err)
	}
	return nil
}

// parsePerfStat reads perf stat -x , output: "count,unit,event,…" rows;
// a count perf could not take ("<not counted>", "<not supported>") is an
// error, as a count of 0 would be a lie.
func parsePerfStat(r io.Reader) (map[string]int, error) {
	out := map[string]int{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ",")
		if len(f) < 3 {
			continue
		}
		name := strings.TrimPrefix(f[2], "syscalls:sys_enter_")
		n, err := strconv.Atoi(f[0])
		if err != nil {
			return nil, fmt.Errorf("perf stat: %s: %q", name, f[0])
		}
		out[name] += n
	}
	return out, sc.Err()
}

// parseStraceSummary reads strace -c's table: the calls of each system
// call. Its rows are "% time, seconds, usecs/call, calls, [errors,]
// syscall"; the total row and the rules are skipped.
func parseStraceSummary(r io.Reader) (map[string]int, error) {
	out := map[string]int{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 5 || f[0] == "%" || strings.HasPrefix(f[0], "-") {
			continue
		}
		name := f[len(f)-1]
		if name == "total" {
			continue
		}
		n, err := strconv.Atoi(f[3])
		if err != nil {
			return nil, fmt.Errorf("strace summary: %q: %v", sc.Text(), err)
		}
		out[name] += n
	}
	return out, sc.Err()
}

// runChild runs octobundle with args and env and measures it: wall time,
// CPU (user and system), peak RSS and, with cfg.SyncCounter, its sync
// system calls.
func runChild(cfg Config, name string, args, env []string) (Step, error) {
	tmp, err := os.MkdirTemp("", "octobench-step-*")
	if err != nil {
		return Step{}, err
	}
	defer os.RemoveAll(tmp)
	rssFile, usageFile, syncFile := tmp+"/rss", tmp+"/rusage", tmp+"/syncs"
	command := append([]string{cfg.Binary}, args...)
	childEnv := append(os.Environ(), "OCTOPUS_API_KEY="+octosim.DefaultAPIKey, "OCTOBUNDLE_LOG_LEVEL=warn", "OCTOBUNDLE_PEAK_RSS_FILE="+rssFile)
	childEnv = append(childEnv, env...)
	counter := cfg.SyncCounter
	if counter != nil {
		self, err := os.Executable()
		if err != nil {
			return Step{}, err
		}
		command = append([]string{counter.Path}, counter.args(syncFile, append([]string{self}, command...)...)...)
		childEnv = append(childEnv, shimEnv+"="+usageFile)
	}
	cmd := exec.Command(command[0], command[1:]...)
	cmd.Env = childEnv
	var stderr bytes.Buffer
	cmd.Stdout = io.Discard
	cmd.Stderr = &stderr
	start := time.Now()
	err = cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return Step{}, fmt.Errorf("%s: octobundle %s: %v\n%s", name, strings.Join(args, " "), err, tail(stderr.String(), 2000))
	}
	s := Step{Name: name, Wall: wall.Seconds(), started: start}
	if counter != nil {
		data, err := os.ReadFile(usageFile)
		if err != nil {
			return s, fmt.Errorf("%s: the shim's rusage: %v\n%s", name, err, tail(stderr.String(), 2000))
		}
		var u shimUsage
		if err := json.Unmarshal(data, &u); err != nil {
			return s, fmt.Errorf("%s: the shim's rusage: %v", name, err)
		}
		s.setUsage(u)
		f, err := os.Open(syncFile)
		if err != nil {
			return s, fmt.Errorf("%s: %s's counts: %v", name, counter.Tool, err)
		}
		s.SyncCalls, err = counter.parse(f)
		f.Close()
		if err != nil {
			return s, err
		}
		n := sum(s.SyncCalls)
		s.Fsyncs = &n
	} else if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		s.setUsage(shimUsage{User: ru.Utime.Nano(), System: ru.Stime.Nano(), Maxrss: ru.Maxrss})
	}
	if data, err := os.ReadFile(rssFile); err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64); err == nil && n > 0 {
			s.PeakRSS = float64(n) / (1 << 20)
		}
	}
	return s, nil
}

// setUsage fills the step's CPU and its fallback peak RSS from u.
func (s *Step) setUsage(u shimUsage) {
	s.PeakRSS = float64(u.Maxrss) / 1024 // kB on Linux
	s.UserCPU = time.Duration(u.User).Seconds()
	s.SysCPU = time.Duration(u.System).Seconds()
	s.CPU = s.UserCPU + s.SysCPU
}
