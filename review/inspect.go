package review

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/release"
	"github.com/octobundle/octobundle/schema"
	"github.com/octobundle/octobundle/sign"
)

// Signature states of Info.
const (
	// Unsigned: the bundle has no signature.
	Unsigned = "unsigned"
	// NotChecked: signed, but no trusted key was given to check it.
	NotChecked = "not checked"
	// Valid: signed by one of the trusted keys, for this bundle.
	Valid = "valid"
	// Invalid: signed, but the signature does not verify with the trusted
	// keys (see SignatureInfo.Problem).
	Invalid = "invalid"
)

// Info is what inspect shows about a bundle.
type Info struct {
	// Path is the bundle as given.
	Path string `json:"path"`
	// Format is the manifest's format version.
	Format string `json:"format"`
	// ToolVersion is the version of octobundle that wrote the bundle.
	ToolVersion string `json:"toolVersion"`
	// Source is where the bundle was exported from.
	Source SourceInfo `json:"source"`
	// ExportedAt is the export time.
	ExportedAt time.Time `json:"exportedAt"`
	// Digest is the bundle digest.
	Digest string `json:"digest"`
	// Selection lists the projects of a partial export (empty: the space).
	Selection []string `json:"selection,omitempty"`
	// Rules are the rule files transform applied, in order.
	Rules []RuleInfo `json:"rules"`
	// Input is the bundle transform read to make this one (its digest and
	// the key that had signed it); nil for an exported bundle.
	Input *InputInfo `json:"input,omitempty"`
	// ApplyPolicy reports whether the bundle carries apply-policy.json.
	ApplyPolicy bool `json:"applyPolicy"`
	// Signature is the signature state.
	Signature SignatureInfo `json:"signature"`
	// Counts are the entity files per kind, in sync order.
	Counts []KindCount `json:"counts"`
	// Projects are the bundle's projects with their contents.
	Projects []ProjectInfo `json:"projects"`
	// Release is what a release bundle (release export) carries; absent
	// for other bundles.
	Release *ReleaseInfo `json:"release,omitempty"`
}

// ReleaseInfo is what a release bundle carries: the release, the package
// each step's references select, and the configuration the destination
// must hold. Problem says why the release cannot be read (release plan
// and apply refuse such a bundle for the same reason).
type ReleaseInfo struct {
	// Project, Version and Channel name the release.
	Project string `json:"project"`
	Version string `json:"version"`
	Channel string `json:"channel"`
	// ReleaseNotes reports whether the release has notes.
	ReleaseNotes bool `json:"releaseNotes"`
	// Packages are the release's package references, as release export
	// --output json shows them.
	Packages []release.PackageJSON `json:"packages"`
	// Carried counts the package files the bundle carries, CarriedBytes
	// their size.
	Carried      int   `json:"carried"`
	CarriedBytes int64 `json:"carriedBytes"`
	// BuildInformation counts the build information records carried.
	BuildInformation int `json:"buildInformation"`
	// Configuration is the digest of the project's configuration files the
	// destination must hold.
	Configuration string `json:"configuration"`
	// Problem is why the release cannot be read ("" when it can).
	Problem string `json:"problem,omitempty"`
}

// releaseOf reads the release of a release bundle.
func releaseOf(b *bundles.Bundle) *ReleaseInfo {
	rb, err := release.Open(b)
	if err != nil {
		return &ReleaseInfo{Packages: []release.PackageJSON{}, Problem: err.Error()}
	}
	d := rb.Doc
	ri := &ReleaseInfo{Project: d.Project, Version: d.Version, Channel: d.Channel, ReleaseNotes: d.ReleaseNotes != "",
		Packages: release.PackagesJSON(d.Packages), BuildInformation: len(d.BuildInformation), Configuration: d.Configuration.Digest}
	files := map[string]bool{}
	for _, p := range d.Packages {
		if p.File != "" && !files[p.File] {
			files[p.File] = true
			ri.Carried++
			ri.CarriedBytes += p.Size
		}
	}
	return ri
}

// SourceInfo is where a bundle was exported from (the manifest's Source,
// with the camelCase keys of every command's JSON output: the manifest
// itself keeps its own spelling).
type SourceInfo struct {
	// Server is the server URL, without credentials.
	Server string `json:"server"`
	// ServerVersion is the Octopus Server version.
	ServerVersion string `json:"serverVersion"`
	// Space is the space name.
	Space string `json:"space"`
}

// SourceOf is the SourceInfo of a manifest's Source.
func SourceOf(s bundles.Source) SourceInfo {
	return SourceInfo{Server: s.Server, ServerVersion: s.ServerVersion, Space: s.Space}
}

// RuleInfo names a rule file applied by transform.
type RuleInfo struct {
	// Name is the rule file's name as given to transform.
	Name string `json:"name"`
	// Digest is the sha256 of the rule file.
	Digest string `json:"digest"`
}

