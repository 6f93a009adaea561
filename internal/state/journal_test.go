package state

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/octobundle/octobundle/bundles"
)

// sampleFrames is a journal of one record of each kind, and the offsets
// where each record starts (and, last, where the journal ends).
func sampleFrames() ([]byte, []int) {
	recs := []entry{
		{op: opRecord, path: "environments/A.json", base: []byte(`{"Name":"A"}`), written: []byte(`{"Name":"A","Id":"x"}`)},
		{op: opID, path: "environments/A.json", id: "Environments-1"},
		{op: opRecord, path: "environments/B.json", base: []byte(`{"Name":"B"}`)},
		{op: opForget, path: "environments/B.json"},
		{op: opRecord, path: "projects/P/project.json", base: []byte(`{"Name":"P"}`), written: []byte{}},
	}
	var data []byte
	var starts []int
	for _, r := range recs {
		starts = append(starts, len(data))
		data = appendFrame(data, r)
	}
	return data, append(starts, len(data))
}

// readAll reads data as a journal, returning its records.
func readAll(data []byte) ([]entry, int64, error) {
	var got []entry
	valid, err := readJournal(data, func(_ int64, e entry) error {
		got = append(got, e)
		return nil
	})
	return got, valid, err
}

// TestJournalTornTail: a journal cut at any byte (a kill or crash while a
// record was written) reads as the records before the cut, with no
// error, and the valid length is where the cut record starts; so does
// one whose last record is damaged, or followed by zero bytes.
func TestJournalTornTail(t *testing.T) {
	data, starts := sampleFrames()
	for cut := 0; cut <= len(data); cut++ {
		got, valid, err := readAll(data[:cut])
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		whole := 0
		for whole+1 < len(starts) && starts[whole+1] <= cut {
			whole++
		}
		if len(got) != whole || valid != int64(starts[whole]) {
			t.Fatalf("cut at %d: %d records, valid %d; want %d, %d", cut, len(got), valid, whole, starts[whole])
		}
	}
	last := starts[len(starts)-2]
	for _, tc := range []struct {
		name string
		data []byte
		want int // records read
	}{
		{"the last record's payload damaged", flip(data, len(data)-1), len(starts) - 2},
		{"the last record's checksum damaged", flip(data, last+5), len(starts) - 2},
		{"the last record zeroed", append(slices.Clone(data[:last]), make([]byte, len(data)-last)...), len(starts) - 2},
		{"zero bytes after the records (a crash after the size grew)", append(slices.Clone(data), make([]byte, 4096)...), len(starts) - 1},
		{"an empty journal", nil, 0},
	} {
		got, _, err := readAll(tc.data)
		if err != nil || len(got) != tc.want {
			t.Errorf("%s: %d records, %v; want %d", tc.name, len(got), err, tc.want)
		}
	}
}

// flip returns a copy of data with the byte at i changed.
func flip(data []byte, i int) []byte {
	c := slices.Clone(data)
	c[i] ^= 0x55
	return c
}

// TestJournalDamage: a damaged record followed by others is not a torn
// tail: an error naming the record and its offset.
func TestJournalDamage(t *testing.T) {
	data, starts := sampleFrames()
	for _, tc := range []struct {
		name   string
		data   []byte
		record int
		want   string
	}{
		{"a payload byte of the second record", flip(data, starts[1]+frameHeader+3), 2, "checksum mismatch"},
		{"the checksum of the first record", flip(data, 6), 1, "checksum mismatch"},
		{"a length of zero in the third record", func() []byte { c := slices.Clone(data); copy(c[starts[2]:], []byte{0, 0, 0, 0}); return c }(), 3, "record length 0"},
		{"a record whose checksum holds but whose fields do not", append(frameOf([]byte("\x02\x01x\x05ab")), data...), 1, "truncated field"},
		{"an unknown operation", append(frameOf([]byte("\x09\x01x")), data...), 1, "unknown operation 9"},
		{"a record with bytes after its fields", append(frameOf([]byte("\x03\x01xyz")), data...), 1, "2 bytes after the record's fields"},
	} {
		_, _, err := readAll(tc.data)
		var je *JournalError
		if !errors.As(err, &je) || je.Record != tc.record || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want record %d: %s", tc.name, err, tc.record, tc.want)
			continue
		}
		if !strings.Contains(tc.name, "fields") && !strings.Contains(tc.name, "operation") && je.Offset != int64(starts[tc.record-1]) {
			t.Errorf("%s: offset %d, want %d", tc.name, je.Offset, starts[tc.record-1])
		}
	}
}

