package state

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// JournalFile is the append-only journal of a destination's state folder:
// what an apply recorded since the last Finish (see the package doc).
const JournalFile = "journal"

// The operations of a journal record.
const (
	opRecord byte = 1 // an entity's base and, if it has one, written document
	opID     byte = 2 // an entity's server ID
	opForget byte = 3 // the entity is no longer in the state
)

// frameHeader is the size of a journal frame's header: the payload's
// length and its CRC-32C, both little-endian uint32.
const frameHeader = 8

// maxPayload bounds a journal record: a path and two entity documents,
// each at most a bundle file's size.
const maxPayload = 2*fileSizeLimit + 1<<16

// crcTable is the Castagnoli polynomial's table (CRC-32C, as ext4 and
// iSCSI use for the same job).
var crcTable = crc32.MakeTable(crc32.Castagnoli)

// entry is one journal record, decoded.
type entry struct {
	op   byte
	path string
	// base and written are the canonical documents of an opRecord;
	// written nil keeps the one recorded before. id is an opID's.
	base, written []byte
	id            string
}

// appendFrame appends the framed encoding of e to buf.
func appendFrame(buf []byte, e entry) []byte {
	start := len(buf)
	buf = append(buf, make([]byte, frameHeader)...)
	buf = append(buf, e.op)
	buf = appendBytes(buf, []byte(e.path))
	switch e.op {
	case opRecord:
		buf = appendBytes(buf, e.base)
		buf = appendOptional(buf, e.written)
	case opID:
		buf = appendBytes(buf, []byte(e.id))
	}
	payload := buf[start+frameHeader:]
	binary.LittleEndian.PutUint32(buf[start:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(buf[start+4:], crc32.Checksum(payload, crcTable))
	return buf
}

// appendBytes appends b with its length (uvarint) before it.
func appendBytes(buf, b []byte) []byte {
	return append(binary.AppendUvarint(buf, uint64(len(b))), b...)
}

// appendOptional appends b as appendBytes does with its length plus one,
// or 0 for nil: absent and empty differ.
func appendOptional(buf, b []byte) []byte {
	if b == nil {
		return append(buf, 0)
	}
	return append(binary.AppendUvarint(buf, uint64(len(b))+1), b...)
}

// decoder reads the fields of an encoded record or pack entry.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) byte() byte {
	if d.err != nil || len(d.b) == 0 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) optional() []byte {
	n := d.uvarint()
	if d.err != nil || n == 0 {
		return nil
	}
	if n-1 > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	v := d.b[: n-1 : n-1]
	d.b = d.b[n-1:]
	return v
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errors.New("truncated field")
	}
}

// decodePayload decodes a journal record's payload (its checksum
// already verified).
func decodePayload(p []byte) (entry, error) {
	d := decoder{b: p}
	e := entry{op: d.byte(), path: string(d.bytes())}
	switch e.op {
	case opRecord:
		e.base = d.bytes()
		e.written = d.optional()
	case opID:
		e.id = string(d.bytes())
	case opForget:
	default:
		if d.err == nil {
			return e, fmt.Errorf("unknown operation %d", e.op)
		}
	}
	if d.err != nil {
		return e, d.err
	}
	if len(d.b) != 0 {
		return e, fmt.Errorf("%d bytes after the record's fields", len(d.b))
	}
	if e.path == "" {
		return e, errors.New("no path")
	}
	if e.op == opID && e.id == "" {
		return e, errors.New("empty ID")
	}
	return e, nil
}

// JournalError is a damaged journal: a record that is not the last one
// (a torn last record is what a kill leaves, and is dropped) fails its
// checksum or does not decode.
type JournalError struct {
	// File is the journal's path.
	File string
	// Record is the damaged record's number (from 1), Offset its byte
	// offset in the file.
	Record int
	Offset int64
	// Err says what is wrong with it.
	Err error
}

func (e *JournalError) Error() string {
	return fmt.Sprintf("state: %s: record %d at byte offset %d: %v: the journal is damaged (not torn by a crash, which only ever cuts its end); it holds what applies recorded since the last one finished: restore the file from a backup, or remove it and the next plan merges those entities two-way (remove the whole folder to start over)", e.File, e.Record, e.Offset, e.Err)
}

func (e *JournalError) Unwrap() error { return e.Err }

// readJournal decodes the journal data, calling fn for each record in
// order with its offset. It returns the length of the valid prefix: a torn
// tail (the last record cut short or damaged, or records followed only by
// zero bytes, as a crash of the machine can leave them) is not an error,
// and the writer cuts the file there before it appends. A damaged record
// before the tail is a *JournalError (with File empty: the caller names
// it).
func readJournal(data []byte, fn func(int64, entry) error) (valid int64, err error) {
	return readJournalFrom(bytes.NewReader(data), int64(len(data)), fn)
}

// allZero reports whether b holds only zero bytes.
func allZero(b []byte) bool {
	return len(bytes.Trim(b, "\x00")) == 0
}
