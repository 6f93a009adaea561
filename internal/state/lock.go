package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// LockInfo is the content of a lock file: who holds the destination.
type LockInfo struct {
	// PID is the holding process's id.
	PID int `json:"pid"`
	// Host is the machine it runs on.
	Host string `json:"host"`
	// Since is when it took the lock (RFC 3339, UTC).
	Since string `json:"since"`
}

// ErrLocked is returned by Lock when another live apply holds the
// destination.
var ErrLocked = errors.New("the destination is locked by another apply")

// ParseLock decodes a lock file.
func ParseLock(data []byte) (*LockInfo, error) {
	var li LockInfo
	if err := json.Unmarshal(data, &li); err != nil {
		return nil, fmt.Errorf("%s: %w", LockFile, err)
	}
	if li.PID <= 0 {
		return nil, fmt.Errorf("%s: no pid", LockFile)
	}
	return &li, nil
}

// Lock takes the destination's lock for this process and returns the
// function that releases it. A lock held by a live process refuses
// (ErrLocked, naming the lock file and its holder); one whose process is
// gone (a crashed or killed apply on this host) is taken over, and force
// (--force-unlock) takes over any lock.
func (s *Store) Lock(force bool) (unlock func() error, stale *LockInfo, err error) {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("state: %w", err)
	}
	path := filepath.Join(s.dir, LockFile)
	host, _ := os.Hostname()
	me := LockInfo{PID: os.Getpid(), Host: host, Since: time.Now().UTC().Format(time.RFC3339)}
	data, _ := json.Marshal(me)
	for attempt := 0; attempt < 3; attempt++ {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			_, werr := f.Write(append(data, '\n'))
			cerr := f.Close()
			if werr != nil || cerr != nil {
				os.Remove(path)
				return nil, nil, fmt.Errorf("state: writing %s: %v", path, errors.Join(werr, cerr))
			}
			return func() error {
				if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return fmt.Errorf("state: releasing %s: %w", path, err)
				}
				return nil
			}, stale, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, nil, fmt.Errorf("state: %w", err)
		}
		held, rerr := os.ReadFile(path)
		if errors.Is(rerr, fs.ErrNotExist) {
			continue // released meanwhile
		}
		li, perr := ParseLock(held)
		switch {
		case force:
		case perr != nil:
			return nil, nil, fmt.Errorf("%w: %s is unreadable (%v); if no apply is running, remove it or use --force-unlock", ErrLocked, path, perr)
		case li.Host == host && !alive(li.PID):
			// The holder crashed or was killed: a stale lock.
		default:
			return nil, nil, fmt.Errorf("%w: %s is held by pid %d on %s since %s; wait for it to finish, or, if it is gone, use --force-unlock", ErrLocked, path, li.PID, li.Host, li.Since)
		}
		stale = li
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("state: removing the stale lock %s: %w", path, err)
		}
	}
	return nil, nil, fmt.Errorf("%w: could not take %s", ErrLocked, path)
}

// alive reports whether a process with the pid exists on this host.
func alive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, syscall.EPERM)
}
