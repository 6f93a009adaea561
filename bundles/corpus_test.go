package bundles

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/octobundle/octobundle/schema"
)

var update = flag.Bool("update", false, "regenerate the corpus in testdata/bundles")

const corpusDir = "../testdata/bundles"

// corpus lists every item of testdata/bundles and what reading it must give:
// "" for a good bundle, otherwise substrings of the error (the item's own
// name is always required too).
var corpus = map[string][]string{
	"good_dir":             nil,
	"good_archive.tar.zst": nil,

	"fail_checksum_mismatch":  {"environments/Production.json: checksum mismatch"},
	"fail_digest_mismatch":    {"checksums.txt: its sha256 is", "manifest's Digest"},
	"fail_unknown_format":     {`manifest.json: unsupported format version "octobundle/v9"`},
	"fail_schema_invalid":     {"lifecycles/Default.json: does not match lifecycle.schema.json", "/Phases/0/OptionalDeploymentTargets"},
	"fail_id_reference":       {"lifecycles/Default.json: not ID-free", "/Phases/0/AutomaticDeploymentTargets/0", `"Environments-1"`},
	"fail_unknown_file":       {"notes.txt: unknown file"},
	"fail_missing_manifest":   {"missing manifest.json"},
	"fail_missing_checksums":  {"missing checksums.txt"},
	"fail_missing_file":       {"environments/Dev.json: listed in checksums.txt but missing"},
	"fail_unlisted_file":      {"environments/Extra.json: not listed in checksums.txt"},
	"fail_not_canonical":      {"environments/Dev.json: not in canonical form"},
	"fail_name_mismatch":      {`environments/Dev.json: Name is "Development" but the file name says "Dev"`},
	"fail_counts":             {"manifest.json: Counts says 5 environments, the bundle has 3"},
	"fail_bad_escape":         {"environments/a%2fb.json", "bad %-escape"},
	"fail_manifest_invalid":   {"manifest.json: does not match manifest.schema.json", "/Source"},
	"fail_checksums_unsorted": {"checksums.txt: line 2", "out of order"},

	"fail_truncated.tar.zst":         {"truncated archive"},
	"fail_dotdot.tar.zst":            {`entry "../x"`, "escapes the bundle"},
	"fail_dotdot_inner.tar.zst":      {`entry "environments/../../x.json"`, "escapes the bundle"},
	"fail_absolute.tar.zst":          {`entry "/etc/x"`, "is absolute"},
	"fail_symlink.tar.zst":           {`entry "environments/Evil.json"`, "symbolic link", "/etc/passwd"},
	"fail_hardlink.tar.zst":          {`entry "environments/Evil.json"`, "hard link"},
	"fail_device.tar.zst":            {`entry "environments/Evil.json": character device`, "regular files only"},
	"fail_bomb.tar.zst":              {"possible decompression bomb"},
	"fail_duplicate.tar.zst":         {`entry "environments/Dev.json": duplicate entry`},
	"fail_case_collision.tar.zst":    {`entry "environments/dev.json": collides with "environments/Dev.json"`},
	"fail_not_zstd.tar.zst":          {"not a zstd-compressed archive"},
	"fail_trailing_data.tar.zst":     {"data after the end of the tar archive"},
	"fail_checksum_mismatch.tar.zst": {"environments/Production.json: checksum mismatch"},
	"fail_unknown_format.tar.zst":    {`unsupported format version "octobundle/v9"`},
}

