// Package bundles implements the octobundle bundle format. This comment is
// the format's specification; the code follows it.
//
// # Format octobundle/v3
//
// This specifies format octobundle/v3, which writers produce. It has the
// files and bytes of octobundle/v2; what changed is the signature (see
// Signature): a v3 signature binds manifest.json too. Format octobundle/v1
// is v2 without sidecar text files (every text inline) and with every
// object's keys in plain byte order. Readers still accept v1 and v2, and a
// bundle read in one is written back in it, byte for byte (its digest and
// signature stay valid), except that signing moves it to v3. The
// differences are marked "(v2)" (v2 and v3) below.
//
// A bundle is the content of one Octopus Deploy space, keyed by name and free
// of instance-specific IDs, as a set of files. It has two forms with the same
// files and bytes: a directory (committed to git and reviewed as a diff) and
// an archive NAME.tar.zst (carried across air gaps). Every command accepts
// either form; Pack and Unpack convert between them.
//
// # Layout
//
//	manifest.json                      what the bundle is (see Manifest)
//	checksums.txt                      sha256 of every other file
//	checksums.txt.minisig              optional minisign signature of checksums.txt
//	apply-policy.json                  optional apply-time policy set by transform rules (see policy.File)
//	environments/Production.json       one file per entity …
//	projects/OctoFX/project.json
//	projects/OctoFX/deployment-process.json
//	projects/OctoFX/deployment-process/Deploy Web.ps1   a sidecar text file (v2, see below)
//	projects/OctoFX/variables.json
//	projects/OctoFX/runbooks/Restart IIS/runbook.json
//	teams/Ops/scoped-user-roles.json   … or per owner, for ShapeItems kinds (an array)
//	projects/OctoFX/logo               the bytes of a binary file (see below)
//
// Each entity file's path is its kind's File template from the kind registry
// (package schema), with each "{}" replaced by an escaped name, owners first.
// The kind and names of a file are recovered from its path
// (schema.KindForPath and UnescapeName). A named entity's name field (Name)
// must equal the last name in its path. Readers skip well-known files that
// git, macOS and Windows put into folders — anything in .git (a directory or
// a file), .gitattributes, .DS_Store, Thumbs.db and desktop.ini, at any depth
// — and log each at debug level (see Ignored); any other file is an error
// ("unknown file"). There are no empty directories worth keeping, and
// directories carry no information.
//
// # Bundles in git
//
// A bundle directory is meant to be committed. Write puts a .gitattributes
// file with the line "* -text" into a new bundle directory (and into an
// existing one that has none; an existing one is never changed), so a
// checkout with core.autocrlf=true keeps the bytes the checksums cover; the
// file is not a bundle file (not listed, not packed). No bundle file ever
// contains a carriage return followed by a line feed (canonical JSON escapes
// it) — sidecar text files and binary files excepted, which hold their text
// or bytes as they are — so readers that find CRLF line endings in a JSON
// file or checksums.txt say so and name this fix, instead of reporting a
// checksum or canonical-form error.
//
// # Sidecar text files (v2)
//
// Long text fields — the kind registry lists them as schema.Kind.Texts:
// inline script bodies of deployment and runbook process actions and of
// step templates, and multi-line values of variable sets (script module
// bodies among them) — live in sidecar text files beside their entity's
// JSON file, so a one-line script change is a one-line diff:
//
//   - the sidecar folder of entity file X.json is X
//     (projects/OctoFX/deployment-process.json →
//     projects/OctoFX/deployment-process/)
//   - a sidecar file is named after the innermost array element on the
//     field's path, by its identity (see Identify): an action's name, a
//     variable's name and scope ("Config Environment=Production"); a field
//     outside any array (a step template's script) takes the name the
//     registry gives (TextField.File, "script"). The name is escaped as an
//     entity name (EscapeName); names that collide (under case folding) or
//     would be too long get " (2)", " (3)" … in document order
//   - the extension comes from the script's syntax field (PowerShell .ps1,
//     Bash .sh, CSharp .csx, FSharp .fsx, Python .py), .txt otherwise
//   - the file holds the field's text exactly (UTF-8, any line endings); an
//     empty text, and a one-line value of a MultiLine field, stay inline
//   - in the JSON file the field's value is the object {"$file": NAME}
//     (SidecarKey), NAME being the file's name in the sidecar folder
//
// Readers replace each {"$file": NAME} by the file's text before checking
// the document (schema, ID-freeness), reject a missing sidecar, a sidecar
// no field refers to ("unknown file"), and any file that is not exactly
// what splitting the joined document again produces (a script left inline,
// a sidecar under another name). Sidecar files are listed in checksums.txt
// like every file; they are not entities and are not counted.
//
// # Binary files
//
// A kind of schema.ShapeBinary (a project's logo,
// projects/{}/logo) has a file holding bytes, not JSON: exactly the bytes
// the server answers (an image; its format is told by its content, so the
// file name has no extension). It is not canonicalised, has no JSON Schema
// and holds no references; it must not be empty nor larger than
// MaxBinarySize (8 MiB). Like every other file it is listed in
// checksums.txt and counted in the manifest's Counts. An entity without
// such a resource (a project without a logo) has no file. In memory
// (Entry.Doc, Bundle.Entity) its document is a []byte.
//
// # Canonical JSON
//
// Every JSON file (entities other than binary files, and manifest.json) is
// canonical; readers reject
// files that are not, so a value has exactly one byte representation and a
// change in Octopus is a few lines in a diff:
//
//   - UTF-8, no byte order mark; invalid UTF-8 is rejected, never replaced
//   - object keys sorted by byte order (of their UTF-8 encoding), except
//     that (v2) in entity files "Name" and then "Value", where present, come
//     first, so a variable's name sits on the line next to its value and a
//     diff of the value shows whose it is (manifest.json and
//     apply-policy.json keep plain byte order); no duplicate keys
//   - two-space indentation, one member or element per line, ": " between key
//     and value, "\n" line endings, a trailing newline; empty objects and
//     arrays are written "{}" and "[]"
//   - strings escape only '"', '\\', control characters (as \n, \r, \t, \b,
//     \f or \u00XX, lower-case hex) and U+2028/U+2029; '<', '>', '&' and all
//     other characters are literal (the output of Go's encoding/json with
//     HTML escaping off)
//   - numbers are written exactly as they were read ("1.0" stays "1.0",
//     large integers keep every digit); Decode keeps them as json.Number
//   - at most 512 levels of nesting
//
// Set-like arrays are sorted and volatile fields dropped by the exporter
// (from the kind registry); the format only fixes the encoding.
//
// # Names in paths
//
// An entity name becomes one path segment by EscapeName, which is reversible
// and keeps ordinary names readable ("Restart IIS", "OctoFX", "Zürich").
// Bytes that are unsafe in a file name on Linux, macOS or Windows become %XX
// (upper-case hex of each UTF-8 byte):
//
//   - '%', '/', '\\', and the characters Windows forbids: < > : " | ? *
//   - control characters, invisible and format characters (zero-width and
//     bidi controls), combining marks, private-use and unassigned code points,
//     spaces other than U+0020, and each byte of invalid UTF-8
//   - a leading '.' or space and a trailing '.' or space ("." and ".." can
//     never be a segment; Windows strips trailing dots and spaces)
//   - the first character of a Windows device name (CON, PRN, AUX, NUL,
//     COM0-9, LPT0-9, COM¹²³, LPT¹²³, CONIN$, CONOUT$; any case, with or
//     without an extension): "CON" is stored as "%43ON"
//   - the first character of Thumbs.db and desktop.ini (any case), which
//     readers would skip (Ignored): "Thumbs.db" is stored as "%54humbs.db"
//
// An escaped name longer than MaxEscaped (200) bytes is stored shortened:
// at most 160 bytes of it, "%~" and 32 hex digits of the name's sha256
// (see ShortenedSuffix). The full name is inside: the entity's name field,
// or, for an owner's directory, its owner's file; readers take it from
// there and check it shortens to that file name.
//
// UnescapeName accepts only segments that EscapeName produces, so every name
// has exactly one file name. A segment longer than 255 bytes is an error.
// Case is preserved, so two names differing only in case would collide on a
// case-insensitive file system (Windows, macOS): writers and readers compare
// every path and directory under Unicode simple case folding and reject a
// collision, naming both entities. (Octopus itself treats names as
// case-insensitive, so a real space never has such a pair.)
//
// # Manifest
//
// manifest.json (schema: schema/jsonschemas/manifest.schema.json):
//
//	{
//	  "Counts": {"Environment": 3, "Project": 2, …},   entity files per kind
//	  "Digest": "sha256:<hex>",                       sha256 of checksums.txt
//	  "ExportedAt": "2024-05-01T10:00:00Z",           RFC 3339, UTC, seconds
//	  "Format": "octobundle/v3",
//	  "Input": {"Digest": "sha256:…", "Format": …, "KeyID": …},  optional, transform's input bundle
//	  "Projects": ["OctoFX", …],                      optional, a --project export's selection
//	  "Rules": [{"Name": …, "Digest": "sha256:…", "Text": …}],   optional, transform rules (Text: normalised)
//	  "Source": {"Server": URL, "ServerVersion": …, "Space": …},
//	  "ToolVersion": "…"
//	}
//
// Source.Server never carries credentials (user info or API keys are
// refused). Input records, in a bundle transform wrote, the input bundle's
// digest and format and the ID of the key whose signature it carried.
// Readers reject any Format other than octobundle/v3, v2 and v1 before
// anything else, and ignore unknown manifest fields
// (later tools of the same format may add some); Counts must match the
// entity files exactly.
//
// # Checksums and digest
//
// checksums.txt has one line per file, "<sha256 hex>  <path>\n" (lower-case
// hex, two spaces, as sha256sum prints), sorted by path in byte order,
// covering every file except manifest.json, checksums.txt and
// checksums.txt.minisig. The bundle digest is "sha256:" +
// hex(sha256(checksums.txt)) and is recorded as the manifest's Digest; a
// signature signs checksums.txt and names the digest and the manifest's
// identity fields in its trusted comment. So one signature pins
// checksums.txt, which pins every file, and the manifest, while two
// exports of an unchanged space have byte-identical entity files and
// checksums.txt — and the same digest — even though the manifest records a
// different export time (the Zarf model: the aggregate checksum lives in the
// metadata file that the checksums do not cover). Readers reject a file not
// listed, a listed file that is missing, a mismatching sum, and a digest that
// does not match.
//
// # Archive
//
// NAME.tar.zst is a tar stream compressed with zstd, built reproducibly so
// that two packs of the same directory are byte-identical (with the same
// version of the zstd encoder; hashes and signatures cover the uncompressed
// content, never the archive bytes):
//
//   - one regular-file entry per file, sorted by path; no directory entries
//     (readers accept and ignore safe directory entries)
//   - PAX format (extended headers only where USTAR cannot hold a name),
//     mode 0644, uid and gid 0, empty user and group names, mtime the Unix
//     epoch
//   - zstd level "better" (klauspost/compress SpeedBetterCompression),
//     single-threaded encoder, 8 MiB window, content checksum on
//
// Directories are written with mode 0755 and files 0644. A new directory is
// written to a temporary sibling and renamed into place, so a reader never
// sees a partial bundle. An existing directory is updated in place and only
// files of the layout are touched: each changed file is replaced through a
// temporary sibling and a rename, manifest.json last, then layout files the
// new bundle no longer has are removed; anything else (.git, a README, CI
// configuration) is left alone. A directory that holds layout files but no
// manifest.json is refused.
//
// # Signature
//
// checksums.txt.minisig is a minisign signature (prehashed Ed25519, the
// format of the minisign tool) of checksums.txt, whose sha256 is the digest,
// so `minisign -Vm checksums.txt -p KEY.pub` checks a bundle directory
// without octobundle. Its trusted comment binds the manifest's identity
// fields (see package sign), so a signature cannot be moved to
// another bundle, and (v3) the sha256 of manifest.json ("manifest=sha256:…"),
// so no manifest field can be edited; manifest.json is not in checksums.txt
// because it records the digest (that would be circular). A v3 bundle whose
// signature does not bind its manifest is refused. The signature is part of both forms (Pack and Unpack carry
// it) but not listed in checksums.txt; changing the bundle drops it.
//
// # Reading untrusted bundles
//
// Read (and Verify, Pack, Unpack) treat every bundle as hostile. An archive
// is read completely into memory and verified before anything is written.
// Rejected: entry paths that are absolute, contain "..", ".", empty
// segments, backslashes, drive letters or control characters; symbolic
// links, hard links, devices and any entry that is not a regular file or a
// directory; duplicate entries (also under case folding); truncated or
// corrupt zstd frames or tar streams; non-zero data after the end of the
// tar stream. Limits (ReadOptions; defaults in brackets): files
// [1 000 000, or OCTOBUNDLE_MAX_BUNDLE_FILES], size of one file [64 MiB],
// total decompressed size, file names included [1 GiB], and ratio of decompressed to compressed size [200, applied past 8 MiB];
// the zstd window is at most 64 MiB. Then every file must pass the checks
// above: format version, checksums and digest, known paths, canonical JSON,
// its JSON Schema (schema.ValidateFile), ID-freeness (schema.Kind.CheckIDFree)
// and counts (binary files: the size bounds). Errors name the bundle and the
// file.
package bundles
