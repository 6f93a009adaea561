package main

import (
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestInterspersed(t *testing.T) {
	app := newApp(io.Discard, io.Discard)
	tests := []struct{ in, want string }{
		{"octobundle plan --server U b.tar.zst", "octobundle plan --server U b.tar.zst"},
		{"octobundle plan --server U b.tar.zst --out p.json --detailed-exitcode", "octobundle plan --server U --out p.json --detailed-exitcode b.tar.zst"},
		{"octobundle --log-level debug apply b --plan p.json", "octobundle --log-level debug apply --plan p.json b"},
		{"octobundle export --project A --out x --project B", "octobundle export --project A --out x --project B"},
		{"octobundle pack dir out.tar.zst", "octobundle pack dir out.tar.zst"},
		{"octobundle verify -- --weird-name", "octobundle verify -- --weird-name"},
		{"octobundle plan b --output=json", "octobundle plan --output=json b"},
		{"octobundle unknown x --y", "octobundle unknown x --y"},
		{"octobundle plan b --log-level debug --out p.json", "octobundle --log-level debug plan --out p.json b"},
		{"octobundle export --concurrency=2 --out x --no-color", "octobundle --concurrency=2 --no-color export --out x"},
		{"octobundle release apply r.tar.zst --log-level debug --server u --wait", "octobundle --log-level debug release apply --server u --wait r.tar.zst"},
		{"octobundle release export --project P --out r", "octobundle release export --project P --out r"},
	}
	for _, tt := range tests {
		got := strings.Join(interspersed(app, strings.Fields(tt.in)), " ")
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

func TestUseColor(t *testing.T) {
	cases := []struct {
		mode    string
		tty     bool
		noColor string
		want    bool
	}{
		{"auto", true, "", true},
		{"auto", true, "1", false},
		{"auto", false, "", false},
		{"always", false, "1", true},
		{"never", true, "", false},
	}
	for _, c := range cases {
		if got := useColor(c.mode, c.tty, c.noColor); got != c.want {
			t.Errorf("useColor(%q, tty=%v, NO_COLOR=%q) = %v, want %v", c.mode, c.tty, c.noColor, got, c.want)
		}
	}
}
