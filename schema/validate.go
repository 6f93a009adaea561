package schema

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// SchemaBase is the URL prefix of the $id of every embedded schema; a schema
// file NAME has the $id SchemaBase+NAME, and schemas refer to each other by
// relative file name.
const SchemaBase = "https://github.com/octobundle/octobundle/schema/jsonschemas/"

// ManifestSchema is the schema of a bundle's manifest.json.
const ManifestSchema = "manifest.schema.json"

//go:embed jsonschemas/*.json
var schemaFiles embed.FS

// Schemas returns the embedded JSON Schema files (draft 2020-12), one per
// bundle file type, by file name ("manifest.schema.json").
func Schemas() fs.FS {
	sub, err := fs.Sub(schemaFiles, "jsonschemas")
	if err != nil {
		panic(err)
	}
	return sub
}

// KindSchema returns the name of the embedded schema of the kind's bundle
// file: the kind name in kebab case ("DeploymentProcess" →
// "deployment-process.schema.json").
func KindSchema(k *Kind) string {
	var b strings.Builder
	for i, r := range k.Name {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('-')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String() + ".schema.json"
}

// SchemaFor returns the name of the schema a bundle file validates against:
// ManifestSchema for manifest.json, the kind's schema for an entity file.
// ok is false for files that are not JSON (checksums.txt, signature, the
// files of ShapeBinary kinds) and for paths no kind claims.
func SchemaFor(p string) (name string, ok bool) {
	if p == "manifest.json" {
		return ManifestSchema, true
	}
	if p == "apply-policy.json" {
		return "apply-policy.schema.json", true
	}
	k, _ := KindForPath(p)
	if k == nil || k.Shape == ShapeBinary {
		return "", false // binary files (a logo) are not JSON
	}
	return KindSchema(k), true
}

// compiled holds the embedded schemas: every file added to one compiler
// once, each schema compiled on first use. Compiling one costs about a
// millisecond (the library checks it against the 2020-12 meta-schema);
// compiling all 41 was about a third of the CPU of a short command that
// validates a small bundle, which seldom holds every kind.
var compiled struct {
	once     sync.Once
	compiler *jsonschema.Compiler
	names    map[string]bool // the embedded schema files
	err      error

	mu      sync.Mutex // guards compiler and schemas
	schemas sync.Map   // name → *jsonschema.Schema
}

// compilerOnce adds every embedded schema file to one compiler, once.
func compilerOnce() error {
	compiled.once.Do(func() {
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft2020)
		c.AssertFormat()
		// Never fetch anything: every $ref resolves inside the embedded set.
		c.UseLoader(refuseLoader{})
		entries, err := fs.ReadDir(schemaFiles, "jsonschemas")
		if err != nil {
			compiled.err = err
			return
		}
		names := map[string]bool{}
		for _, e := range entries {
			data, err := schemaFiles.ReadFile(path.Join("jsonschemas", e.Name()))
			if err != nil {
				compiled.err = err
				return
			}
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
			if err != nil {
				compiled.err = fmt.Errorf("schema: %s: %w", e.Name(), err)
				return
			}
			if err := c.AddResource(SchemaBase+e.Name(), doc); err != nil {
				compiled.err = fmt.Errorf("schema: %s: %w", e.Name(), err)
				return
			}
			names[e.Name()] = true
		}
		compiled.compiler, compiled.names = c, names
	})
	return compiled.err
}

// refuseLoader loads no URL: the embedded schemas refer only to each other
// (and to the meta-schemas the library holds).
type refuseLoader struct{}

// Load refuses to load url.
func (refuseLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("schema: refusing to load %s (only embedded schemas are used)", url)
}

// compiledSchema returns the embedded schema named name, compiling it (and
// the schemas it refers to) on first use. Safe for concurrent use.
func compiledSchema(name string) (*jsonschema.Schema, error) {
	if s, ok := compiled.schemas.Load(name); ok {
		return s.(*jsonschema.Schema), nil
	}
	if err := compilerOnce(); err != nil {
		return nil, err
	}
	if !compiled.names[name] {
		return nil, fmt.Errorf("schema: no embedded schema %q", name)
	}
	compiled.mu.Lock()
	defer compiled.mu.Unlock()
	if s, ok := compiled.schemas.Load(name); ok {
		return s.(*jsonschema.Schema), nil
	}
	s, err := compiled.compiler.Compile(SchemaBase + name)
	if err != nil {
		return nil, fmt.Errorf("schema: compiling %s: %w", name, err)
	}
	compiled.schemas.Store(name, s)
	return s, nil
}

// Validate validates doc (a value as decoded by encoding/json, numbers as
// json.Number or float64) against the embedded schema named name. A
// validation failure is a *ValidationError.
func Validate(name string, doc any) error {
	s, err := compiledSchema(name)
	if err != nil {
		return err
	}
	if err := s.Validate(doc); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			return newValidationError(name, ve, doc)
		}
		return err
	}
	return nil
}

// ValidateFile validates the decoded content of the bundle file at path
// against its schema (see SchemaFor). Errors name the file and the JSON
// pointer of each failing field.
func ValidateFile(p string, doc any) error {
	name, ok := SchemaFor(p)
	if !ok {
		return fmt.Errorf("%s: no schema for this file (not a bundle file)", p)
	}
	if err := Validate(name, doc); err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) {
			ve.File = p
			return ve
		}
		return fmt.Errorf("%s: %w", p, err)
	}
	return nil
}

// Violation is one failing field of a validation.
type Violation struct {
	// Pointer is the JSON pointer (RFC 6901) of the failing value ("" is the
	// document): "/ProjectEnvironments/Customer Portal", "/a~1b" for the
	// member "a/b".
	Pointer string
	// Message says what is wrong.
	Message string
}

