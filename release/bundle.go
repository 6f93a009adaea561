package release

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/schema"
)

// DocFormat is the format of attached/release.json.
const DocFormat = "octobundle-release/v1"

// DocFile is the bundle path of the release document.
const DocFile = bundles.AttachDir + "/release.json"

// PackageDir is the folder of the carried package files.
const PackageDir = bundles.AttachDir + "/packages"

// Doc is the release document (attached/release.json).
type Doc struct {
	// Format is DocFormat.
	Format string
	// Project is the project's name.
	Project string
	// Version is the release version.
	Version string
	// Channel is the name of the release's channel.
	Channel string
	// ReleaseNotes are the source release's notes ("" for none).
	ReleaseNotes string `json:",omitempty"`
	// Packages are the package versions the release selected, one per
	// package reference of every step.
	Packages []Package
	// BuildInformation is what the source recorded about the builds of
	// the selected built-in feed packages (as the release carries it).
	BuildInformation []BuildInfo `json:",omitempty"`
	// Configuration says which configuration the destination must hold.
	Configuration Configuration
}

// Package is one package reference of the release.
type Package struct {
	// StepName and ActionName name the step and action holding the
	// reference; PackageReferenceName its name ("" for the primary one).
	StepName, ActionName string
	PackageReferenceName string `json:",omitempty"`
	// PackageID is the package's ID in its feed ("OctoFX.Web").
	PackageID string
	// Version is the version the release selected.
	Version string
	// Feed is the name of the feed the reference uses.
	Feed string
	// BuiltIn reports that the feed is the source's built-in feed.
	BuiltIn bool `json:",omitempty"`
	// File is the carried package file's bundle path, for a built-in
	// feed package exported with --with-packages.
	File string `json:",omitempty"`
	// SHA256 is the hex sha256 of the file; SHA1 the hex sha1, which the
	// server keeps as the package's Hash; Size its length in bytes.
	SHA256 string `json:",omitempty"`
	SHA1   string `json:",omitempty"`
	Size   int64  `json:",omitempty"`
}

