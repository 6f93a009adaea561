// Package limits names the bounds octobundle puts on everything it reads
// from outside (bundles, archives, rule files, saved plans, server answers)
// and the error that reports one of them was passed. Every reader that takes
// untrusted bytes checks its input against one of these constants before it
// allocates in proportion to it, so a hostile or broken input fails with a
// clear message naming the limit and the file or request, never with an
// out-of-memory kill or a stack overflow.
//
// The values are generous for real Octopus spaces (thousands of projects)
// and small enough that eight concurrent requests at the response limit, or
// one bundle at the total limit, stay within an ordinary machine's memory.
package limits

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// The limits. Sizes are in bytes.
const (
	// ArchiveEntries is the most entries (files and directories) a bundle
	// archive, or files a bundle directory, may hold, unless the
	// environment variable named by ArchiveEntriesEnv sets another limit.
	// A generated space has about 19 files per project (186,000 files for
	// 10,000 projects), so this is room for about 50,000 projects, as many
	// as CollectionItems lets a collection hold. It guards against an archive
	// of millions of tiny entries, not against large spaces: the memory an
	// entry costs beyond its content (its name, which counts toward
	// TotalSize, and a few hundred bytes of bookkeeping) stays under a few
	// hundred MiB at this limit.
	ArchiveEntries = 1_000_000
	// FileSize is the largest single bundle file. The largest real entity
	// files are variable sets with thousands of values and processes with
	// inline scripts: a few MiB.
	FileSize = 64 << 20
	// TotalSize is the largest total decompressed size of a bundle, its
	// file names included. The sample bundle is 270 KB for 4 projects; a
	// generated space of 2,000 projects is 106 MB (10,000: about 530 MB).
	TotalSize = 1 << 30
	// CompressionRatio is the largest ratio of decompressed to compressed
	// size of an archive (checked once 8 MiB have been decompressed): canonical
	// JSON compresses about 20–40×; a decompression bomb compresses 1000× and
	// more.
	CompressionRatio = 200
	// JSONDepth is the deepest nesting of JSON arrays and objects in a
	// bundle file, a plan or a policy. Octopus documents nest about 10 deep.
	JSONDepth = 512
	// YAMLDepth is the deepest nesting of a rule file.
	YAMLDepth = 64
	// NameLength is the longest file or directory name (one path segment,
	// in bytes) in a bundle; most file systems refuse longer names.
	NameLength = 255
	// RuleFileSize is the largest rule file. Real rule files are a few KiB.
	RuleFileSize = 4 << 20
	// PlanFileSize is the largest saved plan. The sample plan is 130 KB for
	// 4 projects: a 2,000-project first sync is about 65 MB.
	PlanFileSize = 256 << 20
	// ResponseSize is the largest answer octobundle reads from the Octopus
	// server for one request. A page of 200 of the largest documents (variable
	// sets, processes) is a few MiB; with eight requests in flight the bound
	// is 512 MiB of buffers in the very worst case.
	ResponseSize = 64 << 20
	// CollectionItems is the most items octobundle reads from one server
	// collection (all pages together). A 2,000-project instance has a few
	// thousand items in its largest collection; a server that reports a
	// billion would otherwise be paged through forever.
	CollectionItems = 1_000_000
	// SmallFileSize bounds small local inputs: an API key file, a CA
	// certificate bundle.
	SmallFileSize = 1 << 20
)

// ArchiveEntriesEnv names the environment variable that, set to a positive
// number, replaces ArchiveEntries as the file count limit of bundles read
// with the default limits: a space larger than ArchiveEntries allows needs
// it raised.
const ArchiveEntriesEnv = "OCTOBUNDLE_MAX_BUNDLE_FILES"

// BundleFiles returns the file count limit of bundles read with the
// default limits: ArchiveEntries, or the value of ArchiveEntriesEnv when it
// is set. A value that is not a positive whole number is an error naming
// the variable.
func BundleFiles() (int, error) {
	v := strings.TrimSpace(os.Getenv(ArchiveEntriesEnv))
	if v == "" {
		return ArchiveEntries, nil
	}
	n, err := strconv.Atoi(strings.ReplaceAll(v, "_", ""))
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s=%q: want a positive number of files", ArchiveEntriesEnv, v)
	}
	return n, nil
}

// Error reports that an input passed a limit. It names the input (a file, an
// archive entry, a request) and the limit, and never holds the input's
// content.
type Error struct {
	// Subject is what was being read: a file name, an archive entry, a
	// request ("GET /api/Spaces-1/projects").
	Subject string
	// Limit names the limit ("response size", "JSON nesting depth").
	Limit string
	// Max is the limit's value.
	Max int64
	// Unit is "bytes" for sizes, or what Max counts ("entries", "levels").
	Unit string
	// Note, when set, is appended in parentheses ("possible decompression
	// bomb").
	Note string
}

// Error renders "SUBJECT: exceeds the LIMIT limit of MAX UNIT".
func (e *Error) Error() string {
	msg := fmt.Sprintf("exceeds the %s limit of %s", e.Limit, Format(e.Max, e.Unit))
	if e.Note != "" {
		msg += " (" + e.Note + ")"
	}
	if e.Subject == "" {
		return msg
	}
	return e.Subject + ": " + msg
}

// Format renders a limit value: sizes as "64 MiB (67108864 bytes)", other
// counts as "512 levels".
func Format(n int64, unit string) string {
	if unit != "bytes" {
		return fmt.Sprintf("%d %s", n, unit)
	}
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB (%d bytes)", n>>30, n)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB (%d bytes)", n>>20, n)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB (%d bytes)", n>>10, n)
	}
	return fmt.Sprintf("%d bytes", n)
}

// Size returns the Error for subject exceeding the size limit named limit.
func Size(subject, limit string, max int64) *Error {
	return &Error{Subject: subject, Limit: limit, Max: max, Unit: "bytes"}
}

// Is reports whether err is, or wraps, an *Error.
func Is(err error) bool {
	var le *Error
	return errors.As(err, &le)
}

// ReadAll reads r to its end, failing with Size(subject, limit, max) as soon
// as more than max bytes arrive; it never holds more than max+1 bytes.
func ReadAll(r io.Reader, max int64, subject, limit string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", subject, err)
	}
	if int64(len(data)) > max {
		return nil, Size(subject, limit, max)
	}
	return data, nil
}

// ReadFile reads the file at path, failing with an *Error naming path when
// it is larger than max bytes (checked before reading when the file system
// knows the size, and while reading otherwise: a pipe or a device).
func ReadFile(path string, max int64, limit string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > max {
		return nil, Size(path, limit, max)
	}
	return ReadAll(f, max, path, limit)
}
