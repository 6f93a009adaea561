package main

import (
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/octobundle/octobundle/tools/octosim"
	"github.com/rogpeppe/go-internal/testscript"
)

// sampleSecrets returns the values the secret-leak script must never find:
// the simulators' API key and every sensitive value of the sample
// instances (sensitive variables' values, and the NewValue of every secret
// an account, feed or certificate holds). It fails the script when there
// are suspiciously few, so the check cannot pass by finding nothing to look
// for.
func sampleSecrets(ts *testscript.TestScript, root string) []string {
	set := map[string]bool{octosim.DefaultAPIKey: true}
	for _, seed := range []string{"source.json", "destination.json"} {
		data, err := os.ReadFile(filepath.Join(root, "testdata", "instances", seed))
		ts.Check(err)
		var doc any
		ts.Check(json.Unmarshal(data, &doc))
		collectSecrets(doc, set)
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	if len(out) < 20 {
		ts.Fatalf("only %d secret values in the sample instances: the seeds changed shape", len(out))
	}
	return out
}

func collectSecrets(v any, set map[string]bool) {
	switch t := v.(type) {
	case map[string]any:
		sensitive := t["IsSensitive"] == true || t["Type"] == "Sensitive"
		if s, ok := t["Value"].(string); ok && sensitive && len(s) >= 6 {
			set[s] = true
		}
		if s, ok := t["NewValue"].(string); ok && t["HasValue"] == true && len(s) >= 6 {
			set[s] = true
		}
		for _, c := range t {
			collectSecrets(c, set)
		}
	case []any:
		for _, c := range t {
			collectSecrets(c, set)
		}
	}
}

// findSecrets looks for every secret, as written and as JSON- and
// URL-escaped, in the last command's stdout and stderr and in every file
// below $WORK, decompressing .tar.zst archives first. It returns one line
// per leak: where, and which secret (by its first characters only).
func findSecrets(ts *testscript.TestScript, secrets []string) []string {
	type form struct{ secret, text string }
	var forms []form
	for _, s := range secrets {
		j, _ := json.Marshal(s)
		for _, f := range []string{s, string(j[1 : len(j)-1]), url.QueryEscape(s), url.PathEscape(s)} {
			forms = append(forms, form{s, f})
		}
	}
	var leaks []string
	check := func(where string, data []byte) {
		for _, f := range forms {
			if bytes.Contains(data, []byte(f.text)) {
				leaks = append(leaks, where+": "+f.secret[:4]+"…")
			}
		}
	}
	check("stdout", []byte(ts.ReadFile("stdout")))
	check("stderr", []byte(ts.ReadFile("stderr")))
	work := ts.Getenv("WORK")
	files := 0
	err := filepath.WalkDir(work, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(work, p)
		files++
		check(rel, data)
		if strings.HasSuffix(p, ".tar.zst") {
			zr, err := zstd.NewReader(bytes.NewReader(data))
			if err != nil {
				return err
			}
			plain, err := io.ReadAll(zr)
			zr.Close()
			if err != nil {
				return err
			}
			check(rel+" (decompressed)", plain)
		}
		return nil
	})
	ts.Check(err)
	ts.Logf("scanned stdout, stderr and %d files for %d values", files, len(secrets))
	return leaks
}
