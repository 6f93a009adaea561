// Command octosim serves a simulated Octopus Deploy REST API (see package
// tools/octosim) for demos, manual tests and benchmarks.
//
//	octosim --listen 127.0.0.1:0 --api-key API-XXXX [--server-version X.Y.Z]
//	        [--id-offset N] [--seed FILE] [--latency D] [--jitter D]
//	        [--error-rate F] [--rate-limit-rate F] [--drop-rate F]
//	        [--drop-after-handling-rate F] [--fault-seed N]
//	        [--log-level debug|info|warn|error] [--tls-ca FILE] [--watch-stdin]
//
// The first line of standard output is the base URL
// ("http://127.0.0.1:41234"); logs go to standard error. It serves until
// SIGINT or SIGTERM (with --watch-stdin, also until standard input ends:
// a parent that starts it with a pipe stops it by closing the pipe, and by
// exiting, however it exits). With --tls-ca it serves https with a certificate from a
// new test CA, whose certificate it writes to FILE (octobundle --ca-cert
// FILE trusts it).
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/octobundle/octobundle/tools/octosim"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run parses args, starts the simulator and serves until a signal; it
// returns the exit code (2 for usage errors, 1 for start-up failures).
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serve(ctx, args, os.Stdin, stdout, stderr)
}

// serve is run without the signal handling, for tests.
func serve(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("octosim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on")
	apiKey := fs.String("api-key", octosim.DefaultAPIKey, "API key clients must send (API-[A-Z0-9]+)")
	version := fs.String("server-version", "", "Octopus version to report (default: the seed's, else "+octosim.DefaultServerVersion+")")
	offset := fs.Int("id-offset", 0, "start ID counters at N+1 so two instances' IDs differ")
	seedPath := fs.String("seed", "", "JSON seed instance to load")
	latency := fs.Duration("latency", 0, "latency added to every request")
	jitter := fs.Duration("jitter", 0, "random extra latency in [0, jitter)")
	errRate := fs.Float64("error-rate", 0, "fraction of requests answered 503")
	rlRate := fs.Float64("rate-limit-rate", 0, "fraction of requests answered 429 with Retry-After")
	dropRate := fs.Float64("drop-rate", 0, "fraction of requests whose connection is dropped")
	dropAfter := fs.Float64("drop-after-handling-rate", 0, "fraction of requests handled (a POST creates its entity) whose connection is then dropped")
	faultSeed := fs.Uint64("fault-seed", 1, "seed of the fault generator")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	tlsCA := fs.String("tls-ca", "", "serve https with a certificate from a new test CA, and write that CA's certificate (PEM) to this file, for octobundle --ca-cert")
	taskDuration := fs.Duration("task-duration", 0, "how long a deployment or runbook run stays Executing before it succeeds (0: tasks complete at once)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the simulator to this file (for finding its own costs in a benchmark)")
	watchStdin := fs.Bool("watch-stdin", false, "also stop when standard input ends or fails (a parent holding a pipe to it stops it by closing the pipe, or by exiting)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(stderr, "octosim: -cpuprofile: %v\n", err)
			return 1
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "octosim: unexpected arguments %q\n", fs.Args())
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "octosim: --log-level: %v\n", err)
		return 2
	}
	for name, rate := range map[string]float64{"error-rate": *errRate, "rate-limit-rate": *rlRate, "drop-rate": *dropRate, "drop-after-handling-rate": *dropAfter} {
		if rate < 0 || rate > 1 {
			fmt.Fprintf(stderr, "octosim: --%s must be between 0 and 1\n", name)
			return 2
		}
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if *watchStdin {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		go func() {
			_, _ = io.Copy(io.Discard, stdin)
			log.Info("standard input ended: stopping")
			cancel()
		}()
	}
	opts := octosim.Options{
		APIKey: *apiKey, ServerVersion: *version, IDOffset: *offset, Logger: log, TaskDuration: *taskDuration,
		Faults: octosim.Faults{
			Latency: *latency, Jitter: *jitter, ErrorRate: *errRate, RateLimitRate: *rlRate,
			DropRate: *dropRate, DropAfterHandlingRate: *dropAfter, Seed: *faultSeed, RetryAfter: time.Second,
		},
	}
	if *seedPath != "" {
		seed, err := octosim.LoadSeed(*seedPath)
		if err != nil {
			log.Error("cannot read the seed", "err", err)
			return 1
		}
		opts.Seed = seed
	}
	sim, err := octosim.New(opts)
	if err != nil {
		log.Error("cannot start the simulator", "err", err)
		return 1
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Error("cannot listen", "addr", *listen, "err", err)
		return 1
	}
	base := octosim.BaseURL(ln)
	if *tlsCA != "" {
		host, _, _ := net.SplitHostPort(ln.Addr().String())
		cert, err := octosim.NewTLSCertificate(host, "localhost")
		if err == nil {
			err = os.WriteFile(*tlsCA, cert.CAPEM, 0o644)
		}
		if err != nil {
			log.Error("cannot set up TLS", "err", err)
			ln.Close()
			return 1
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert.Server}, MinVersion: tls.VersionTLS12})
		base = "https://" + ln.Addr().String()
	}
	fmt.Fprintln(stdout, base)
	log.Info("octosim serving", "url", base, "version", sim.Version(), "idOffset", *offset, "seed", *seedPath)
	if err := sim.Serve(ctx, ln); err != nil {
		log.Error("serve", "err", err)
		return 1
	}
	log.Info("octosim stopped")
	return 0
}
