package bundles

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEscapeName(t *testing.T) {
	cases := []struct{ name, seg string }{
		{"OctoFX", "OctoFX"},
		{"Restart IIS", "Restart IIS"},
		{"Zürich", "Zürich"},
		{"日本語", "日本語"},
		{"Dev-1 (old)", "Dev-1 (old)"},
		{"a/b", "a%2Fb"},
		{`a\b`, "a%5Cb"},
		{"100%", "100%25"},
		{`<>:"|?*`, "%3C%3E%3A%22%7C%3F%2A"},
		{".", "%2E"},
		{"..", "%2E%2E"},
		{"...", "%2E.%2E"},
		{".NET", "%2ENET"},
		{"v1.", "v1%2E"},
		{"trailing ", "trailing%20"},
		{" leading", "%20leading"},
		{"tab\there", "tab%09here"},
		{"nl\n", "nl%0A"},
		{"nul\x00", "nul%00"},
		{"del\x7f", "del%7F"},
		{"bad\xffutf8", "bad%FFutf8"},
		{"zero\u200bwidth", "zero%E2%80%8Bwidth"},
		{"bidi\u202e", "bidi%E2%80%AE"},
		{"nbsp\u00a0x", "nbsp%C2%A0x"},
		{"e\u0301", "e%CC%81"},
		{"CON", "%43ON"},
		{"con", "%63on"},
		{"Nul.txt", "%4Eul.txt"},
		{"COM1", "%43OM1"},
		{"lpt9.x.y", "%6Cpt9.x.y"},
		{"COM¹", "%43OM¹"},
		{"AUX .x", "%41UX .x"},
		{"CONSOLE", "CONSOLE"},
		{"COM10", "COM10"},
		{"", ""},
	}
	for _, c := range cases {
		if got := EscapeName(c.name); got != c.seg {
			t.Errorf("EscapeName(%q) = %q; want %q", c.name, got, c.seg)
		}
		back, err := UnescapeName(c.seg)
		if err != nil || back != c.name {
			t.Errorf("UnescapeName(%q) = %q, %v; want %q", c.seg, back, err, c.name)
		}
	}
}

func TestUnescapeNameRejects(t *testing.T) {
	for _, seg := range []string{
		"a%2fb",  // lower-case hex
		"a%2",    // truncated
		"a%",     // truncated
		"%zz",    // not hex
		"%41BC",  // 'A' needs no escaping
		"a/b",    // must be escaped
		"..",     // must be escaped
		".",      // must be escaped
		"x.",     // trailing dot
		"CON",    // device name
		"nul.js", // device name with extension
		"a:b",    // Windows-illegal
		"a\x00",  // control
		"e\u0301",
	} {
		if name, err := UnescapeName(seg); err == nil {
			t.Errorf("UnescapeName(%q) = %q; want an error", seg, name)
		}
	}
}

// safeSegment checks the promises EscapeName makes about its output.
func safeSegment(t *testing.T, name, seg string) {
	t.Helper()
	if name == "" {
		return
	}
	if seg == "" || seg == "." || seg == ".." {
		t.Fatalf("EscapeName(%q) = %q", name, seg)
	}
	if !utf8.ValidString(seg) {
		t.Fatalf("EscapeName(%q) = %q: invalid UTF-8", name, seg)
	}
	if strings.ContainsAny(seg, "/\\<>:\"|?*") {
		t.Fatalf("EscapeName(%q) = %q: unsafe character", name, seg)
	}
	for _, r := range seg {
		if r < 0x20 || r == 0x7f {
			t.Fatalf("EscapeName(%q) = %q: control character", name, seg)
		}
	}
	if strings.HasSuffix(seg, ".") || strings.HasSuffix(seg, " ") || strings.HasPrefix(seg, ".") {
		t.Fatalf("EscapeName(%q) = %q: leading dot or trailing dot/space", name, seg)
	}
	if isDeviceName(seg) || isDeviceName(seg+".json") {
		t.Fatalf("EscapeName(%q) = %q: Windows device name", name, seg)
	}
	if err := checkPath("x/" + seg); err != nil && len(seg) <= MaxSegment {
		t.Fatalf("EscapeName(%q) = %q: %v", name, seg, err)
	}
}

func FuzzEscape(f *testing.F) {
	for _, s := range []string{"", "OctoFX", "Restart IIS", "a/b", "..", "CON", "con.txt", "100%", "%41", "\xff", "e\u0301", "x.", " ", "COM¹", "\u200b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		seg := EscapeName(name)
		back, err := UnescapeName(seg)
		if err != nil || back != name {
			t.Fatalf("round trip of %q via %q gave %q, %v", name, seg, back, err)
		}
		safeSegment(t, name, seg)
		// Any segment UnescapeName accepts is EscapeName's image.
		if n, err := UnescapeName(name); err == nil && EscapeName(n) != name {
			t.Fatalf("UnescapeName(%q) = %q, which escapes to %q", name, n, EscapeName(n))
		}
	})
}

func TestFoldKey(t *testing.T) {
	same := [][2]string{{"OctoFX", "octofx"}, {"ZÜRICH", "zürich"}, {"Σ", "ς"}, {"K", "\u212a"}}
	for _, p := range same {
		if foldKey(p[0]) != foldKey(p[1]) {
			t.Errorf("foldKey(%q) != foldKey(%q)", p[0], p[1])
		}
	}
	if foldKey("a") == foldKey("b") {
		t.Error("foldKey(a) == foldKey(b)")
	}
}

func TestCheckPath(t *testing.T) {
	for _, p := range []string{"", "/etc/x", "../x", "a/../x", "a/./x", "a//x", `a\x`, "C:/x", "a\x00", "a/", strings.Repeat("x", 256)} {
		if checkPath(p) == nil {
			t.Errorf("checkPath(%q) accepted", p)
		}
	}
	for _, p := range []string{"manifest.json", "projects/Restart IIS/x.json", "a%2Fb.json"} {
		if err := checkPath(p); err != nil {
			t.Errorf("checkPath(%q): %v", p, err)
		}
	}
}
