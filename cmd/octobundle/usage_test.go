package main

import (
	"io"
	"testing"

	"github.com/urfave/cli/v2"
)

func TestSuggestions(t *testing.T) {
	app := newApp(io.Discard, io.Discard)
	for _, tt := range []struct{ typed, want string }{
		{"expor", "export"}, {"aply", "apply"}, {"PLAN", "plan"}, {"transfrom", "transform"},
		{"completions", "completion"}, {"xyzzy", ""}, {"deploy", ""},
	} {
		if got := closestCommand(app, tt.typed); got != tt.want {
			t.Errorf("closestCommand(%q) = %q, want %q", tt.typed, got, tt.want)
		}
	}
	flags := []cli.Flag{&cli.StringFlag{Name: "out"}, &cli.StringFlag{Name: "output"}, &cli.BoolFlag{Name: "detailed-exitcode"}}
	for _, tt := range []struct{ typed, want string }{
		{"outptu", "output"}, {"detailed-exit-code", "detailed-exitcode"}, {"ou", "out"}, {"server", ""},
	} {
		if got := closestFlag(flags, tt.typed); got != tt.want {
			t.Errorf("closestFlag(%q) = %q, want %q", tt.typed, got, tt.want)
		}
	}
}
