package schema

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
	"unicode"

	"github.com/santhosh-tekuri/jsonschema/v5"
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
		c.Draft = jsonschema.Draft2020
		c.AssertFormat = true
		// Never fetch anything: every $ref resolves inside the embedded set.
		c.LoadURL = func(s string) (_ io.ReadCloser, err error) {
			return nil, fmt.Errorf("schema: refusing to load %s (only embedded schemas are used)", s)
		}
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
			if err := c.AddResource(SchemaBase+e.Name(), bytes.NewReader(data)); err != nil {
				compiled.err = fmt.Errorf("schema: %s: %w", e.Name(), err)
				return
			}
			names[e.Name()] = true
		}
		compiled.compiler, compiled.names = c, names
	})
	return compiled.err
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
			return newValidationError(name, ve)
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
	// Pointer is the JSON pointer of the failing value ("" is the document).
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

func newValidationError(name string, ve *jsonschema.ValidationError) *ValidationError {
	out := &ValidationError{Schema: name}
	seen := map[Violation]bool{}
	var leaves func(v *jsonschema.ValidationError)
	leaves = func(v *jsonschema.ValidationError) {
		if len(v.Causes) == 0 {
			viol := Violation{Pointer: v.InstanceLocation, Message: v.Message}
			if !seen[viol] {
				seen[viol] = true
				out.Violations = append(out.Violations, viol)
			}
			return
		}
		for _, c := range v.Causes {
			leaves(c)
		}
	}
	leaves(ve)
	sort.SliceStable(out.Violations, func(i, j int) bool {
		return out.Violations[i].Pointer < out.Violations[j].Pointer
	})
	return out
}
