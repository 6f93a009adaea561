package main

import (
	"encoding/json"
	"io"

	"github.com/urfave/cli/v2"
)

// outputFlag is --output of a command whose data on stdout has a text and
// a JSON form (the JSON documented, with a schema per command, in
// docs/json-output.md).
func outputFlag() cli.Flag {
	return &cli.StringFlag{Name: "output", Value: "text", Usage: "output format on stdout: text or json (see docs/json-output.md)"}
}

// jsonOutput reports whether --output asks for JSON; a value other than
// text or json is a usage error naming the flag.
func jsonOutput(c *cli.Context) (bool, error) {
	switch c.String("output") {
	case "text":
		return false, nil
	case "json":
		return true, nil
	}
	return false, usageError("--output must be text or json, not %q", c.String("output"))
}

// writeJSON writes v as the JSON output of a command: indented by two
// spaces, one value, a final newline, no HTML escaping.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// nonNil is s, or an empty slice for nil: JSON lists are [] when empty.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
