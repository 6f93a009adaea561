package state

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/zstd"
	"github.com/octobundle/octobundle/internal/limits"
)

// PackFile is the packed base of a destination's state folder: every
// entity's base and written documents as of the last Finish, in one
// zstd-compressed file (see the package doc).
const PackFile = "state.pack"

// packMagic opens a pack's decompressed stream.
const packMagic = "octobundle-state-pack/v1\n"

// packWindow is the pack's compression window.
const packWindow = 1 << 20

// fileSizeLimit is the largest entity document the state holds: a bundle
// file's limit.
const fileSizeLimit = limits.FileSize

// packEntry is one entity of a pack: its canonical base and written
// documents (nil: none).
type packEntry struct {
	path          string
	base, written []byte
}

// packWriter writes a pack: entries in strictly increasing path order,
// then close.
type packWriter struct {
	zw   *zstd.Encoder
	bw   *bufio.Writer
	last string
	n    uint64
	buf  []byte
}

func newPackWriter(w io.Writer) (*packWriter, error) {
	// Many small, similar JSON documents in path order: the scale
	// benchmark's state at N = 500 (50.6 MB of documents) packs into 482 KB
	// with a 1 MiB window, 453 KB with 8 MiB; the smaller window saves its
	// readers 14 MB of memory for the 6 %.
	zw, err := zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1),
		zstd.WithEncoderCRC(true), zstd.WithWindowSize(packWindow))
	if err != nil {
		return nil, err
	}
	pw := &packWriter{zw: zw, bw: bufio.NewWriterSize(zw, 1<<16)}
	_, err = pw.bw.WriteString(packMagic)
	return pw, err
}

func (pw *packWriter) add(e packEntry) error {
	if e.path == "" || (pw.n > 0 && e.path <= pw.last) {
		return fmt.Errorf("pack entry %q out of order", e.path)
	}
	pw.last = e.path
	pw.n++
	b := appendBytes(pw.buf[:0], []byte(e.path))
	b = appendOptional(b, e.base)
	b = appendOptional(b, e.written)
	pw.buf = b
	_, err := pw.bw.Write(b)
	return err
}

// close ends the pack: an empty path, then the number of entries.
func (pw *packWriter) close() error {
	b := appendBytes(pw.buf[:0], nil)
	b = binary.AppendUvarint(b, pw.n)
	if _, err := pw.bw.Write(b); err != nil {
		return err
	}
	if err := pw.bw.Flush(); err != nil {
		return err
	}
	return pw.zw.Close()
}

// PackError is a damaged pack.
type PackError struct {
	// File is the pack's path.
	File string
	// Entry is the damaged entry's number (from 1; 0: the pack's header
	// or compression), Offset its offset in the decompressed stream.
	Entry  int
	Offset int64
	// Err says what is wrong.
	Err error
}

func (e *PackError) Error() string {
	where := "its header"
	if e.Entry > 0 {
		where = fmt.Sprintf("entry %d at decompressed offset %d", e.Entry, e.Offset)
	}
	return fmt.Sprintf("state: %s: %s: %v: the packed base is damaged (it is only ever replaced whole, so this is not a crash's doing): restore it from a backup, or remove the destination's state folder to start over (the next plan merges two-way)", e.File, where, e.Err)
}

func (e *PackError) Unwrap() error { return e.Err }

// countingReader counts the bytes read through it.
type countingReader struct {
	r *bufio.Reader
	n int64
}

func (c *countingReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := io.ReadFull(c.r, p)
	c.n += int64(n)
	return n, err
}

// readPack streams the pack file at path, calling fn for each entry in
// path order (the entry's slices are valid only during the call). An
// absent file is an empty pack.
func readPack(path string, fn func(packEntry) error) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	defer f.Close()
	zr, err := zstd.NewReader(f, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(8<<20), zstd.WithDecoderLowmem(true))
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	defer zr.Close()
	cr := &countingReader{r: bufio.NewReaderSize(zr, 1<<16)}
	fail := func(n int, off int64, err error) error {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return &PackError{File: path, Entry: n, Offset: off, Err: err}
	}
	magic := make([]byte, len(packMagic))
	if _, err := cr.Read(magic); err != nil || string(magic) != packMagic {
		if err == nil {
			err = errors.New("not an octobundle state pack")
		}
		return fail(0, 0, err)
	}
	var buf []byte
	readField := func(optional bool) ([]byte, bool, error) {
		n, err := binary.ReadUvarint(cr)
		if err != nil {
			return nil, false, err
		}
		if optional {
			if n == 0 {
				return nil, false, nil
			}
			n--
		}
		if n > fileSizeLimit {
			return nil, false, fmt.Errorf("a field of %d bytes, over the limit of %d", n, fileSizeLimit)
		}
		start := len(buf)
		buf = append(buf, make([]byte, n)...)
		if _, err := cr.Read(buf[start:]); err != nil {
			return nil, false, err
		}
		return buf[start:len(buf):len(buf)], true, nil
	}
	last := ""
	for n := 1; ; n++ {
		off := cr.n
		buf = buf[:0]
		p, _, err := readField(false)
		if err != nil {
			return fail(n, off, err)
		}
		if len(p) == 0 {
			count, err := binary.ReadUvarint(cr)
			if err != nil {
				return fail(n, off, err)
			}
			if count != uint64(n-1) {
				return fail(n, off, fmt.Errorf("the pack says it holds %d entries, it has %d", count, n-1))
			}
			if _, err := cr.ReadByte(); err != io.EOF {
				if err == nil {
					err = errors.New("data after the end of the pack")
				}
				return fail(n, cr.n, err)
			}
			return nil
		}
		path := string(p)
		if n > 1 && path <= last {
			return fail(n, off, fmt.Errorf("path %q out of order", path))
		}
		last = path
		base, _, err := readField(true)
		if err != nil {
			return fail(n, off, err)
		}
		written, _, err := readField(true)
		if err != nil {
			return fail(n, off, err)
		}
		if base == nil && written == nil {
			return fail(n, off, fmt.Errorf("%s: neither a base nor a written document", path))
		}
		if err := fn(packEntry{path: path, base: base, written: written}); err != nil {
			return err // the caller's, not the pack's
		}
	}
}
