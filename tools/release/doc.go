// Package release holds the release scripts behind make dist and make
// reproducible (dist.sh, reproducible.sh) and their test: the binaries,
// a CycloneDX SBOM per binary, SHA256SUMS, its minisign signature, and
// the proof that two builds from different folders are byte-identical.
// docs/security.md shows how a change board verifies a release with them.
package release