func TestCorpus(t *testing.T) {
	if *update {
		generateCorpus(t)
	}
	entries, err := os.ReadDir(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		want, ok := corpus[name]
		if !ok {
			t.Errorf("%s: corpus item without an expectation", name)
			continue
		}
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(corpusDir, name)
			_, err := Read(path, ReadOptions{})
			check(t, "Read", path, err, want)
			// Converting never writes outside the target, and nothing at
			// all on failure.
			tmp := t.TempDir()
			sub := filepath.Join(tmp, "sub")
			os.Mkdir(sub, 0o755)
			var out string
			if IsArchive(name) {
				out = filepath.Join(sub, "out")
				err = Unpack(path, out)
				check(t, "Unpack", path, err, want)
			} else {
				out = filepath.Join(sub, "out.tar.zst")
				err = Pack(path, out)
				check(t, "Pack", path, err, want)
			}
			if top, _ := os.ReadDir(tmp); len(top) != 1 || top[0].Name() != "sub" {
				t.Errorf("written outside the target directory: %v", top)
			}
			inner, _ := os.ReadDir(sub)
			switch {
			case want == nil && (len(inner) != 1 || inner[0].Name() != filepath.Base(out)):
				t.Errorf("after success %s holds %v", sub, inner)
			case want != nil && len(inner) != 0:
				t.Errorf("after failure %s holds %v", sub, inner)
			}
			if want == nil {
				if _, err := Read(out, ReadOptions{}); err != nil {
					t.Errorf("converted bundle: %v", err)
				}
			}
		})
	}
	for name := range corpus {
		if !seen[name] {
			t.Errorf("%s: missing from %s (run go test ./bundles -run TestCorpus -update)", name, corpusDir)
		}
	}
	if _, err := os.Stat("/etc/x"); err == nil {
		t.Error("/etc/x exists")
	}
}

func check(t *testing.T, op, path string, err error, want []string) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Errorf("%s: %v", op, err)
		}
		return
	}
	if err == nil {
		t.Errorf("%s succeeded; want an error mentioning %q", op, want)
		return
	}
	for _, w := range append([]string{path}, want...) {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s error %q does not mention %q", op, err, w)
		}
	}
}

// --- corpus generation -----------------------------------------------------

