// Package simproc runs Octopus API simulators as child processes: it
// finds the octosim program (cmd/octosim), starts it on loopback, reads its
// base URL and its request counters over HTTP, and stops it. The demo runs
// its simulators through it, so that the octobundle binary links neither
// the simulator (tools/octosim) nor anything of the tests'.
//
// A started simulator runs with --watch-stdin and a pipe from this process
// as its standard input: it stops when Stop closes the pipe, and also when
// this process dies, however it dies, so none is left behind.
package simproc

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Options configure one simulator.
type Options struct {
	// Seed is the instance file to load (--seed); "" starts an empty one.
	Seed string
	// APIKey is the key the simulator accepts (--api-key); "" keeps
	// octosim's default, which the Sim then does not know.
	APIKey string
	// IDOffset starts its ID counters past N (--id-offset).
	IDOffset int
}

// CountersPath is the simulator's counters route (octosim.CountersPath).
const CountersPath = "/_octosim/counters"

// Counters is what the simulator counted since its last reset
// (octosim.CountersReport).
type Counters struct {
	// Requests is the number of requests, Writes those with POST, PUT,
	// PATCH or DELETE.
	Requests, Writes int
	// Counters counts requests by "METHOD /normalized/path".
	Counters map[string]int
}

// Sim is a running simulator process.
type Sim struct {
	// URL is its base URL, as it printed it ("http://127.0.0.1:41234").
	URL string
	// APIKey is Options.APIKey.
	APIKey string

	cmd    *exec.Cmd
	stdin  *os.File // the write end of its standard input
	stderr *tail
	exited chan struct{} // closed when it has exited
	err    error         // of Wait, once exited is closed
	once   sync.Once
	client *http.Client
}

// startTimeout bounds how long a simulator may take to print its URL.
const startTimeout = 2 * time.Minute

// stopGrace is how long Stop waits after asking before it kills (a
// variable for tests).
var stopGrace = 5 * time.Second

// Start runs the octosim program bin (see Find) on 127.0.0.1 and returns
// once it has printed its URL. If it exits first, or ctx ends first, or it
// is silent for two minutes, Start stops it and fails; the error carries
// the end of what it wrote to standard error.
func Start(ctx context.Context, bin string, o Options) (*Sim, error) {
	args := []string{"--listen", "127.0.0.1:0", "--watch-stdin", "--log-level", "warn"}
	if o.Seed != "" {
		args = append(args, "--seed", o.Seed)
	}
	if o.APIKey != "" {
		args = append(args, "--api-key", o.APIKey)
	}
	if o.IDOffset != 0 {
		args = append(args, "--id-offset", strconv.Itoa(o.IDOffset))
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	s := &Sim{
		APIKey: o.APIKey,
		cmd:    exec.Command(bin, args...),
		stdin:  inW,
		stderr: &tail{max: 4 << 10},
		exited: make(chan struct{}),
		client: &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: 30 * time.Second},
	}
	s.cmd.Stdin, s.cmd.Stdout, s.cmd.Stderr = inR, outW, s.stderr
	s.cmd.WaitDelay = stopGrace
	err = s.cmd.Start()
	// The child holds its own ends now.
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.exited)
	}()
	line := make(chan string, 1)
	go func() {
		defer outR.Close()
		r := bufio.NewReader(outR)
		l, _ := r.ReadString('\n')
		line <- strings.TrimSpace(l)
		_, _ = io.Copy(io.Discard, r) // never let it block on stdout
	}()
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	fail := func(why string) (*Sim, error) {
		s.Stop()
		return nil, fmt.Errorf("%s %s: %s%s", bin, strings.Join(args, " "), why, s.stderr.suffix())
	}
	select {
	case l := <-line:
		if !strings.HasPrefix(l, "http://") && !strings.HasPrefix(l, "https://") {
			<-s.exitedOrGrace()
			select {
			case <-s.exited:
				if l == "" {
					return fail(fmt.Sprintf("exited before printing its URL (%v)", s.err))
				}
			default:
			}
			return fail(fmt.Sprintf("printed %q, not its URL", l))
		}
		s.URL = l
		return s, nil
	case <-ctx.Done():
		return fail(context.Cause(ctx).Error())
	case <-timer.C:
		return fail("printed no URL in " + startTimeout.String())
	}
}

// exitedOrGrace is closed when the process has exited or after a short
// wait, so a failure's message can carry what it wrote before exiting.
func (s *Sim) exitedOrGrace() <-chan struct{} {
	c := make(chan struct{})
	go func() {
		select {
		case <-s.exited:
		case <-time.After(time.Second):
		}
		close(c)
	}()
	return c
}

// Stop stops the simulator: it closes its standard input and sends
// SIGTERM (not on Windows), waits up to five seconds, then kills it. It
// returns once the process has exited; an error only when the process had
// to be killed or failed before being asked to stop. Stop may be called
// more than once, and concurrently.
func (s *Sim) Stop() error {
	var err error
	s.once.Do(func() {
		select {
		case <-s.exited:
			// It stopped by itself: that is an error, unless it said 0.
			err = s.err
			s.stdin.Close()
			return
		default:
		}
		s.stdin.Close()
		if runtime.GOOS != "windows" {
			_ = s.cmd.Process.Signal(syscall.SIGTERM)
		}
		select {
		case <-s.exited:
		case <-time.After(stopGrace):
			_ = s.cmd.Process.Kill()
			<-s.exited
			err = fmt.Errorf("octosim (pid %d) did not stop in %s and was killed%s", s.cmd.Process.Pid, stopGrace, s.stderr.suffix())
		}
	})
	return err
}

// Pid is the simulator's process ID.
func (s *Sim) Pid() int { return s.cmd.Process.Pid }

// Counters reads the simulator's request counters (GET CountersPath).
func (s *Sim) Counters(ctx context.Context) (*Counters, error) {
	body, err := s.counters(ctx, http.MethodGet, http.StatusOK)
	if err != nil {
		return nil, err
	}
	var c Counters
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, fmt.Errorf("octosim counters: %w", err)
	}
	return &c, nil
}

// ResetCounters sets the simulator's request counters back to zero
// (DELETE CountersPath).
func (s *Sim) ResetCounters(ctx context.Context) error {
	_, err := s.counters(ctx, http.MethodDelete, http.StatusNoContent)
	return err
}

func (s *Sim) counters(ctx context.Context, method string, want int) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, s.URL+CountersPath, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Octopus-ApiKey", s.APIKey)
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("octosim counters: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("octosim counters: %w", err)
	}
	if resp.StatusCode != want {
		return nil, fmt.Errorf("octosim counters: %s %s: %s: %s", method, CountersPath, resp.Status, strings.TrimSpace(string(body)))
	}
	return body, nil
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

// suffix is ": " and what was kept, or "".
func (t *tail) suffix() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.b))
	if s == "" {
		return ""
	}
	return " (its standard error: " + s + ")"
}
