package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the server's logger and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestServePrintsURLAndServes(t *testing.T) {
	seed := filepath.Join(t.TempDir(), "seed.json")
	if err := os.WriteFile(seed, []byte(`{"ServerVersion":"2023.4.1","Spaces":[{"Id":"Spaces-1","Name":"Default","IsDefault":true,"Collections":{"environments":[{"Id":"Environments-3","Name":"Prod"}]}}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- serve(ctx, []string{"--listen", "127.0.0.1:0", "--api-key", "API-CMDTEST1", "--seed", seed, "--server-version", "2025.2.1", "--id-offset", "500"}, nil, pw, &stderr)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the first line: %v (stderr: %s)", err, stderr.String())
	}
	base := strings.TrimSpace(line)
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("first line %q", base)
	}
	get := func(path, key string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		if key != "" {
			req.Header.Set("X-Octopus-ApiKey", key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	if code, root := get("/api/", ""); code != 200 || root["Version"] != "2025.2.1" {
		t.Errorf("root: %d %v", code, root["Version"])
	}
	if code, _ := get("/api/Spaces-1/environments", ""); code != http.StatusUnauthorized {
		t.Errorf("without key: %d", code)
	}
	code, envs := get("/api/Spaces-1/environments/Environments-3", "API-CMDTEST1")
	if code != 200 || envs["Name"] != "Prod" {
		t.Errorf("seeded environment: %d %v", code, envs)
	}
	cancel()
	select {
	case rc := <-done:
		if rc != 0 {
			t.Errorf("exit code %d (stderr: %s)", rc, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop after cancellation")
	}
	if !strings.Contains(stderr.String(), "octosim serving") {
		t.Errorf("no start log on stderr: %s", stderr.String())
	}
}

func TestServeErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"--no-such-flag"}, 2},
		{[]string{"--error-rate", "1.5"}, 2},
		{[]string{"extra"}, 2},
		{[]string{"--log-level", "loud"}, 2},
		{[]string{"--seed", filepath.Join(t.TempDir(), "missing.json")}, 1},
		{[]string{"--listen", "256.0.0.1:99999"}, 1},
		{[]string{"--tls-ca", filepath.Join(t.TempDir(), "no", "such", "dir", "ca.pem")}, 1},
	} {
		var out, errb bytes.Buffer
		if got := serve(context.Background(), tc.args, nil, &out, &errb); got != tc.code {
			t.Errorf("%v: exit %d, want %d (%s)", tc.args, got, tc.code, errb.String())
		}
		if out.Len() != 0 {
			t.Errorf("%v: printed %q on stdout", tc.args, out.String())
		}
	}
}

// TestServeTLS checks --tls-ca serves https with a certificate that the
// written CA file verifies, and that an unverified client is refused.
func TestServeTLS(t *testing.T) {
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- serve(ctx, []string{"--listen", "127.0.0.1:0", "--tls-ca", caFile}, nil, pw, &stderr)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the first line: %v (stderr: %s)", err, stderr.String())
	}
	base := strings.TrimSpace(line)
	if !strings.HasPrefix(base, "https://127.0.0.1:") {
		t.Fatalf("first line %q", base)
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s holds no certificate", caFile)
	}
	trusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := trusting.Get(base + "/api/")
	if err != nil {
		t.Fatalf("with the CA: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("with the CA: %d", resp.StatusCode)
	}
	if _, err := http.Get(base + "/api/"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("without the CA: %v", err)
	}
	cancel()
	select {
	case rc := <-done:
		if rc != 0 {
			t.Errorf("exit code %d (stderr: %s)", rc, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop after cancellation")
	}
}

// TestServeWatchStdin: with --watch-stdin the simulator stops when its
// standard input ends, as it does when the parent holding the pipe exits;
// without it, the end of standard input changes nothing.
func TestServeWatchStdin(t *testing.T) {
	for _, watch := range []bool{true, false} {
		args := []string{"--listen", "127.0.0.1:0"}
		if watch {
			args = append(args, "--watch-stdin")
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		in, inw := io.Pipe()
		pr, pw := io.Pipe()
		var stderr syncBuffer
		done := make(chan int, 1)
		go func() {
			done <- serve(ctx, args, in, pw, &stderr)
			pw.Close()
		}()
		if _, err := bufio.NewReader(pr).ReadString('\n'); err != nil {
			t.Fatalf("%v: reading the first line: %v (stderr: %s)", args, err, stderr.String())
		}
		inw.Close()
		select {
		case rc := <-done:
			if !watch {
				t.Fatalf("%v: stopped (exit %d) when standard input ended", args, rc)
			}
			if rc != 0 || !strings.Contains(stderr.String(), "standard input ended") {
				t.Errorf("%v: exit code %d (stderr: %s)", args, rc, stderr.String())
			}
		case <-time.After(map[bool]time.Duration{true: 10 * time.Second, false: 200 * time.Millisecond}[watch]):
			if watch {
				t.Fatalf("%v: still serving after standard input ended", args)
			}
			cancel()
			if rc := <-done; rc != 0 {
				t.Errorf("%v: exit code %d", args, rc)
			}
		}
	}
}