// goodFiles returns the files of the small good bundle.
func goodFiles(t *testing.T) map[string][]byte {
	b := New(Manifest{
		ToolVersion: "corpus",
		Source:      Source{Server: "https://octopus.example.com", ServerVersion: "2024.1.1", Space: "Default"},
		ExportedAt:  time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC),
	})
	for _, e := range []entity{
		{schema.Environment, []string{"Dev"}, `{"Name":"Dev","SortOrder":1,"Description":"<dev> & test"}`},
		{schema.Environment, []string{"Production"}, `{"Name":"Production","SortOrder":2,"Weight":1.0}`},
		{schema.Environment, []string{"Test: A/B"}, `{"Name":"Test: A/B","SortOrder":3}`},
		{schema.Lifecycle, []string{"Default"}, `{"Name":"Default","Phases":[{"Name":"Dev","AutomaticDeploymentTargets":["Dev"],"OptionalDeploymentTargets":[]},{"Name":"Production","AutomaticDeploymentTargets":[],"OptionalDeploymentTargets":["Production"]}]}`},
		{schema.Project, []string{"OctoFX"}, `{"Name":"OctoFX","LifecycleId":"Default"}`},
		{schema.Runbook, []string{"OctoFX", "Restart IIS"}, `{"Name":"Restart IIS","Environments":["Production"]}`},
		{schema.RunbookProcess, []string{"OctoFX", "Restart IIS"}, `{"Steps":[{"Name":"Restart","Actions":[{"Name":"Restart","ActionType":"Octopus.Script","Environments":["Production"]}]}]}`},
	} {
		doc, err := Decode([]byte(e.doc))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.PutEntity(schema.MustLookup(e.kind), e.names, doc); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := b.snapshot()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range raw {
		if out[f.path], err = f.bytes(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// reseal recomputes checksums.txt and the manifest's Digest (and, unless
// keepCounts, Counts) for arbitrary files, valid or not.
func reseal(t *testing.T, files map[string][]byte, keepCounts bool) map[string][]byte {
	var paths []string
	counts := map[string]any{}
	for p := range files {
		if p == ManifestFile || p == ChecksumsFile || p == SignatureFile {
			continue
		}
		paths = append(paths, p)
		if k, _ := schema.KindForPath(p); k != nil {
			n, _ := counts[k.Name].(int)
			counts[k.Name] = n + 1
		}
	}
	sort.Strings(paths)
	var sums bytes.Buffer
	for _, p := range paths {
		h := sha256.Sum256(files[p])
		fmt.Fprintf(&sums, "%s  %s\n", hex.EncodeToString(h[:]), p)
	}
	files[ChecksumsFile] = sums.Bytes()
	if raw, ok := files[ManifestFile]; ok {
		m, err := Decode(raw)
		if err != nil {
			t.Fatal(err)
		}
		d := sha256.Sum256(sums.Bytes())
		m.(map[string]any)["Digest"] = "sha256:" + hex.EncodeToString(d[:])
		if !keepCounts {
			m.(map[string]any)["Counts"] = counts
		}
		files[ManifestFile], err = Canonical(m)
		if err != nil {
			t.Fatal(err)
		}
	}
	return files
}

func clone(files map[string][]byte) map[string][]byte {
	out := map[string][]byte{}
	for k, v := range files {
		out[k] = append([]byte(nil), v...)
	}
	return out
}

func canon(t *testing.T, s string) []byte {
	d, err := Decode([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	data, err := Canonical(d)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// editManifest changes one manifest field without resealing.
func editManifest(t *testing.T, files map[string][]byte, key string, v any) {
	m, _ := Decode(files[ManifestFile])
	m.(map[string]any)[key] = v
	files[ManifestFile], _ = Canonical(m)
}

type tarEntry struct {
	hdr  tar.Header
	data []byte
}

func regular(files map[string][]byte) []tarEntry {
	var paths []string
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var out []tarEntry
	for _, p := range paths {
		out = append(out, tarEntry{tar.Header{Typeflag: tar.TypeReg, Name: p, Size: int64(len(files[p])), Mode: 0o644, ModTime: epoch, Format: tar.FormatPAX}, files[p]})
	}
	return out
}

func tarBytes(t *testing.T, entries []tarEntry) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.hdr
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatalf("%s: %v", h.Name, err)
		}
		if _, err := tw.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zst(t *testing.T, data []byte) []byte {
	var buf bytes.Buffer
	zw, err := zstd.NewWriter(&buf, zstd.WithEncoderLevel(zstdLevel), zstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	zw.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeFiles(t *testing.T, dir string, files map[string][]byte) {
	for p, data := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func generateCorpus(t *testing.T) {
	entries, _ := os.ReadDir(corpusDir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "good_") || strings.HasPrefix(e.Name(), "fail_") {
			os.RemoveAll(filepath.Join(corpusDir, e.Name()))
		}
	}
	os.MkdirAll(corpusDir, 0o755)
	good := goodFiles(t)
	dirs := map[string]map[string][]byte{"good_dir": good}

	f := clone(good)
	f["environments/Production.json"] = canon(t, `{"Name":"Production","SortOrder":2,"Weight":1.0,"UseGuidedFailure":true}`)
	dirs["fail_checksum_mismatch"] = f

	f = clone(good)
	editManifest(t, f, "Digest", "sha256:"+strings.Repeat("0", 64))
	dirs["fail_digest_mismatch"] = f

	f = clone(good)
	editManifest(t, f, "Format", "octobundle/v9")
	dirs["fail_unknown_format"] = f

	f = clone(good)
	f["lifecycles/Default.json"] = canon(t, `{"Name":"Default","Phases":[{"Name":"Dev","AutomaticDeploymentTargets":["Dev"],"OptionalDeploymentTargets":"Production"}]}`)
	dirs["fail_schema_invalid"] = reseal(t, f, false)

	f = clone(good)
	f["lifecycles/Default.json"] = canon(t, `{"Name":"Default","Phases":[{"Name":"Dev","AutomaticDeploymentTargets":["Environments-1"],"OptionalDeploymentTargets":[]}]}`)
	dirs["fail_id_reference"] = reseal(t, f, false)

	f = clone(good)
	f["notes.txt"] = []byte("hello\n")
	dirs["fail_unknown_file"] = reseal(t, f, false)

	f = clone(good)
	delete(f, ManifestFile)
	dirs["fail_missing_manifest"] = f

	f = clone(good)
	delete(f, ChecksumsFile)
	dirs["fail_missing_checksums"] = f

	f = clone(good)
	delete(f, "environments/Dev.json")
	dirs["fail_missing_file"] = f

	f = clone(good)
	f["environments/Extra.json"] = canon(t, `{"Name":"Extra"}`)
	dirs["fail_unlisted_file"] = f

	f = clone(good)
	f["environments/Dev.json"] = []byte("{\n    \"Name\": \"Dev\"\n}\n")
	dirs["fail_not_canonical"] = reseal(t, f, false)

	f = clone(good)
	f["environments/Dev.json"] = canon(t, `{"Name":"Development"}`)
	dirs["fail_name_mismatch"] = reseal(t, f, false)

	f = clone(good)
	m, _ := Decode(f[ManifestFile])
	m.(map[string]any)["Counts"].(map[string]any)["Environment"] = 5
	f[ManifestFile], _ = Canonical(m)
	dirs["fail_counts"] = reseal(t, f, true)

	f = clone(good)
	f["environments/a%2fb.json"] = canon(t, `{"Name":"a/b"}`)
	dirs["fail_bad_escape"] = reseal(t, f, false)

	f = clone(good)
	editManifest(t, f, "Source", map[string]any{"Server": "https://admin:hunter2@octopus.example.com", "ServerVersion": "2024.1.1", "Space": "Default"})
	dirs["fail_manifest_invalid"] = f

	f = clone(good)
	lines := strings.SplitAfter(string(f[ChecksumsFile]), "\n")
	lines[0], lines[1] = lines[1], lines[0]
	f[ChecksumsFile] = []byte(strings.Join(lines, ""))
	d := sha256.Sum256(f[ChecksumsFile])
	editManifest(t, f, "Digest", "sha256:"+hex.EncodeToString(d[:]))
	dirs["fail_checksums_unsorted"] = f

	for name, files := range dirs {
		writeFiles(t, filepath.Join(corpusDir, name), files)
	}

	goodTar := tarBytes(t, regular(good))
	goodArc := zst(t, goodTar)
	withEntry := func(e tarEntry) []byte {
		return zst(t, tarBytes(t, append(regular(good), e)))
	}
	hdr := func(typ byte, name, link string) tar.Header {
		return tar.Header{Typeflag: typ, Name: name, Linkname: link, Mode: 0o644, ModTime: epoch, Format: tar.FormatPAX}
	}
	var bomb []tarEntry
	zeros := make([]byte, 4<<20)
	for i := 0; i < 12; i++ {
		bomb = append(bomb, tarEntry{hdr(tar.TypeReg, fmt.Sprintf("environments/Bomb%02d.json", i), ""), zeros})
	}
	mismatch := clone(good)
	mismatch["environments/Production.json"] = canon(t, `{"Name":"Production","SortOrder":99}`)
	unknownFormat := clone(good)
	editManifest(t, unknownFormat, "Format", "octobundle/v9")
	archives := map[string][]byte{
		"good_archive.tar.zst":           goodArc,
		"fail_truncated.tar.zst":         goodArc[:len(goodArc)*2/3],
		"fail_dotdot.tar.zst":            withEntry(tarEntry{hdr(tar.TypeReg, "../x", ""), []byte("x")}),
		"fail_dotdot_inner.tar.zst":      withEntry(tarEntry{hdr(tar.TypeReg, "environments/../../x.json", ""), []byte("x")}),
		"fail_absolute.tar.zst":          withEntry(tarEntry{hdr(tar.TypeReg, "/etc/x", ""), []byte("x")}),
		"fail_symlink.tar.zst":           withEntry(tarEntry{hdr(tar.TypeSymlink, "environments/Evil.json", "/etc/passwd"), nil}),
		"fail_hardlink.tar.zst":          withEntry(tarEntry{hdr(tar.TypeLink, "environments/Evil.json", "environments/Dev.json"), nil}),
		"fail_device.tar.zst":            withEntry(tarEntry{hdr(tar.TypeChar, "environments/Evil.json", ""), nil}),
		"fail_bomb.tar.zst":              zst(t, tarBytes(t, append(regular(good), bomb...))),
		"fail_duplicate.tar.zst":         withEntry(tarEntry{hdr(tar.TypeReg, "environments/Dev.json", ""), good["environments/Dev.json"]}),
		"fail_case_collision.tar.zst":    withEntry(tarEntry{hdr(tar.TypeReg, "environments/dev.json", ""), good["environments/Dev.json"]}),
		"fail_not_zstd.tar.zst":          goodTar,
		"fail_trailing_data.tar.zst":     zst(t, append(append([]byte(nil), goodTar...), "hidden payload"...)),
		"fail_checksum_mismatch.tar.zst": zst(t, tarBytes(t, regular(mismatch))),
		"fail_unknown_format.tar.zst":    zst(t, tarBytes(t, regular(unknownFormat))),
	}
	for name, data := range archives {
		if len(data) > 16<<10 {
			t.Fatalf("%s is %d bytes; keep corpus items small", name, len(data))
		}
		if err := os.WriteFile(filepath.Join(corpusDir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