// InputInfo is the bundle a transformed bundle was made from, as its
// manifest records it (Manifest.Input).
type InputInfo struct {
	// Digest is the input bundle's digest.
	Digest string `json:"digest"`
	// Format is the input bundle's format version.
	Format string `json:"format"`
	// KeyID is the key whose signature the input carried ("": unsigned).
	KeyID string `json:"keyId,omitempty"`
	// Verified reports that transform checked that signature against a
	// trusted key (transform --pubkey, plan/apply --rules with --pubkey).
	Verified bool `json:"verified"`
}

// SignatureInfo is a bundle's signature state.
type SignatureInfo struct {
	// State is Unsigned, NotChecked, Valid or Invalid.
	State string `json:"state"`
	// KeyID is the key the signature names.
	KeyID string `json:"keyId,omitempty"`
	// TrustedKey is the public key file that verified it (Valid only).
	TrustedKey string `json:"trustedKey,omitempty"`
	// TrustedComment is the signature's trusted comment (authentic only
	// when Valid).
	TrustedComment string `json:"trustedComment,omitempty"`
	// Problem says why an Invalid signature failed.
	Problem string `json:"problem,omitempty"`
	// CoversManifest reports that a Valid signature binds all of
	// manifest.json (octobundle/v3); an older bundle's covers its
	// identity fields only.
	CoversManifest bool `json:"coversManifest,omitempty"`
}

// KindCount is the number of entity files of a kind.
type KindCount struct {
	// Kind is the registry kind name.
	Kind string `json:"kind"`
	// Count is the number of entity files of the kind.
	Count int `json:"count"`
}

// ProjectInfo counts what a project holds.
type ProjectInfo struct {
	// Name is the project name.
	Name string `json:"name"`
	// Steps is the number of steps of its deployment process.
	Steps int `json:"steps"`
	// Variables is the number of variable values in its variable set.
	Variables int `json:"variables"`
	// Runbooks is the number of its runbooks.
	Runbooks int `json:"runbooks"`
	// Channels is the number of its channels.
	Channels int `json:"channels"`
}

// count returns the count of p that a schema.Tally named as keeps, or nil.
func (p *ProjectInfo) count(as string) *int {
	switch as {
	case "Steps":
		return &p.Steps
	case "Variables":
		return &p.Variables
	case "Runbooks":
		return &p.Runbooks
	case "Channels":
		return &p.Channels
	}
	return nil
}

// Inspect describes bundle b (read from path), checking its signature
// against keys when any are given.
func Inspect(path string, b *bundles.Bundle, keys []sign.PublicKey) *Info {
	m := b.Manifest
	info := &Info{
		Path: path, Format: m.Format, ToolVersion: m.ToolVersion, Source: SourceOf(m.Source),
		ExportedAt: m.ExportedAt, Digest: b.Digest(), Selection: m.Projects,
		Rules: []RuleInfo{}, Counts: []KindCount{}, Projects: []ProjectInfo{},
	}
	for _, r := range m.Rules {
		info.Rules = append(info.Rules, RuleInfo{Name: r.Name, Digest: r.Digest})
	}
	_, info.ApplyPolicy = b.Raw(bundles.PolicyFile)
	if in := m.Input; in != nil {
		info.Input = &InputInfo{Digest: in.Digest, Format: in.Format, KeyID: in.KeyID, Verified: in.Verified}
	}

	info.Signature = SignatureOf(sign.Check(b, keys))
	info.Counts = CountsOf(m.Counts)
	projects := map[string]*ProjectInfo{}
	get := func(name string) *ProjectInfo {
		if projects[name] == nil {
			projects[name] = &ProjectInfo{Name: name}
		}
		return projects[name]
	}
	for e := range b.All() {
		if len(e.Names) == 0 {
			continue
		}
		name, ok := e.Kind.SelectedBy(e.Names)
		t := e.Kind.Tally
		switch {
		case !ok:
		case t != nil:
			if n := get(name).count(t.As); n != nil {
				*n += t.Count(e.Doc)
			}
		case e.Kind.Selectable():
			get(name)
		}
	}
	for _, p := range projects {
		info.Projects = append(info.Projects, *p)
	}
	sort.Slice(info.Projects, func(i, j int) bool { return info.Projects[i].Name < info.Projects[j].Name })
	if m.Kind == bundles.KindRelease {
		info.Release = releaseOf(b)
	}
	return info
}

// SignatureOf is the SignatureInfo of a signature check's result and error
// (see sign.Check).
func SignatureOf(res sign.Result, err error) SignatureInfo {
	var si SignatureInfo
	switch {
	case !res.Signed:
		si.State = Unsigned
	case err != nil:
		si.State, si.Problem = Invalid, err.Error()
	case res.Verified:
		si.State, si.TrustedKey = Valid, res.By.File
		si.CoversManifest = res.CoversManifest
	default:
		si.State = NotChecked
	}
	si.KeyID, si.TrustedComment = res.KeyID, res.TrustedComment
	return si
}

