package bundles

import (
	"bytes"
	"fmt"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/octobundle/octobundle/internal/jsonv"
	"github.com/octobundle/octobundle/schema"
)

// FormatV2 is FormatV1 plus sidecar text files for long text fields (see
// "Sidecar text files" in the package documentation); FormatV3 has its
// layout. FormatV1 and FormatV2 bundles are still read, and a bundle read
// in one is written in it (its checksums and signature stay valid).
const FormatV2 = "octobundle/v2"

// SidecarKey is the only member of the object that stands, in the JSON
// file of a FormatV2 bundle, for a text field kept in a sidecar file: its
// value is the sidecar's file name, in the folder named like the JSON file
// without ".json".
const SidecarKey = "$file"

// leadKeys come first, in this order, in the objects of FormatV2 JSON
// files (all other keys follow in byte order), so that a variable's name
// and value sit on adjacent lines and a diff of the value shows the name.
var leadKeys = []string{"Name", "Value"}

// syntaxExt maps Octopus script syntaxes to file extensions.
var syntaxExt = map[string]string{
	"PowerShell": ".ps1",
	"Bash":       ".sh",
	"CSharp":     ".csx",
	"FSharp":     ".fsx",
	"Python":     ".py",
}

// SidecarDir is the folder holding the sidecar files of the entity file p
// ("projects/OctoFX/deployment-process.json" →
// "projects/OctoFX/deployment-process").
func SidecarDir(p string) string { return strings.TrimSuffix(p, ".json") }

// isSidecarPath reports whether p has the shape of a sidecar file: one
// segment with an extension octobundle writes, inside the sidecar folder of
// an entity file of a kind with text fields.
func isSidecarPath(p string) bool {
	dir := path.Dir(p)
	if dir == "." {
		return false
	}
	ext := path.Ext(p)
	known := ext == ".txt"
	for _, e := range syntaxExt {
		known = known || ext == e
	}
	if !known {
		return false
	}
	k, _ := schema.KindForPath(dir + ".json")
	return k != nil && len(k.Texts) > 0
}

// textSite is one text field found in a document.
type textSite struct {
	tf     schema.TextField
	holder map[string]any // the object holding the field
	key    string         // the field's key in holder
	name   string         // the sidecar file's base name (unescaped)
	elem   any            // the element that names the file (or the document)
}

// textSites lists the text fields of k in doc, field by field in document
// order.
func textSites(k *schema.Kind, doc any) []textSite {
	var out []textSite
	for _, tf := range k.Texts {
		var walk func(node any, segs []string, name string, elem any)
		walk = func(node any, segs []string, name string, elem any) {
			if len(segs) == 1 {
				if m, ok := node.(map[string]any); ok {
					if _, has := m[segs[0]]; has {
						if name == "" {
							name = "text"
						}
						out = append(out, textSite{tf: tf, holder: m, key: segs[0], name: name, elem: elem})
					}
				}
				return
			}
			switch t := node.(type) {
			case []any:
				if segs[0] != "*" {
					return
				}
				for _, el := range t {
					n := name
					if id, ok := Identify(el); ok {
						n = fileBase(el, id)
					}
					walk(el, segs[1:], n, el)
				}
			case map[string]any:
				if segs[0] == "*" {
					return
				}
				walk(t[segs[0]], segs[1:], name, elem)
			}
		}
		walk(doc, strings.Split(tf.Path, "/"), tf.File, doc)
	}
	return out
}

// fileBase is the sidecar base name of an element with identity id: its
// Name, then the rest of its label (a variable's scope).
func fileBase(el any, id ElementID) string {
	m, _ := el.(map[string]any)
	name, _ := m["Name"].(string)
	if name == "" {
		return strings.Trim(id.Label, `"`)
	}
	return name + id.Label[len(strconv.Quote(name)):]
}

// extension picks the sidecar's extension from the syntax field.
func extension(tf schema.TextField, elem any) string {
	if tf.Syntax == "" {
		return ".txt"
	}
	cur := elem
	for _, s := range strings.Split(tf.Syntax, "/") {
		m, _ := cur.(map[string]any)
		cur = m[s]
	}
	if s, ok := cur.(string); ok {
		if e, ok := syntaxExt[s]; ok {
			return e
		}
	}
	return ".txt"
}

// splitEntity returns the FormatV2 form of the entity file p: its JSON,
// with each text field of k that holds text replaced by {"$file": NAME}, and
// the sidecar files (path → bytes) holding the texts. doc is changed while
// the JSON is written and restored before it returns.
func splitEntity(p string, k *schema.Kind, doc any) ([]byte, map[string][]byte, error) {
	return splitEntityTo(new(bytes.Buffer), p, k, doc)
}

