package bundles

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Bundle kinds: what a bundle carries, recorded as the manifest's Kind.
// A configuration bundle (Kind absent) carries entity files only; any
// other kind carries, besides its entity files, attached files below
// AttachDir (see Attach).
const (
	// KindConfiguration is a configuration bundle: what export writes
	// and apply applies. The manifest records it as no Kind at all, so
	// every bundle written before kinds existed is one.
	KindConfiguration = ""
	// KindRelease is a release bundle (release export): one release of
	// one project, the project's configuration it was cut from as entity
	// files, and below AttachDir the release itself and, optionally, its
	// built-in feed packages (see package release). plan and apply refuse
	// it; release plan and release apply take it.
	KindRelease = "release"
	// KindResults is a results bundle (release report): the deployments
	// of promoted releases on a destination, as entity files of the
	// registry's ReleaseResult kind; it has no attached files.
	KindResults = "results"
)

// Kinds are the bundle kinds readers accept.
var Kinds = []string{KindConfiguration, KindRelease, KindResults}

// AttachDir is the folder of a non-configuration bundle's attached files:
// files the kind registry does not describe, whose bytes are kept exactly
// (a release's JSON document, package files). They are listed in
// checksums.txt like every file, so the digest and a signature cover them.
const AttachDir = "attached"

// isAttachPath reports whether p is below AttachDir.
func isAttachPath(p string) bool { return strings.HasPrefix(p, AttachDir+"/") }

// checkAttachPath checks the path of an attached file: below AttachDir, a
// safe bundle path.
func checkAttachPath(p string) error {
	if !isAttachPath(p) {
		return fmt.Errorf("attached file %q is not below %s/", p, AttachDir)
	}
	return checkPath(p)
}

// Attach adds (or replaces) the attached file at bundle path p (below
// AttachDir) with data, which is kept byte for byte. Only a bundle whose
// Manifest.Kind is not KindConfiguration has attached files; Seal refuses
// them in a configuration bundle. It unseals the bundle.
func (b *Bundle) Attach(p string, data []byte) error {
	if err := checkAttachPath(p); err != nil {
		return fmt.Errorf("bundles: %w", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if old, ok := b.attached[p]; ok && bytes.Equal(old, data) {
		return nil
	}
	if b.attached == nil {
		b.attached = map[string][]byte{}
	}
	b.attached[p] = bytes.Clone(data)
	b.unseal()
	return nil
}

// Attached returns the bytes of the attached file at p; the caller must
// not change them.
func (b *Bundle) Attached(p string) ([]byte, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	d, ok := b.attached[p]
	return d, ok
}

// AttachedPaths returns the paths of the attached files, sorted.
func (b *Bundle) AttachedPaths() []string {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return slices.Sorted(maps.Keys(b.attached))
}

// checkKind checks a manifest's Kind and that only a non-configuration
// bundle has attached files.
func checkKind(kind string, attached int) error {
	if !slices.Contains(Kinds, kind) {
		return fmt.Errorf("%s: unknown bundle Kind %q (this version reads %q)", ManifestFile, kind, Kinds)
	}
	if kind == KindConfiguration && attached > 0 {
		return fmt.Errorf("a configuration bundle has no %s/ files", AttachDir)
	}
	return nil
}
