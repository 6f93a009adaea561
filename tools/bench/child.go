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
// between strace and octobundle, so that the CPU it reports is
// octobundle's, without strace's.
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

// FindStrace returns the strace to count fsyncs with: path, or when path
// is "auto" the one on PATH; "" and "off" turn counting off. It checks
// that strace can trace here (ptrace may be forbidden in a container)
// with the options the benchmark uses; if not, it returns "" and why.
func FindStrace(path string) (string, string) {
	switch path {
	case "", "off":
		return "", "turned off"
	case "auto":
		p, err := exec.LookPath("strace")
		if err != nil {
			return "", "strace is not installed"
		}
		path = p
	}
	out, err := exec.Command(path, straceArgs(os.DevNull, "true")...).CombinedOutput()
	if err != nil {
		return "", fmt.Sprintf("%s cannot trace here: %v %s", path, err, bytes.TrimSpace(out))
	}
	return path, ""
}

// straceArgs are strace's arguments to count the sync system calls of
// command and every thread and process it starts into file. With
// --seccomp-bpf the kernel stops the tracee only at those calls, so the
// others cost nothing.
func straceArgs(file string, command ...string) []string {
	return append([]string{"-f", "--seccomp-bpf", "-qq", "-c", "-e", "trace=" + strings.Join(SyncSyscalls, ","), "-o", file, "--"}, command...)
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
// CPU (user and system), peak RSS and, with cfg.Strace, its sync system
// calls.
func runChild(cfg Config, name string, args, env []string) (Step, error) {
	tmp, err := os.MkdirTemp("", "octobench-step-*")
	if err != nil {
		return Step{}, err
	}
	defer os.RemoveAll(tmp)
	rssFile, usageFile, straceFile := tmp+"/rss", tmp+"/rusage", tmp+"/strace"
	command := append([]string{cfg.Binary}, args...)
	childEnv := append(os.Environ(), "OCTOPUS_API_KEY="+octosim.DefaultAPIKey, "OCTOBUNDLE_LOG_LEVEL=warn", "OCTOBUNDLE_PEAK_RSS_FILE="+rssFile)
	childEnv = append(childEnv, env...)
	if cfg.Strace != "" {
		self, err := os.Executable()
		if err != nil {
			return Step{}, err
		}
		command = append([]string{cfg.Strace}, straceArgs(straceFile, append([]string{self}, command...)...)...)
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
	s := Step{Name: name, Wall: wall.Seconds()}
	if cfg.Strace != "" {
		data, err := os.ReadFile(usageFile)
		if err != nil {
			return s, fmt.Errorf("%s: the shim's rusage: %v\n%s", name, err, tail(stderr.String(), 2000))
		}
		var u shimUsage
		if err := json.Unmarshal(data, &u); err != nil {
			return s, fmt.Errorf("%s: the shim's rusage: %v", name, err)
		}
		s.setUsage(u)
		f, err := os.Open(straceFile)
		if err != nil {
			return s, fmt.Errorf("%s: strace's summary: %v", name, err)
		}
		s.SyncCalls, err = parseStraceSummary(f)
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