// PackageJSON is a package reference as the JSON outputs show it
// (release export --output json, inspect --output json): camelCase keys,
// the carried file's fields only when the bundle carries it.
type PackageJSON struct {
	Step             string `json:"step"`
	Action           string `json:"action"`
	PackageReference string `json:"packageReference,omitempty"`
	PackageID        string `json:"packageId"`
	Version          string `json:"version"`
	Feed             string `json:"feed"`
	BuiltIn          bool   `json:"builtIn"`
	// File, SHA256, SHA1 and Size describe a carried package file.
	File   string `json:"file,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	SHA1   string `json:"sha1,omitempty"`
	Size   int64  `json:"size,omitempty"`
}

// PackagesJSON returns the package references in their JSON form (never
// nil).
func PackagesJSON(ps []Package) []PackageJSON {
	out := []PackageJSON{}
	for _, p := range ps {
		out = append(out, PackageJSON{Step: p.StepName, Action: p.ActionName, PackageReference: p.PackageReferenceName,
			PackageID: p.PackageID, Version: p.Version, Feed: p.Feed, BuiltIn: p.BuiltIn, File: p.File, SHA256: p.SHA256, SHA1: p.SHA1, Size: p.Size})
	}
	return out
}

// Label names the reference for messages: `step "Deploy"` or
// `step "Deploy", action "Web", package "rates"`.
func (p Package) Label() string {
	s := fmt.Sprintf("step %q", p.StepName)
	if !strings.EqualFold(p.ActionName, p.StepName) {
		s += fmt.Sprintf(", action %q", p.ActionName)
	}
	if p.PackageReferenceName != "" {
		s += fmt.Sprintf(", package reference %q", p.PackageReferenceName)
	}
	return s
}

// BuildInfo is the build information of one package version, as a
// build server records it (the server's OctopusBuildInformation).
type BuildInfo struct {
	PackageID string
	Version   string
	// Build holds the build's fields (BuildEnvironment, BuildNumber,
	// BuildUrl, Branch, VcsType, VcsRoot, VcsCommitNumber, Commits,
	// WorkItems), as the source gave them.
	Build map[string]any
}

// Configuration is the configuration a release was cut from.
type Configuration struct {
	// Files are the bundle paths compared: the project's deployment
	// process and project variables, as a configuration bundle holds them.
	Files []string
	// Digest is ConfigDigest of those files as exported from the source
	// (before any transform).
	Digest string
	// Bundle is the digest of the project's configuration bundle (the
	// bundle's entity files: what `export --project` writes).
	Bundle string
}

// Bundle is a release bundle read: its document, the project's
// configuration as a configuration bundle, and the bundle itself.
type Bundle struct {
	Doc Doc
	// Config is the configuration bundle the release bundle's entity
	// files make (sealed): what plan transforms with --rules.
	Config *bundles.Bundle
	// Raw is the release bundle.
	Raw *bundles.Bundle
}

// Open reads the release of a release bundle b (already read and
// verified by bundles.Read): it must be of KindRelease, its document
// valid, its carried files those the document lists with the sums it
// gives, and its configuration files those of Configuration.Digest.
func Open(b *bundles.Bundle) (*Bundle, error) {
	if b.Manifest.Kind != bundles.KindRelease {
		return nil, errors.New("not a release bundle (its manifest has no Kind \"release\"): use plan or apply for a configuration bundle")
	}
	data, ok := b.Attached(DocFile)
	if !ok {
		return nil, fmt.Errorf("the release bundle has no %s", DocFile)
	}
	var d Doc
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("%s: %w", DocFile, err)
	}
	if err := d.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", DocFile, err)
	}
	listed := map[string]bool{DocFile: true}
	for _, p := range d.Packages {
		if p.File == "" || listed[p.File] {
			continue
		}
		listed[p.File] = true
		data, ok := b.Attached(p.File)
		if !ok {
			return nil, fmt.Errorf("%s names %s, which the bundle lacks", DocFile, p.File)
		}
		if got := sum256(data); got != p.SHA256 {
			return nil, fmt.Errorf("%s: its sha256 is %s, %s says %s", p.File, got, DocFile, p.SHA256)
		}
	}
	for _, p := range b.AttachedPaths() {
		if !listed[p] {
			return nil, fmt.Errorf("%s: a file %s does not name", p, DocFile)
		}
	}
	cfg, err := configView(b)
	if err != nil {
		return nil, err
	}
	if got, err := ConfigDigest(cfg, d.Configuration.Files); err != nil {
		return nil, err
	} else if got != d.Configuration.Digest {
		return nil, fmt.Errorf("the configuration files' digest is %s, %s says %s", got, DocFile, d.Configuration.Digest)
	}
	return &Bundle{Doc: d, Config: cfg, Raw: b}, nil
}

// check checks what a release document must hold.
func (d *Doc) check() error {
	var errs []error
	if d.Format != DocFormat {
		errs = append(errs, fmt.Errorf("format %q, this version reads %s", d.Format, DocFormat))
	}
	if d.Project == "" || d.Version == "" || d.Channel == "" {
		errs = append(errs, errors.New("the release needs a Project, Version and Channel"))
	}
	if len(d.Configuration.Files) == 0 || d.Configuration.Digest == "" {
		errs = append(errs, errors.New("Configuration names no files"))
	}
	for _, p := range d.Packages {
		if p.ActionName == "" || p.PackageID == "" || p.Version == "" {
			errs = append(errs, fmt.Errorf("package %q: ActionName, PackageID and Version are required", p.PackageID))
		}
		if p.File != "" && (path.Dir(p.File) != PackageDir || p.SHA256 == "" || p.SHA1 == "") {
			errs = append(errs, fmt.Errorf("package %s %s: File must be in %s/ with SHA256 and SHA1", p.PackageID, p.Version, PackageDir))
		}
	}
	return errors.Join(errs...)
}

// configView is the configuration bundle of b's entity files, sealed,
// with b's source.
func configView(b *bundles.Bundle) (*bundles.Bundle, error) {
	m := b.Manifest
	m.Kind, m.Counts, m.Digest = bundles.KindConfiguration, nil, ""
	m.Rules, m.Input = nil, nil
	c := bundles.New(m)
	for _, e := range b.Entries() {
		if err := c.PutFile(e.Path, e.Doc); err != nil {
			return nil, err
		}
	}
	if err := c.Seal(); err != nil {
		return nil, err
	}
	return c, nil
}

// ConfigFiles are the bundle paths of the configuration a release of
// project is compared by, from the kind registry: its deployment process
// and project variables, and the variables of every library variable set
// and script module the project includes that cfg (the project's
// configuration bundle, as export --project writes it) holds. Octopus
// snapshots the included sets' variables into a release when it is
// created, so a destination whose sets differ would make a release with
// other values.
func ConfigFiles(cfg *bundles.Bundle, project string) ([]string, error) {
	var out []string
	for _, name := range []string{schema.DeploymentProcess, schema.ProjectVariables} {
		p, err := schema.MustLookup(name).Path(bundles.EscapeName(project))
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	for _, set := range includedSets(cfg, project) {
		for _, name := range []string{schema.LibraryVariables, schema.ScriptModuleVariables} {
			p, err := schema.MustLookup(name).Path(bundles.EscapeName(set))
			if err != nil {
				return nil, err
			}
			if _, ok := cfg.Raw(p); ok && !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// includedSets returns the names of the library variable sets and script
// modules the project's document in cfg includes (none when cfg lacks
// the project).
func includedSets(cfg *bundles.Bundle, project string) []string {
	doc, _ := cfg.Entity(schema.MustLookup(schema.Project), project)
	m, _ := doc.(map[string]any)
	var out []string
	for _, id := range asSlice(m["IncludedLibraryVariableSetIds"]) {
		if name, ok := id.(string); ok {
			out = append(out, name)
		}
	}
	return out
}

// ConfigDigest is the digest of the files at paths of the configuration
// bundle b: "sha256:" and the hex sha256 of one line per file, sorted by
// path, "<hex sha256 of the file's canonical JSON, texts inline>  <path>\n"
// (checksums.txt's form). A file b lacks counts as a line with "-" for
// its sum, so a missing process differs from an empty one.
func ConfigDigest(b *bundles.Bundle, paths []string) (string, error) {
	ps := append([]string(nil), paths...)
	sort.Strings(ps)
	var lines bytes.Buffer
	for _, p := range ps {
		sum := "-"
		if data, ok := b.Raw(p); ok {
			sum = sum256(data)
		}
		fmt.Fprintf(&lines, "%s  %s\n", sum, p)
	}
	return "sha256:" + sum256(lines.Bytes()), nil
}

func sum256(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

func sum1(data []byte) string {
	h := sha1.Sum(data)
	return hex.EncodeToString(h[:])
}
