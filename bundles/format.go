package bundles

// FormatV3 is the format version this package writes: the layout of
// FormatV2, and a signature must bind manifest.json. A signature of a
// FormatV3 bundle (see package sign) carries the sha256 of
// manifest.json in its trusted comment, so every field of the manifest —
// Projects, Source, Rules, Input, ExportedAt, ToolVersion, Counts — is
// under the signature, while the digest stays the sha256 of checksums.txt,
// which does not list manifest.json (the manifest records the digest: a
// checksums.txt that listed it would be circular). The format version
// itself is the mark: a FormatV3 bundle whose signature does not bind the
// manifest is refused, so a manifest cannot be downgraded to escape the
// check.
const FormatV3 = "octobundle/v3"

// Format is the format version new bundles are written in.
const Format = FormatV3

// Formats are the format versions this package reads and writes, newest
// first.
var Formats = []string{FormatV3, FormatV2, FormatV1}

// Known reports whether format is one of Formats.
func Known(format string) bool {
	for _, f := range Formats {
		if f == format {
			return true
		}
	}
	return false
}

// HasSidecars reports whether bundles of format keep long texts in sidecar
// files (FormatV2 and later).
func HasSidecars(format string) bool { return format == FormatV2 || format == FormatV3 }

// SignsManifest reports whether a signature of a bundle of format must bind
// manifest.json (FormatV3 and later). The signature of an older bundle
// covers checksums.txt only: its manifest can be edited without breaking
// it.
func SignsManifest(format string) bool { return format == FormatV3 }
