package state

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/octobundle/octobundle/internal/proc"
)

// LockInfo is the content of a lock file: who holds the destination.
type LockInfo struct {
	// PID is the holding process's id.
	PID int `json:"pid"`
	// Host is the machine it runs on.
	Host string `json:"host"`
	// Since is when it took the lock (RFC 3339, UTC).
	Since string `json:"since"`
	// State is the state folder of the apply holding the lock (in the
	// host's registry of destinations, see RegistryDir).
	State string `json:"state,omitempty"`
	// Nonce tells this taking of the lock from any other, so that a
	// release removes only its own lock file.
	Nonce string `json:"nonce,omitempty"`
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

// guardSuffix ends the name of the file beside each lock file that a
// process holds an OS lock on (flock(2), LockFileEx) while it decides
// about and changes the lock file. The guard is never removed; the
// kernel releases it when its holder dies.
const guardSuffix = ".guard"

// RegistryDir is the host-local registry of destinations: one lock file
// per destination (installation or URL, and space) that an apply holds
// besides the lock in its state folder, so that two applies with two
// state folders on one host do not write to one destination at once. It
// is octobundle/locks in the user's cache directory (os.UserCacheDir),
// or octobundle-locks-UID in the temporary directory when there is none
// or it cannot be made. It is the user's: applies of two users, or on two
// hosts, do not see each other's registry (see docs/security.md).
func RegistryDir() string {
	if d, err := os.UserCacheDir(); err == nil && d != "" {
		dir := filepath.Join(d, "octobundle", "locks")
		if os.MkdirAll(dir, 0o700) == nil {
			return dir
		}
	}
	return filepath.Join(os.TempDir(), "octobundle-locks-"+strconv.Itoa(os.Getuid()))
}

// registryFile is the destination's lock file in the host's registry.
func registryFile(d Destination) string {
	sum := sha256.Sum256([]byte(d.Identity() + "\n" + d.Space))
	return filepath.Join(RegistryDir(), hex.EncodeToString(sum[:16])+".lock")
}

// Lock takes the destination's lock for this process and returns the
// function that releases it. A lock held by a live process refuses
// (ErrLocked, naming the lock file and its holder); one whose process is
// gone (a crashed or killed apply on this host) is taken over, and force
// (--force-unlock) takes over any lock. Deciding and taking happen under
// an OS file lock, so of any number of processes taking over one stale
// lock at once exactly one holds it.
//
// Besides the lock file in the state folder it takes the destination's
// lock in the host's registry (RegistryDir): an apply on this host with
// another state folder holding the same destination refuses this one.
func (s *Store) Lock(force bool) (unlock func() error, stale *LockInfo, err error) {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("state: %w", err)
	}
	dir, err := filepath.Abs(s.dir)
	if err != nil {
		dir = s.dir
	}
	host, _ := os.Hostname()
	var nonce [12]byte
	_, _ = rand.Read(nonce[:])
	me := LockInfo{PID: os.Getpid(), Host: host, Since: time.Now().UTC().Format(time.RFC3339), State: dir, Nonce: hex.EncodeToString(nonce[:])}
	release, stale, err := lockFile(filepath.Join(s.dir, LockFile), me, force)
	if err != nil {
		return nil, nil, err
	}
	reg := registryFile(s.dst)
	if err := os.MkdirAll(filepath.Dir(reg), 0o700); err != nil {
		release()
		return nil, nil, fmt.Errorf("state: the host's lock registry: %w", err)
	}
	releaseReg, staleReg, err := lockFile(reg, me, force)
	if err != nil {
		release()
		return nil, nil, fmt.Errorf("%w (the host's lock for %s, space %q; another state folder than %s is in use for it)", err, s.dst.Identity(), s.dst.Space, dir)
	}
	if stale == nil {
		stale = staleReg
	}
	return func() error { return errors.Join(releaseReg(), release()) }, stale, nil
}

// lockFile takes the lock file path for me (see Lock). The lock file is
// written whole beside path and renamed over it, under the guard: a
// stale lock is replaced in one step, never removed and created again.
func lockFile(path string, me LockInfo, force bool) (release func() error, stale *LockInfo, err error) {
	data, _ := json.Marshal(me)
	data = append(data, '\n')
	unguard, err := guard(path + guardSuffix)
	if err != nil {
		return nil, nil, fmt.Errorf("state: locking %s: %w", path, err)
	}
	defer unguard()
	held, rerr := os.ReadFile(path)
	switch {
	case errors.Is(rerr, fs.ErrNotExist):
	case rerr != nil:
		return nil, nil, fmt.Errorf("state: %w", rerr)
	default:
		li, perr := ParseLock(held)
		switch {
		case force:
		case perr != nil:
			return nil, nil, fmt.Errorf("%w: %s is unreadable (%v); if no apply is running, remove it or use --force-unlock", ErrLocked, path, perr)
		case li.Host == me.Host && !proc.Alive(li.PID):
			// The holder crashed or was killed: a stale lock.
		default:
			held := ""
			if li.State != "" {
				held = " with the state folder " + li.State
			}
			return nil, nil, fmt.Errorf("%w: %s is held by pid %d on %s%s since %s; wait for it to finish, or, if it is gone, use --force-unlock", ErrLocked, path, li.PID, li.Host, held, li.Since)
		}
		stale = li
	}
	if err := writeLock(path, data); err != nil {
		return nil, nil, fmt.Errorf("state: writing %s: %w", path, err)
	}
	return func() error {
		unguard, err := guard(path + guardSuffix)
		if err != nil {
			return fmt.Errorf("state: releasing %s: %w", path, err)
		}
		defer unguard()
		cur, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) || (err == nil && !bytes.Equal(cur, data)) {
			return nil // gone, or taken over (--force-unlock): not ours to remove
		}
		if err == nil {
			err = os.Remove(path)
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("state: releasing %s: %w", path, err)
		}
		return nil
	}, stale, nil
}

// writeLock makes path hold data: a temporary sibling renamed over it.
func writeLock(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
