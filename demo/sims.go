package demo

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/octobundle/octobundle/internal/simproc"
)

// APIKey is the key both simulators accept: octosim's default key, as
// when the demo ran the simulators in its own process. It is no secret:
// the simulators hold sample data and listen on loopback only.
const APIKey = "API-OCTOSIMTESTKEY0000000000000"

// startSims finds the octosim program (path, when not empty, else see
// simproc.Find) and starts the source and destination simulators as child
// processes. The caller must call stop, which stops both, on every path;
// on an error nothing is left running.
func startSims(ctx context.Context, path, sourceSeed, destinationSeed string, log *slog.Logger) (src, dst *simproc.Sim, stop func(), err error) {
	bin, err := simproc.Find(ctx, path, log)
	if err != nil {
		return nil, nil, nil, err
	}
	src, err = simproc.Start(ctx, bin, simproc.Options{Seed: sourceSeed, APIKey: APIKey})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("starting the source simulator: %w", err)
	}
	dst, err = simproc.Start(ctx, bin, simproc.Options{Seed: destinationSeed, APIKey: APIKey})
	if err != nil {
		src.Stop()
		return nil, nil, nil, fmt.Errorf("starting the destination simulator: %w", err)
	}
	stop = func() {
		// Both at once: each may wait for its process to exit.
		done := make(chan struct{})
		go func() { dst.Stop(); close(done) }()
		src.Stop()
		<-done
	}
	return src, dst, stop, nil
}
