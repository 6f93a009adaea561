package transform

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/limits"
	"github.com/octobundle/octobundle/policy"
	"github.com/octobundle/octobundle/schema"
	"gopkg.in/yaml.v3"
)

// APIVersion is the rule file format version.
const APIVersion = "octobundle/rules/v1"

// RulesSchema is the embedded JSON Schema of rule files.
const RulesSchema = "rules.schema.json"

// maxRuleFile bounds the size of a rule file.
const maxRuleFile = limits.RuleFileSize

// RuleFile is a parsed, validated rule file.
type RuleFile struct {
	// Name is the file's name as given.
	Name string
	// Digest is "sha256:" plus the hex sha256 of the file's bytes.
	Digest string
	// Text is the normalised content: the canonical JSON of the parsed file.
	Text string
	// Rules are the file's rules, in order.
	Rules []Rule
}

// Ref returns the manifest record of the file.
func (f *RuleFile) Ref() bundles.RuleRef {
	return bundles.RuleRef{Name: f.Name, Digest: f.Digest, Text: f.Text}
}

// Names is a name or glob, or a list of them (path.Match syntax, matched
// case-insensitively as Octopus matches names).
type Names []string

// UnmarshalJSON accepts a string or a list of strings.
func (n *Names) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*n = Names{s}
		return nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return err
	}
	*n = l
	return nil
}

// Match reports whether name matches one of the patterns; an empty list
// matches everything.
func (n Names) Match(name string) bool {
	if len(n) == 0 {
		return true
	}
	for _, p := range n {
		if policy.GlobMatch(p, name) {
			return true
		}
	}
	return false
}

// Selector picks entities of one kind.
type Selector struct {
	// Kind is the registry kind name ("Environment", "Project", "Channel").
	Kind string `json:"kind"`
	// Name matches the entity's own name.
	Name Names `json:"name,omitempty"`
	// Owner matches the owning entity's name for nested kinds (a channel's
	// or runbook's project).
	Owner Names `json:"owner,omitempty"`
	// RefersTo matches entities holding a reference to one of the named
	// entities of each kind given ({"ProjectGroup": "Trading Platform"}).
	RefersTo map[string]Names `json:"refersTo,omitempty"`
	// Tag matches entities carrying one of the tenant tags ("Hosting/Shared 1").
	Tag Names `json:"tag,omitempty"`
}

// Rename renames one entity.
type Rename struct {
	Kind  string `json:"kind"`
	Name  string `json:"name"`
	Owner string `json:"owner,omitempty"`
	To    string `json:"to"`
}

// Merge folds entities into another of the same kind.
type Merge struct {
	Kind  string `json:"kind"`
	Name  Names  `json:"name"`
	Owner string `json:"owner,omitempty"`
	Into  string `json:"into"`
}

// Lost-scope actions.
const (
	LostDrop    = "drop"
	LostUnscope = "unscope"
	LostRescope = "rescope"
	LostError   = "error"
)

// LostScope says what happens to a holder (a step, a variable value, a
// phase, an account, a team's role) whose restriction lost every entry.
type LostScope struct {
	// Do is drop, unscope, rescope or error.
	Do string `json:"do"`
	// To is the new scope for rescope, by target kind ({"Environment": ["Staging"]}).
	To map[string][]string `json:"to,omitempty"`
	// Kind, Owner and Name narrow the rule (kind of the entity holding the
	// holder; its owner or own name; the holder's name).
	Kind  string `json:"kind,omitempty"`
	Owner Names  `json:"owner,omitempty"`
	Name  Names  `json:"name,omitempty"`
}

// OnEmpty says what happens to an entity that a cascade leaves empty (a
// lifecycle with no phases).
type OnEmpty struct {
	Kind string `json:"kind"`
	Name Names  `json:"name,omitempty"`
	Do   string `json:"do"`
}

// SetValue sets a variable value for the destination.
type SetValue struct {
	In    string              `json:"in"`
	Owner string              `json:"owner"`
	Name  string              `json:"name"`
	Scope map[string][]string `json:"scope,omitempty"`
	Value string              `json:"value"`
}