// frameOf frames the payload p as appendFrame does.
func frameOf(p []byte) []byte {
	f := binary.LittleEndian.AppendUint32(nil, uint32(len(p)))
	f = binary.LittleEndian.AppendUint32(f, crc32.Checksum(p, crcTable))
	return append(f, p...)
}

// TestJournalReplay: what the Store API records is, reopened before any
// Finish (the journal replayed over the pack) and after it (the pack
// alone), the same state: later records win, a record without a written
// document keeps the one before, Forget drops the entity and its ID.
func TestJournalReplay(t *testing.T) {
	d := Destination{Server: "https://prod", Space: "Default"}
	a1, a2 := map[string]any{"Name": "A", "SortOrder": 1.0}, map[string]any{"Name": "A", "SortOrder": 2.0}
	aw := map[string]any{"Name": "A", "SortOrder": 1.0, "Description": "as written"}
	b := map[string]any{"Name": "B"}
	p := map[string]any{"Name": "P"}
	type step struct {
		op       string // record, id, forget, finish
		path     string
		base, wr any
		id       string
	}
	steps := []step{
		{op: "record", path: "environments/A.json", base: a1, wr: aw},
		{op: "id", path: "environments/A.json", id: "Environments-1"},
		{op: "record", path: "environments/B.json", base: b, wr: b},
		{op: "id", path: "environments/B.json", id: "Environments-2"},
		{op: "finish"},
		{op: "record", path: "environments/A.json", base: a2}, // written stays aw
		{op: "forget", path: "environments/B.json"},
		{op: "record", path: "projects/P/project.json", base: p, wr: p},
		{op: "id", path: "projects/P/project.json", id: "Projects-1"},
		{op: "forget", path: "projects/P/project.json"},
		{op: "record", path: "projects/P/project.json", base: p},
	}
	wantBase := map[string]any{"environments/A.json": a2, "projects/P/project.json": p}
	wantWritten := map[string]any{"environments/A.json": aw}
	wantIDs := map[string]string{"environments/A.json": "Environments-1"}
	root := t.TempDir()
	st, err := Open(root, d)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		switch s.op {
		case "record":
			err = st.Record(s.path, s.base, s.wr)
		case "id":
			err = st.RecordID(s.path, s.id)
		case "forget":
			err = st.Forget(s.path)
		case "finish":
			err = st.Finish(Applied{Digest: "sha256:1"}, time.Now())
		}
		if err != nil {
			t.Fatalf("%s %s: %v", s.op, s.path, err)
		}
	}
	check := func(when string) string {
		st, err := Open(root, d)
		if err != nil {
			t.Fatal(err)
		}
		base, digest, err := st.Base()
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		written, err := st.Written()
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		ids, err := st.IDs()
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		for name, c := range map[string]struct {
			b    *bundles.Bundle
			want map[string]any
		}{"base": {base, wantBase}, "written": {written, wantWritten}} {
			if got := c.b.Paths(); len(got) != len(c.want) {
				t.Errorf("%s: %s paths %v", when, name, got)
			}
			for p, doc := range c.want {
				if got := docOf(c.b, p); !sameJSON(got, doc) {
					t.Errorf("%s: %s %s = %v, want %v", when, name, p, got, doc)
				}
			}
		}
		if fmt.Sprint(ids) != fmt.Sprint(wantIDs) {
			t.Errorf("%s: ids %v, want %v", when, ids, wantIDs)
		}
		return digest
	}
	before := check("replayed")
	if err := st.Finish(Applied{Digest: "sha256:2"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if after := check("packed"); after != before {
		t.Errorf("the base digest changed with compaction: %s, %s", before, after)
	}
	if fi, err := os.Stat(filepath.Join(st.Dir(), JournalFile)); err != nil || fi.Size() != 0 {
		t.Errorf("the journal after Finish: %v %v", fi, err)
	}
	ents, _ := os.ReadDir(st.Dir())
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if got := strings.Join(names, " "); got != "journal state.json state.pack" {
		t.Errorf("the state folder holds %s", got)
	}
}

// docOf is the document at p of b (nil: none).
func docOf(b *bundles.Bundle, p string) any {
	if b == nil {
		return nil
	}
	raw, ok := b.Raw(p)
	if !ok {
		return nil
	}
	doc, err := bundles.Decode(raw)
	if err != nil {
		return nil
	}
	return doc
}

// sameJSON compares two documents as canonical JSON.
func sameJSON(a, b any) bool {
	x, err1 := bundles.Canonical(a)
	y, err2 := bundles.Canonical(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// TestReplayWritesNothing: recording what the state holds already (a
// replay of the same bundle) appends no record, so Finish writes no pack.
func TestReplayWritesNothing(t *testing.T) {
	root := t.TempDir()
	d := Destination{Server: "https://prod", Space: "Default"}
	st, _ := Open(root, d)
	env := map[string]any{"Name": "E"}
	for range 2 {
		if err := st.Record("environments/E.json", env, env); err != nil {
			t.Fatal(err)
		}
		if err := st.RecordID("environments/E.json", "Environments-1"); err != nil {
			t.Fatal(err)
		}
		if err := st.Finish(Applied{Digest: "sha256:1"}, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	pack, _ := os.Stat(filepath.Join(st.Dir(), PackFile))
	st, _ = Open(root, d)
	if err := st.Record("environments/E.json", env, env); err != nil {
		t.Fatal(err)
	}
	if err := st.RecordID("environments/E.json", "Environments-1"); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(st.Dir(), JournalFile)); err != nil || fi.Size() != 0 {
		t.Errorf("a replay appended to the journal: %v %v", fi, err)
	}
	if err := st.Finish(Applied{Digest: "sha256:1"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.Stat(filepath.Join(st.Dir(), PackFile)); !os.SameFile(pack, again) {
		t.Error("a replay rewrote the pack")
	}
}

// TestDamagedStateErrors: a damaged journal or pack is an error naming
// the file, where in it, and the fix; a torn journal tail is not, and the
// next record cuts it.
func TestDamagedStateErrors(t *testing.T) {
	d := Destination{Server: "https://prod", Space: "Default"}
	setup := func(t *testing.T) *Store {
		root := t.TempDir()
		st, _ := Open(root, d)
		for i := range 3 {
			env := map[string]any{"Name": fmt.Sprintf("E%d", i)}
			if err := st.Record(fmt.Sprintf("environments/E%d.json", i), env, env); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.Finish(Applied{Digest: "sha256:1"}, time.Now()); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			env := map[string]any{"Name": fmt.Sprintf("F%d", i)}
			if err := st.Record(fmt.Sprintf("environments/F%d.json", i), env, env); err != nil {
				t.Fatal(err)
			}
		}
		return st
	}
	edit := func(t *testing.T, path string, fn func([]byte) []byte) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, fn(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("a journal record damaged", func(t *testing.T) {
		st := setup(t)
		jf := filepath.Join(st.Dir(), JournalFile)
		edit(t, jf, func(b []byte) []byte { b[frameHeader+2] ^= 1; return b })
		st2, _ := Open(filepath.Dir(filepath.Dir(st.Dir())), d)
		_, _, err := st2.Base()
		for _, w := range []string{jf, "record 1 at byte offset 0", "checksum mismatch", "remove it"} {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("error %v\ndoes not say %q", err, w)
			}
		}
	})
	t.Run("the pack damaged", func(t *testing.T) {
		st := setup(t)
		pf := filepath.Join(st.Dir(), PackFile)
		edit(t, pf, func(b []byte) []byte { b[len(b)/2] ^= 1; return b })
		st2, _ := Open(filepath.Dir(filepath.Dir(st.Dir())), d)
		_, _, err := st2.Base()
		for _, w := range []string{pf, "damaged", "remove the destination's state folder"} {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("error %v\ndoes not say %q", err, w)
			}
		}
	})
	t.Run("the journal torn, then recorded to", func(t *testing.T) {
		st := setup(t)
		jf := filepath.Join(st.Dir(), JournalFile)
		edit(t, jf, func(b []byte) []byte { return b[:len(b)-3] })
		st2, _ := Open(filepath.Dir(filepath.Dir(st.Dir())), d)
		b, _, err := st2.Base()
		if err != nil || len(b.Paths()) != 5 {
			t.Fatalf("torn: %v %v", b.Paths(), err)
		}
		if err := st2.Record("environments/G.json", map[string]any{"Name": "G"}, nil); err != nil {
			t.Fatal(err)
		}
		st3, _ := Open(filepath.Dir(filepath.Dir(st.Dir())), d)
		b, _, err = st3.Base()
		if err != nil || len(b.Paths()) != 6 {
			t.Fatalf("after the next record: %v %v", b.Paths(), err)
		}
	})
	t.Run("a secret in the journal", func(t *testing.T) {
		st := setup(t)
		f, err := os.OpenFile(filepath.Join(st.Dir(), JournalFile), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = f.Write(appendFrame(nil, entry{op: opRecord, path: "accounts/A.json", base: []byte(`{"Name":"A","Password":{"HasValue":true,"NewValue":"hunter2"}}`)}))
		f.Close()
		st2, _ := Open(filepath.Dir(filepath.Dir(st.Dir())), d)
		if _, _, err := st2.Base(); err == nil || !strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error %v", err)
		}
	})
}

// TestMigrateLayout: a state folder in the layout before v3 (one file per
// entity under base/ and written/, a v2 manifest, a temporary file a kill
// left) is read with the same base digest, written as a pack by the next
// Finish, which removes those files and only those.
func TestMigrateLayout(t *testing.T) {
	root := t.TempDir()
	d := Destination{Server: "https://prod", InstallationID: "inst", Space: "Default"}
	st, _ := Open(root, d)
	dir := st.Dir()
	files := map[string]any{
		"base/environments/Production.json":    map[string]any{"Name": "Production"},
		"written/environments/Production.json": map[string]any{"Name": "Production", "Description": ""},
		"base/projects/OctoFX/project.json":    map[string]any{"Name": "OctoFX"},
		"written/environments/Test.json":       map[string]any{"Name": "Test"}, // a kill between the two writes
	}
	var lines []string
	for rel, doc := range files {
		data, err := bundles.Canonical(doc)
		if err != nil {
			t.Fatal(err)
		}
		full := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(full), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if p, ok := strings.CutPrefix(rel, "base/"); ok {
			sum := sha256.Sum256(data)
			lines = append(lines, fmt.Sprintf("%x  %s\n", sum, p))
		}
	}
	slices.Sort(lines)
	oldDigest := fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(strings.Join(lines, ""))))
	tmp := filepath.Join(dir, "base", "environments", ".tmp-123")
	if err := os.WriteFile(tmp, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	mine := filepath.Join(dir, "notes.txt") // not the state's: stays
	if err := os.WriteFile(mine, []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	v2 := `{"format": "octobundle-state/v2", "destination": {"server": "https://prod", "installationId": "inst", "space": "Default"}, "ids": {"environments/Production.json": "Environments-1"}}`
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), []byte(v2), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := Open(root, d)
	if err != nil {
		t.Fatal(err)
	}
	b, digest, err := st.Base()
	if err != nil || digest != oldDigest || len(b.Paths()) != 2 {
		t.Fatalf("old layout: %v %v, digest %s want %s", b, err, digest, oldDigest)
	}
	prodW, _ := bundles.Canonical(files["written/environments/Production.json"])
	if sum := sha256.Sum256(prodW); !st.HasWritten("environments/Production.json", sum[:]) {
		t.Error("the old layout's written document is not found")
	}
	// This apply forgets OctoFX and records one more.
	if err := st.Forget("projects/OctoFX/project.json"); err != nil {
		t.Fatal(err)
	}
	if err := st.Record("environments/Dev.json", map[string]any{"Name": "Dev"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.Finish(Applied{Digest: "sha256:1"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{"base", "written"} {
		if _, err := os.Stat(filepath.Join(dir, gone)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s/ stays after the migration: %v", gone, err)
		}
	}
	if _, err := os.Stat(mine); err != nil {
		t.Errorf("a file the state did not write was removed: %v", err)
	}
	st, _ = Open(root, d)
	m, _ := st.Manifest()
	if m.Format != Format || m.IDs["environments/Production.json"] != "Environments-1" {
		t.Errorf("manifest %+v", m)
	}
	b, _, err = st.Base()
	if err != nil || strings.Join(b.Paths(), " ") != "environments/Dev.json environments/Production.json" {
		t.Errorf("migrated base: %v %v", b.Paths(), err)
	}
	w, err := st.Written()
	if err != nil || strings.Join(w.Paths(), " ") != "environments/Production.json environments/Test.json" {
		t.Errorf("migrated written: %v %v", w.Paths(), err)
	}
}

// TestGroupCommit: recording 20,000 entities and finishing makes a
// handful of fsyncs (group commits and Finish's), not two per entity.
func TestGroupCommit(t *testing.T) {
	n := 20000
	if testing.Short() {
		n = 5000
	}
	st, _ := Open(t.TempDir(), Destination{Server: "https://prod", Space: "Default"})
	before := fsyncs.Load()
	start := time.Now()
	recordMany(t, st, n, 0)
	if err := st.Finish(Applied{Digest: "sha256:1"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	got := fsyncs.Load() - before
	limit := int64(2*n/syncRecords+int(time.Since(start)/syncEvery)) + 8
	t.Logf("%d entities: %d fsyncs in %v", n, got, time.Since(start).Round(time.Millisecond))
	if got > limit {
		t.Errorf("%d fsyncs for %d entities, want at most %d", got, n, limit)
	}
}

// recordMany records n environments (their base, written document and ID)
// of round r.
func recordMany(tb testing.TB, st *Store, n, r int) {
	tb.Helper()
	for i := range n {
		p := fmt.Sprintf("environments/E%05d.json", i)
		doc := map[string]any{"Name": fmt.Sprintf("E%05d", i), "Description": strings.Repeat("an environment of the benchmark ", 8), "SortOrder": float64(r)}
		if err := st.Record(p, doc, doc); err != nil {
			tb.Fatal(err)
		}
		if err := st.RecordID(p, fmt.Sprintf("Environments-%d", i+1)); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkRecordFinish records 20,000 entities and finishes, reporting
// the fsyncs and the state folder's size.
func BenchmarkRecordFinish(b *testing.B) {
	const n = 20000
	for i := range b.N {
		b.StopTimer()
		st, _ := Open(b.TempDir(), Destination{Server: "https://prod", Space: "Default"})
		before := fsyncs.Load()
		b.StartTimer()
		recordMany(b, st, n, i)
		if err := st.Finish(Applied{Digest: "sha256:1"}, time.Now()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		b.ReportMetric(float64(fsyncs.Load()-before), "fsyncs/op")
		var size int64
		_ = filepath.Walk(st.Dir(), func(_ string, fi os.FileInfo, err error) error {
			if err == nil && !fi.IsDir() {
				size += fi.Size()
			}
			return nil
		})
		b.ReportMetric(float64(size), "state-bytes/op")
		b.StartTimer()
	}
}

// recordChildEnv makes the test binary a recorder (see TestMain): it
// records rounds of entities into the state root the variable names,
// finishing each round and printing "finished R", until it is killed.
const recordChildEnv = "OCTOBUNDLE_TEST_RECORD_CHILD"

// recordChild is the recorder of TestKillWhileRecording.
func recordChild(root string) int {
	for r := 1; ; r++ {
		st, err := Open(root, Destination{Server: "https://kill.example", Space: "Default"})
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		for i := range 100 {
			p := fmt.Sprintf("environments/E%03d.json", i)
			doc := map[string]any{"Name": fmt.Sprintf("E%03d", i), "SortOrder": float64(r)}
			w := map[string]any{"Name": fmt.Sprintf("E%03d", i), "SortOrder": float64(r), "Description": "written"}
			if err := st.Record(p, doc, w); err != nil {
				fmt.Println("error", err)
				return 1
			}
			if err := st.RecordID(p, fmt.Sprintf("Environments-%d", r)); err != nil {
				fmt.Println("error", err)
				return 1
			}
			if i%7 == r%7 {
				if err := st.Forget(p); err != nil {
					fmt.Println("error", err)
					return 1
				}
			}
		}
		if err := st.Finish(Applied{Digest: fmt.Sprintf("sha256:%d", r)}, time.Now()); err != nil {
			fmt.Println("error", err)
			return 1
		}
		fmt.Println("finished", r)
	}
}

// TestKillWhileRecording kills a process recording into a state at
// random points (while it appends, group-commits, packs, writes the
// manifest, empties the journal): every time, the state opens, reads
// without error, and holds for each entity a base and written document of
// one round, no older than the last round that finished; the next
// records and Finish then succeed.
func TestKillWhileRecording(t *testing.T) {
	kills := 30
	if testing.Short() {
		kills = 8
	}
	exe := racerBinary(t)
	root := t.TempDir()
	d := Destination{Server: "https://kill.example", Space: "Default"}
	for k := range kills {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), recordChildEnv+"="+root)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(5+k*53%500) * time.Millisecond)
		_ = cmd.Process.Kill()
		lines := readLines(out)
		_ = cmd.Wait()
		finished := 0
		for _, l := range lines {
			if strings.HasPrefix(l, "error") {
				t.Fatalf("kill %d: the recorder failed: %s", k, l)
			}
			_, _ = fmt.Sscanf(l, "finished %d", &finished)
		}
		st, err := Open(root, d)
		if err != nil {
			t.Fatalf("kill %d: %v", k, err)
		}
		base, _, err := st.Base()
		if err != nil {
			t.Fatalf("kill %d: %v", k, err)
		}
		written, err := st.Written()
		if err != nil {
			t.Fatalf("kill %d: %v", k, err)
		}
		if base == nil {
			continue // killed before the first record
		}
		for _, p := range base.Paths() {
			round := roundOf(docOf(base, p))
			wd := docOf(written, p)
			if wd == nil || roundOf(wd) != round {
				t.Fatalf("kill %d: %s: base of round %v, written %v", k, p, round, wd)
			}
			if round < finished {
				t.Fatalf("kill %d: %s: base of round %v, but round %d finished", k, p, round, finished)
			}
		}
		t.Logf("kill %d: after round %d finished, %d entities", k, finished, len(base.Paths()))
	}
	// The state the last kill left takes records and a Finish.
	st, _ := Open(root, d)
	recordMany(t, st, 10, 99)
	if err := st.Finish(Applied{Digest: "sha256:x"}, time.Now()); err != nil {
		t.Fatal(err)
	}
}

// roundOf is the round a recorder's document records (its SortOrder).
func roundOf(doc any) int {
	n, _ := strconv.Atoi(fmt.Sprint(doc.(map[string]any)["SortOrder"]))
	return n
}

// readLines reads what a child printed until it died.
func readLines(r interface{ Read([]byte) (int, error) }) []string {
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(r)
	return strings.Split(strings.TrimSpace(buf.String()), "\n")
}