// ValidationError lists the fields of a document that fail its schema.
type ValidationError struct {
	// File is the bundle path of the document, when known.
	File string
	// Schema is the schema's file name.
	Schema string
	// Violations are the innermost failures, sorted by pointer.
	Violations []Violation
}

// Error formats the error as "FILE: POINTER: MESSAGE" for the first
// violations (and a count of the rest).
func (e *ValidationError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
	} else {
		b.WriteString("document")
	}
	b.WriteString(": does not match ")
	b.WriteString(e.Schema)
	const show = 5
	for i, v := range e.Violations {
		if i == show {
			fmt.Fprintf(&b, "; and %d more", len(e.Violations)-show)
			break
		}
		ptr := v.Pointer
		if ptr == "" {
			ptr = "/"
		}
		fmt.Fprintf(&b, "; at %s: %s", ptr, v.Message)
	}
	return b.String()
}

// english formats the library's messages.
var english = message.NewPrinter(language.English)

// messageOf returns the library's message of a failure, but "not allowed"
// for a value the schema forbids (the false schema of a volatile field, an
// "Id"), as v5 said, rather than "false schema".
func messageOf(k jsonschema.ErrorKind) string {
	if _, ok := k.(*kind.FalseSchema); ok {
		return "not allowed"
	}
	return k.LocalizedString(english)
}

// pointer returns the JSON pointer of the instance location loc: Pointer,
// but "" (RFC 6901's whole document) for the root.
func pointer(loc []string) string {
	if len(loc) == 0 {
		return ""
	}
	return Pointer(loc)
}

func newValidationError(name string, ve *jsonschema.ValidationError, doc any) *ValidationError {
	out := &ValidationError{Schema: name}
	seen := map[Violation]bool{}
	add := func(viol Violation) {
		if !seen[viol] {
			seen[viol] = true
			out.Violations = append(out.Violations, viol)
		}
	}
	var names []*jsonschema.ValidationError
	eachLeaf(ve, func(v *jsonschema.ValidationError) {
		add(Violation{Pointer: pointer(v.InstanceLocation), Message: messageOf(v.ErrorKind)})
	}, func(v *jsonschema.ValidationError) bool {
		if _, ok := v.ErrorKind.(*kind.PropertyNames); ok {
			names = append(names, v)
			return true
		}
		return false
	})
	for _, v := range nameLocations(names, doc) {
		add(v)
	}
	sort.SliceStable(out.Violations, func(i, j int) bool {
		return out.Violations[i].Pointer < out.Violations[j].Pointer
	})
	return out
}

// eachLeaf calls leaf for every innermost failure below v, in order,
// except below a failure that stop (if not nil) takes.
func eachLeaf(v *jsonschema.ValidationError, leaf func(*jsonschema.ValidationError), stop func(*jsonschema.ValidationError) bool) {
	if stop != nil && stop(v) {
		return
	}
	if len(v.Causes) == 0 {
		leaf(v)
		return
	}
	for _, c := range v.Causes {
		eachLeaf(c, leaf, stop)
	}
}

// nameLocations returns the violations of the failing property names
// (propertyNames), each at the member whose name fails: "/summary/Id".
//
// The library (v6.0.3) reports such a failure at the object holding the
// member, but keeps that location in a slice whose array the validation of
// later values writes over (santhosh-tekuri/jsonschema issues 258 and 269),
// so the location it reports may name another object. Its length and the
// property name are right: the failures of the same name at the same depth
// under the same schema are given the objects of doc at that depth that hold
// the name, when there are as many of those as of failures; otherwise the
// reported location is kept.
func nameLocations(names []*jsonschema.ValidationError, doc any) []Violation {
	type group struct {
		depth        int
		prop, schema string
	}
	groups := map[group][]*jsonschema.ValidationError{}
	var order []group
	for _, v := range names {
		g := group{len(v.InstanceLocation), v.ErrorKind.(*kind.PropertyNames).Property, v.SchemaURL}
		if groups[g] == nil {
			order = append(order, g)
		}
		groups[g] = append(groups[g], v)
	}
	var out []Violation
	for _, g := range order {
		errs := groups[g]
		holders := objectsWith(doc, g.depth, g.prop, nil, nil)
		for i, v := range errs {
			loc := v.InstanceLocation
			if len(holders) == len(errs) {
				loc = holders[i]
			}
			at := pointer(append(loc[:len(loc):len(loc)], g.prop))
			msg := v.ErrorKind.LocalizedString(english)
			var causes []string
			for _, c := range v.Causes {
				eachLeaf(c, func(l *jsonschema.ValidationError) {
					causes = append(causes, messageOf(l.ErrorKind))
				}, nil)
			}
			if len(causes) == 0 {
				out = append(out, Violation{Pointer: at, Message: msg})
			}
			for _, c := range causes {
				out = append(out, Violation{Pointer: at, Message: msg + ": " + c})
			}
		}
	}
	return out
}

// objectsWith appends to out the locations, depth tokens below at, of the
// objects in v that have a member named prop, in document order (object
// members sorted by name).
func objectsWith(v any, depth int, prop string, at []string, out [][]string) [][]string {
	if depth == 0 {
		if m, ok := v.(map[string]any); ok {
			if _, ok := m[prop]; ok {
				out = append(out, slices.Clone(at))
			}
		}
		return out
	}
	switch t := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			out = objectsWith(t[k], depth-1, prop, append(at, k), out)
		}
	case []any:
		for i, e := range t {
			out = objectsWith(e, depth-1, prop, append(at, strconv.Itoa(i)), out)
		}
	}
	return out
}