// ValueSel picks variable values (owned).
type ValueSel struct {
	In    string              `json:"in,omitempty"`
	Owner string              `json:"owner,omitempty"`
	Name  string              `json:"name,omitempty"`
	Scope map[string][]string `json:"scope,omitempty"`
}

// ScopeMismatch sets the apply-time scope-mismatch mode of a dimension.
type ScopeMismatch struct {
	Dimension string              `json:"dimension"`
	Mode      string              `json:"mode"`
	In        string              `json:"in,omitempty"`
	Owner     string              `json:"owner,omitempty"`
	Name      string              `json:"name,omitempty"`
	Scope     map[string][]string `json:"scope,omitempty"`
}

// KindPolicy overrides a kind's apply policy.
type KindPolicy struct {
	Kind   string `json:"kind"`
	Policy string `json:"policy"`
}

// OnConflict decides apply's three-way merge conflicts in the places it
// matches (policy.ConflictRule): kind (a name or glob), entity (its own
// name or glob), field (a slash path of keys, element names or globs;
// "/**" at the end matches anything below) and the side that wins.
type OnConflict struct {
	Kind   string `json:"kind"`
	Entity string `json:"entity,omitempty"`
	Field  string `json:"field,omitempty"`
	Winner string `json:"winner"`
}

// Rule is one rule: exactly one of its verb fields is set, and Guard may be.
type Rule struct {
	Drop          *Selector      `json:"drop,omitempty"`
	Keep          *Selector      `json:"keep,omitempty"`
	Destination   *Selector      `json:"destination,omitempty"`
	Rename        *Rename        `json:"rename,omitempty"`
	Merge         *Merge         `json:"merge,omitempty"`
	OnLostScope   *LostScope     `json:"onLostScope,omitempty"`
	OnEmpty       *OnEmpty       `json:"onEmpty,omitempty"`
	SetValue      *SetValue      `json:"setValue,omitempty"`
	Owned         *ValueSel      `json:"owned,omitempty"`
	ScopeMismatch *ScopeMismatch `json:"scopeMismatch,omitempty"`
	ApplyPolicy   *KindPolicy    `json:"applyPolicy,omitempty"`
	Placeholder   *string        `json:"placeholder,omitempty"`
	OnConflict    *OnConflict    `json:"onConflict,omitempty"`

	// Guard marks a rule meant to match nothing (onLostScope {kind:
	// Account, do: error} in an instance without lost accounts): matching
	// nothing is then expected, no warning, and --strict does not fail.
	Guard bool `json:"guard,omitempty"`

	// Pos is where the rule is: "FILE:LINE".
	Pos string `json:"-"`
	// Verb is the rule's key ("drop").
	Verb string `json:"-"`
}

// ParseError is a rule file error naming the file, line and field.
type ParseError struct {
	File  string
	Line  int
	Field string // JSON pointer into the file
	Msg   string
	// Err is the underlying error when there is one (a *limits.Error for a
	// file too large or nested too deeply).
	Err error
}

// Unwrap returns the underlying error.
func (e *ParseError) Unwrap() error { return e.Err }

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Field != "" {
		b.WriteString(": " + e.Field)
	}
	b.WriteString(": " + e.Msg)
	return b.String()
}