// CountsOf lists counts (entity files per kind name) in sync order,
// leaving out the kinds counted zero; never nil.
func CountsOf(counts map[string]int) []KindCount {
	out := []KindCount{}
	for _, k := range schema.Kinds() {
		if n := counts[k.Name]; n > 0 {
			out = append(out, KindCount{Kind: k.Name, Count: n})
		}
	}
	return out
}

// WriteJSON writes the information as indented JSON.
func (i *Info) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(i)
}

// WriteText writes the information for people.
func (i *Info) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	line := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	line("bundle", i.Path)
	line("format", i.Format+" (written by octobundle "+i.ToolVersion+")")
	line("source", strings.TrimSpace(i.Source.Server+" (Octopus "+i.Source.ServerVersion+")"))
	line("space", i.Source.Space)
	line("exported", i.ExportedAt.UTC().Format(time.RFC3339))
	line("digest", i.Digest)
	if len(i.Selection) > 0 {
		line("projects selected", strings.Join(i.Selection, ", "))
	}
	if len(i.Rules) == 0 {
		line("rules", "none (not transformed)")
	}
	for n, r := range i.Rules {
		line(fmt.Sprintf("rules[%d]", n+1), r.Name+" "+r.Digest)
	}
	if in := i.Input; in != nil {
		what := "unsigned"
		switch {
		case in.KeyID != "" && in.Verified:
			what = "signed by key " + in.KeyID + ", checked against a trusted key when transformed"
		case in.KeyID != "":
			what = "signed by key " + in.KeyID + ", not checked when transformed"
		}
		line("input", in.Digest+" ("+in.Format+", "+what+")")
	}
	line("apply policy", map[bool]string{true: "yes (" + bundles.PolicyFile + ")", false: "none"}[i.ApplyPolicy])
	s := i.Signature
	switch s.State {
	case Unsigned:
		line("signature", "unsigned")
	case NotChecked:
		if s.KeyID == "" {
			line("signature", "present, but "+bundles.SignatureFile+" is not a minisign signature")
			break
		}
		line("signature", "signed by key "+s.KeyID+" (not checked: give --pubkey FILE)")
	case Valid:
		if !s.CoversManifest {
			line("signature", "valid: signed by key "+s.KeyID+" ("+s.TrustedKey+"), but covers checksums.txt only, not manifest.json ("+i.Format+"; sign it again: "+sign.ResignCommand(i.Path)+")")
			break
		}
		line("signature", "valid: signed by key "+s.KeyID+" ("+s.TrustedKey+")")
	default:
		line("signature", "INVALID: "+s.Problem)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nentities:")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	for _, c := range i.Counts {
		fmt.Fprintf(tw, "  %d\t %s\n", c.Count, c.Kind)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(i.Projects) > 0 {
		fmt.Fprintln(w, "\nprojects:")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  name\tsteps\tvariables\trunbooks\tchannels")
		for _, p := range i.Projects {
			fmt.Fprintf(tw, "  %s\t%d\t%d\t%d\t%d\n", p.Name, p.Steps, p.Variables, p.Runbooks, p.Channels)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if r := i.Release; r != nil {
		return r.writeText(w)
	}
	return nil
}

// writeText writes the release section of inspect's text output.
func (r *ReleaseInfo) writeText(w io.Writer) error {
	fmt.Fprintln(w, "\nrelease:")
	if r.Problem != "" {
		_, err := fmt.Fprintf(w, "  cannot be read: %s\n", r.Problem)
		return err
	}
	notes := "no release notes"
	if r.ReleaseNotes {
		notes = "with release notes"
	}
	fmt.Fprintf(w, "  %s %s, channel %q, %s\n", r.Project, r.Version, r.Channel, notes)
	fmt.Fprintf(w, "  needs the project's configuration %s\n", r.Configuration)
	fmt.Fprintf(w, "  %d package references, %d package files carried (%d bytes), %d build information records\n",
		len(r.Packages), r.Carried, r.CarriedBytes, r.BuildInformation)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, p := range r.Packages {
		from := fmt.Sprintf("feed %q", p.Feed)
		if p.BuiltIn {
			from += " (built-in)"
		}
		carried := "not carried"
		if p.File != "" {
			carried = fmt.Sprintf("carried, %d bytes", p.Size)
		}
		ref := release.Package{StepName: p.Step, ActionName: p.Action, PackageReferenceName: p.PackageReference}
		fmt.Fprintf(tw, "    %s\t%s %s\t%s\t%s\n", ref.Label(), p.PackageID, p.Version, from, carried)
	}
	return tw.Flush()
}