// splitEntityTo is splitEntity encoding the entity file into buf; the bytes
// it returns are buf's.
func splitEntityTo(buf *bytes.Buffer, p string, k *schema.Kind, doc any) ([]byte, map[string][]byte, error) {
	if len(k.Texts) == 0 {
		data, err := canonicalV2To(buf, doc)
		return data, nil, err
	}
	cp := doc
	type replaced struct {
		holder map[string]any
		key    string
		text   string
	}
	var undo []replaced
	defer func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i].holder[undo[i].key] = undo[i].text
		}
	}()
	var sidecars map[string][]byte
	used := map[string]bool{}
	dir := SidecarDir(p)
	for _, site := range textSites(k, cp) {
		tf := site.tf
		s, ok := site.holder[site.key].(string)
		if !ok || s == "" || (tf.MultiLine && !strings.Contains(s, "\n")) {
			continue
		}
		ext := extension(tf, site.elem)
		name := fitName(site.name, "", ext)
		for n := 2; used[foldKey(name)]; n++ {
			name = fitName(site.name, fmt.Sprintf(" (%d)", n), ext)
		}
		used[foldKey(name)] = true
		if sidecars == nil {
			sidecars = map[string][]byte{}
		}
		sidecars[dir+"/"+name] = []byte(s)
		undo = append(undo, replaced{site.holder, site.key, s})
		site.holder[site.key] = map[string]any{SidecarKey: name}
	}
	data, err := canonicalV2To(buf, cp)
	return data, sidecars, err
}

// fitName is the escaped file name base+suffix+ext, with base shortened
// (by whole characters) until the escape is at most MaxEscaped bytes (so
// that it unescapes: longer escapes are not canonical) and the name fits
// in MaxSegment bytes.
func fitName(base, suffix, ext string) string {
	for {
		esc := escapeWhole(base + suffix)
		if (len(esc) <= MaxEscaped && len(esc)+len(ext) <= MaxSegment) || base == "" {
			return esc + ext
		}
		_, size := utf8.DecodeLastRuneInString(base)
		base = base[:len(base)-size]
	}
}

// sidecarRefs lists the sidecar files (paths) the decoded FormatV2 entity
// document doc of the file p refers to, in the order joinDoc looks them
// up; names joinDoc refuses are left out.
func sidecarRefs(p string, k *schema.Kind, doc any) []string {
	var refs []string
	dir := SidecarDir(p)
	for _, site := range textSites(k, doc) {
		if name, ok := sidecarName(site); ok && validSidecarName(name) {
			refs = append(refs, dir+"/"+name)
		}
	}
	return refs
}

// sidecarName is the file name a text field's {"$file": NAME} gives.
func sidecarName(site textSite) (string, bool) {
	m, ok := site.holder[site.key].(map[string]any)
	if !ok || len(m) != 1 {
		return "", false
	}
	name, ok := m[SidecarKey].(string)
	return name, ok
}

// validSidecarName reports whether name may name a sidecar file: one path
// segment.
func validSidecarName(name string) bool {
	return name != "" && !strings.ContainsAny(name, "/\\") && name != "." && name != ".."
}

// joinDoc completes the decoded FormatV2 entity document doc of the file
// p: it replaces every {"$file": NAME} at a text field of k by the content
// of the sidecar file NAME (taken from files), and returns the sidecar
// paths it used. The caller checks that splitting the document again gives
// back exactly the files read.
func joinDoc(p string, k *schema.Kind, doc any, files map[string][]byte) ([]string, error) {
	var used []string
	dir := SidecarDir(p)
	for _, site := range textSites(k, doc) {
		name, ok := sidecarName(site)
		if !ok {
			continue
		}
		if !validSidecarName(name) {
			return nil, fmt.Errorf("%s: %s names an invalid sidecar file %q", p, SidecarKey, name)
		}
		sp := dir + "/" + name
		text, ok := files[sp]
		if !ok {
			return nil, fmt.Errorf("%s: refers to the sidecar file %s, which is missing", p, sp)
		}
		if !utf8.Valid(text) {
			return nil, fmt.Errorf("%s: not valid UTF-8 (a text field's sidecar file)", sp)
		}
		site.holder[site.key] = string(text)
		used = append(used, sp)
	}
	return used, nil
}

// checkSplit checks that splitting doc (read from the FormatV2 entity file
// p) gives back exactly data and the sidecar files it used: a file has one
// form only.
func checkSplit(p string, k *schema.Kind, doc any, data []byte, used []string, files map[string][]byte) error {
	buf := jsonv.Buffer()
	defer jsonv.PutBuffer(buf)
	want, sidecars, err := splitEntityTo(buf, p, k, doc)
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	if !bytes.Equal(want, data) {
		return fmt.Errorf("%s: not in canonical form for %s (sorted keys with Name and Value first, 2-space indent, trailing newline; every script and multi-line value in its sidecar file)", p, FormatV2)
	}
	if len(sidecars) != len(used) {
		return fmt.Errorf("%s: its sidecar files do not match its text fields", p)
	}
	for _, sp := range used {
		if !bytes.Equal(sidecars[sp], files[sp]) {
			return fmt.Errorf("%s: a sidecar file does not match its text field (expected %s)", p, sp)
		}
	}
	return nil
}

// canonicalV2To encodes v as FormatV2 JSON into buf (emptied first):
// Canonical, except that in every object the keys of leadKeys come first.
// The bytes it returns are buf's.
func canonicalV2To(buf *bytes.Buffer, v any) ([]byte, error) {
	buf.Reset()
	if err := writeValueOrdered(buf, v, 0, 0, leadKeys); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}