// Parse parses and validates the rule file name with content data (YAML or
// JSON). Every error is a *ParseError (or several joined) naming the file,
// line and field.
func Parse(name string, data []byte) (*RuleFile, error) {
	if len(data) > maxRuleFile {
		le := limits.Size("", "rule file size", maxRuleFile)
		return nil, &ParseError{File: name, Msg: le.Error(), Err: le}
	}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		return nil, &ParseError{File: name, Line: yamlErrLine(err), Msg: yamlErrMsg(err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &ParseError{File: name, Line: extra.Line, Msg: "more than one YAML document"}
	}
	lines := map[string]int{}
	doc, err := nodeValue(name, &root, "", lines, 0)
	if err != nil {
		return nil, err
	}
	if err := schema.Validate(RulesSchema, doc); err != nil {
		var ve *schema.ValidationError
		if !errors.As(err, &ve) {
			return nil, &ParseError{File: name, Msg: err.Error()}
		}
		var errs []error
		for _, v := range ve.Violations {
			errs = append(errs, &ParseError{File: name, Line: lineOf(lines, v.Pointer), Field: pointerOr(v.Pointer), Msg: v.Message})
		}
		return nil, errors.Join(errs...)
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, &ParseError{File: name, Msg: err.Error()}
	}
	var f struct {
		APIVersion string `json:"apiVersion"`
		Rules      []Rule `json:"rules"`
	}
	jd := json.NewDecoder(bytes.NewReader(raw))
	jd.DisallowUnknownFields()
	if err := jd.Decode(&f); err != nil {
		return nil, &ParseError{File: name, Msg: err.Error()}
	}
	canon, err := bundles.Canonical(doc)
	if err != nil {
		return nil, &ParseError{File: name, Msg: err.Error()}
	}
	sum := sha256.Sum256(data)
	out := &RuleFile{Name: name, Digest: "sha256:" + hex.EncodeToString(sum[:]), Text: string(canon), Rules: f.Rules}
	m, _ := doc.(map[string]any)
	rawRules, _ := m["rules"].([]any)
	var errs []error
	for i := range out.Rules {
		ptr := "/rules/" + strconv.Itoa(i)
		out.Rules[i].Pos = fmt.Sprintf("%s:%d", name, lines[ptr])
		if rm, ok := rawRules[i].(map[string]any); ok {
			for k := range rm {
				if k != "guard" {
					out.Rules[i].Verb = k
				}
			}
		}
		if err := checkRule(&out.Rules[i]); err != nil {
			errs = append(errs, &ParseError{File: name, Line: lines[ptr+"/"+out.Rules[i].Verb], Field: ptr + "/" + out.Rules[i].Verb, Msg: err.Error()})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// checkRule checks what the schema cannot: kind names exist in the registry
// and can be selected.
func checkRule(r *Rule) error {
	named := func(kind string) error {
		k := schema.Lookup(kind)
		if k == nil {
			return fmt.Errorf("unknown kind %q (see schema/kinds.go)", kind)
		}
		if k.File == "" || k.IsSingleton() || k.Shape == schema.ShapeItems {
			return fmt.Errorf("kind %q has no name of its own: select its owner instead", kind)
		}
		return nil
	}
	known := func(kind string) error {
		if kind != "" && schema.Lookup(kind) == nil {
			return fmt.Errorf("unknown kind %q (see schema/kinds.go)", kind)
		}
		return nil
	}
	sel := func(s *Selector) error {
		if err := named(s.Kind); err != nil {
			return err
		}
		for _, kind := range slices.Sorted(maps.Keys(s.RefersTo)) {
			if schema.Lookup(kind) == nil {
				return fmt.Errorf("refersTo: unknown kind %q", kind)
			}
		}
		return nil
	}
	switch {
	case r.Drop != nil:
		return sel(r.Drop)
	case r.Keep != nil:
		return sel(r.Keep)
	case r.Destination != nil:
		return sel(r.Destination)
	case r.Rename != nil:
		return named(r.Rename.Kind)
	case r.Merge != nil:
		return named(r.Merge.Kind)
	case r.OnLostScope != nil:
		for _, kind := range slices.Sorted(maps.Keys(r.OnLostScope.To)) {
			if err := known(kind); err != nil {
				return err
			}
		}
		return known(r.OnLostScope.Kind)
	case r.OnEmpty != nil:
		k := schema.Lookup(r.OnEmpty.Kind)
		if k == nil {
			return fmt.Errorf("unknown kind %q", r.OnEmpty.Kind)
		}
		for _, c := range k.Containers {
			if c.Path == "" {
				return nil
			}
		}
		return fmt.Errorf("kind %q is never left empty by a cascade", r.OnEmpty.Kind)
	case r.ApplyPolicy != nil:
		return known(r.ApplyPolicy.Kind)
	}
	return nil
}

func pointerOr(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

// lineOf returns the line of the deepest known ancestor of pointer p.
func lineOf(lines map[string]int, p string) int {
	for {
		if l, ok := lines[p]; ok {
			return l
		}
		i := strings.LastIndex(p, "/")
		if i < 0 {
			return lines[""]
		}
		p = p[:i]
	}
}

func yamlErrLine(err error) int {
	msg := err.Error()
	if i := strings.Index(msg, "line "); i >= 0 {
		rest := msg[i+5:]
		j := 0
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		if n, e := strconv.Atoi(rest[:j]); e == nil {
			return n
		}
	}
	return 0
}

func yamlErrMsg(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if i := strings.Index(msg, ": "); i >= 0 && strings.HasPrefix(msg, "line ") {
		msg = msg[i+2:]
	}
	if err.Error() == "EOF" {
		return "empty file"
	}
	return msg
}

const maxDepth = limits.YAMLDepth

// nodeValue converts a YAML node to a JSON-like value (maps, []any,
// strings, json.Number, bools, nil), recording the line of every JSON
// pointer in lines.
func nodeValue(file string, n *yaml.Node, ptr string, lines map[string]int, depth int) (any, error) {
	if depth > maxDepth {
		le := &limits.Error{Limit: "rule file nesting depth", Max: maxDepth, Unit: "levels"}
		return nil, &ParseError{File: file, Line: n.Line, Field: pointerOr(ptr), Msg: le.Error(), Err: le}
	}
	lines[ptr] = n.Line
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, &ParseError{File: file, Line: n.Line, Msg: "empty file"}
		}
		return nodeValue(file, n.Content[0], ptr, lines, depth+1)
	case yaml.AliasNode:
		return nil, &ParseError{File: file, Line: n.Line, Field: pointerOr(ptr), Msg: "YAML aliases are not supported in rule files"}
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			kn, vn := n.Content[i], n.Content[i+1]
			if kn.Kind != yaml.ScalarNode || (kn.Tag != "!!str" && kn.Tag != "!!merge") {
				return nil, &ParseError{File: file, Line: kn.Line, Field: pointerOr(ptr), Msg: "mapping keys must be strings"}
			}
			if kn.Tag == "!!merge" {
				return nil, &ParseError{File: file, Line: kn.Line, Field: pointerOr(ptr), Msg: "YAML merge keys are not supported in rule files"}
			}
			if _, dup := m[kn.Value]; dup {
				return nil, &ParseError{File: file, Line: kn.Line, Field: pointerOr(ptr), Msg: fmt.Sprintf("key %q appears twice", kn.Value)}
			}
			child := ptr + "/" + escapePointer(kn.Value)
			v, err := nodeValue(file, vn, child, lines, depth+1)
			if err != nil {
				return nil, err
			}
			lines[child] = kn.Line
			m[kn.Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for i, c := range n.Content {
			v, err := nodeValue(file, c, ptr+"/"+strconv.Itoa(i), lines, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return nil, nil
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err != nil {
				return nil, &ParseError{File: file, Line: n.Line, Field: pointerOr(ptr), Msg: err.Error()}
			}
			return b, nil
		case "!!int", "!!float":
			var f float64
			if err := n.Decode(&f); err != nil {
				return nil, &ParseError{File: file, Line: n.Line, Field: pointerOr(ptr), Msg: err.Error()}
			}
			return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), nil
		case "!!str", "":
			return n.Value, nil
		default:
			return nil, &ParseError{File: file, Line: n.Line, Field: pointerOr(ptr), Msg: fmt.Sprintf("unsupported YAML type %s", n.Tag)}
		}
	}
	return nil, &ParseError{File: file, Line: n.Line, Field: pointerOr(ptr), Msg: "unsupported YAML node"}
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}
