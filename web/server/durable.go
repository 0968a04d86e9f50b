package server

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// minCompact is the smallest segment that is compacted.
var minCompact int64 = 1 << 20

// Durable keeps one sandbox on disk, so that a call is acknowledged only
// once what it changed would survive a crash, at a cost that does not grow
// with the sandbox.
//
// # Layout
//
// The state file (path) holds a snapshot and the number of the journal
// segment that follows it:
//
//	{"format":"keystorelab-state/2","journal":7,"snapshot":{...}}
//
// Beside it, journal segments (path.journal-0000000000000007, ...) hold the
// calls made since, in order. Each entry is the call's host time, target
// and body, framed as a little-endian uint32 length, a CRC-32C of the
// payload, and the payload. The engine is deterministic given those, so
// replaying the entries on the snapshot rebuilds the sandbox exactly. A
// state file of the older kind (a bare keystorelab-snapshot/1) loads as a
// snapshot with no journal.
//
// # What is recorded, and when it is durable
//
// A call that moved the engine's generation (a control-plane change) is
// appended and fsynced before it is answered. A data-plane call (see
// engine.DataPlane: metrics, the request quota, the random stream) is
// appended before it is answered, which survives the process being killed,
// and fsynced with the next control-plane change or [Durable.Sync]. Reads
// are not recorded.
//
// # Compaction
//
// When a segment grows past the size of the last snapshot (and 1 MiB), the
// next call takes a new snapshot, reseeds the sandbox's random stream
// (Simulator.Reseed, with fresh entropy, as the first entry of a new
// segment) and starts the new segment; the state file is written in the
// background and older segments are deleted after it. Every start does the
// same, so a restarted sandbox never hands out random bytes it handed out
// before.
type Durable struct {
	path string
	open Opener

	seg      uint64
	f        *os.File
	size     int64 // bytes in the current segment
	synced   bool  // every appended entry is fsynced
	snapSize int64 // the last snapshot's size

	writing  sync.WaitGroup // the background write of the state file
	writeMu  sync.Mutex
	writeErr error // the last background write's error, reported by Sync

	// beforeAppend, when set, runs before an entry is written; a test
	// makes it fail as a full disk would.
	beforeAppend func() error
}

// An Opener makes backends: Restore from a snapshot taken by
// [Backend.Snapshot], Fresh for a sandbox with nothing saved yet.
type Opener struct {
	Restore func(snapshot []byte, now time.Time) (Backend, error)
	Fresh   func(now time.Time) (Backend, error)
}

const (
	stateFormat    = "keystorelab-state/2"
	snapshotFormat = "keystorelab-snapshot/1"
	reseedTarget   = "Simulator.Reseed"
)

// OpenDurable loads the sandbox saved at path (its state file and
// journal), or makes a fresh one when there is none, and returns it ready
// to record calls. A state file or journal that cannot be read or replayed
// is an error naming it, and is left as it is.
func OpenDurable(path string, open Opener, now time.Time) (*Durable, Backend, error) {
	d := NewDurable(path, open)
	b, err := d.load(now)
	if err != nil {
		return nil, nil, err
	}
	if err := d.Replace(b, now); err != nil {
		return nil, nil, err
	}
	return d, b, nil
}

// NewDurable returns a Durable for path that has loaded nothing: its first
// [Durable.Replace] saves a sandbox there, replacing whatever was saved.
// open makes the backends that [Durable.Reload] rebuilds.
func NewDurable(path string, open Opener) *Durable {
	return &Durable{path: path, open: open}
}

// load rebuilds the saved sandbox: the snapshot, then every journal entry.
func (d *Durable) load(now time.Time) (Backend, error) {
	data, err := LoadState(d.path)
	if err != nil {
		return nil, err
	}
	if data == nil {
		return d.open.Fresh(now)
	}
	snap, first, err := parseState(data)
	if err != nil {
		return nil, fmt.Errorf("state file %s: %w", d.path, err)
	}
	b, err := d.open.Restore(snap, now)
	if err != nil {
		return nil, fmt.Errorf("state file %s could not be loaded: %w", d.path, err)
	}
	segs, err := d.segments()
	if err != nil {
		return nil, err
	}
	for i, seg := range segs {
		if seg < first {
			continue
		}
		name := d.segmentPath(seg)
		raw, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("journal %s: %w", name, err)
		}
		entries, rest := parseEntries(raw)
		if len(rest) > 0 && i != len(segs)-1 {
			return nil, fmt.Errorf("journal %s is damaged at byte %d, and later segments follow it", name, len(raw)-len(rest))
		}
		// A damaged tail of the last segment is a write the crash cut
		// short: it was never acknowledged, and replay stops before it.
		for _, e := range entries {
			b.Handle(e.at, e.target, e.body)
		}
	}
	return b, nil
}

// parseState reads a state file: a keystorelab-state/2 wrapper, or a bare
// snapshot as older versions wrote.
func parseState(data []byte) (snap []byte, journal uint64, err error) {
	var head struct {
		Format   string
		Journal  uint64
		Snapshot json.RawMessage
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, 0, err
	}
	switch head.Format {
	case stateFormat:
		if len(head.Snapshot) == 0 {
			return nil, 0, errors.New("it has no snapshot")
		}
		return head.Snapshot, head.Journal, nil
	case snapshotFormat:
		return data, 0, nil
	}
	return nil, 0, fmt.Errorf("unknown format %q; want %s", head.Format, stateFormat)
}

// Record appends one call to the journal; with sync, it is fsynced before
// Record returns. An error means the call must not be acknowledged: the
// caller rebuilds the sandbox from disk ([Durable.Reload]).
func (d *Durable) Record(at time.Time, target string, body []byte, sync bool) error {
	if d.f == nil {
		return errors.New("the journal is closed")
	}
	if d.beforeAppend != nil {
		if err := d.beforeAppend(); err != nil {
			return fmt.Errorf("journal %s: %w", d.f.Name(), err)
		}
	}
	entry := appendEntry(nil, at, target, body)
	if _, err := d.f.Write(entry); err != nil {
		d.f.Truncate(d.size) // best effort: cut what was partly written
		return fmt.Errorf("journal %s: %w", d.f.Name(), err)
	}
	d.size += int64(len(entry))
	d.synced = false
	if sync {
		return d.Sync()
	}
	return nil
}

// Sync makes every recorded call durable, and reports a failed background
// write of the state file.
func (d *Durable) Sync() error {
	if d.f != nil && !d.synced {
		if err := d.f.Sync(); err != nil {
			return fmt.Errorf("journal %s: %w", d.f.Name(), err)
		}
		d.synced = true
	}
	d.writeMu.Lock()
	defer d.writeMu.Unlock()
	err := d.writeErr
	d.writeErr = nil
	return err
}

// Due reports whether the current segment has grown enough to be compacted.
func (d *Durable) Due() bool { return d.size > max(minCompact, d.snapSize) }

// Replace makes b the saved sandbox: it snapshots b, reseeds b's random
// stream with fresh entropy, starts a new journal segment with that reseed
// as its first entry, and writes the state file, in the background when
// background is set (deleting older segments once it is written).
func (d *Durable) Replace(b Backend, now time.Time) error { return d.compact(b, now, false) }

// Compact is Replace with the state file written in the background.
func (d *Durable) Compact(b Backend, now time.Time) error { return d.compact(b, now, true) }

func (d *Durable) compact(b Backend, now time.Time, background bool) error {
	d.writing.Wait() // one state file write at a time
	snap, err := b.Snapshot()
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	var entropy [32]byte
	rand.Read(entropy[:])
	body := []byte(`{"Entropy":"` + base64.StdEncoding.EncodeToString(entropy[:]) + `"}`)
	if status, resp := b.Handle(now, reseedTarget, body); status != 200 {
		return fmt.Errorf("%s answered %d: %s", reseedTarget, status, resp)
	}
	if err := os.MkdirAll(filepath.Dir(d.path), stateDirMode); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	seg := d.seg + 1
	if segs, _ := d.segments(); len(segs) > 0 {
		seg = max(seg, segs[len(segs)-1]+1)
	}
	f, err := os.OpenFile(d.segmentPath(seg), os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, stateFileMode)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	entry := appendEntry(nil, now, reseedTarget, body)
	if _, err := f.Write(entry); err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = syncDir(filepath.Dir(d.path))
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return fmt.Errorf("journal: %w", err)
	}
	if d.f != nil {
		d.f.Close()
	}
	d.f, d.seg, d.size, d.synced, d.snapSize = f, seg, int64(len(entry)), true, int64(len(snap))

	state := make([]byte, 0, len(snap)+64)
	state = append(state, `{"format":"`+stateFormat+`","journal":`+strconv.FormatUint(seg, 10)+`,"snapshot":`...)
	state = append(append(state, snap...), '}')
	write := func() error {
		if err := SaveState(d.path, state); err != nil {
			return err
		}
		segs, _ := d.segments()
		for _, old := range segs {
			if old < seg {
				os.Remove(d.segmentPath(old))
			}
		}
		return nil
	}
	if !background {
		return write()
	}
	d.writing.Add(1)
	go func() {
		defer d.writing.Done()
		if err := write(); err != nil {
			d.writeMu.Lock()
			d.writeErr = err
			d.writeMu.Unlock()
		}
	}()
	return nil
}

// Reload rebuilds the sandbox from what is on disk, throwing away whatever
// the running one did that was not recorded, and starts a new segment.
func (d *Durable) Reload(now time.Time) (Backend, error) {
	d.writing.Wait()
	if d.f != nil {
		d.f.Close()
		d.f = nil
	}
	b, err := d.load(now)
	if err != nil {
		return nil, err
	}
	if err := d.Replace(b, now); err != nil {
		return nil, err
	}
	return b, nil
}

// Close syncs and closes the journal, after any background write.
func (d *Durable) Close() error {
	d.writing.Wait()
	err := d.Sync()
	if d.f != nil {
		err = errors.Join(err, d.f.Close())
		d.f = nil
	}
	return err
}

func (d *Durable) segmentPath(seg uint64) string {
	return fmt.Sprintf("%s.journal-%016d", d.path, seg)
}

// segments lists the journal segments beside the state file, in order.
func (d *Durable) segments() ([]uint64, error) {
	names, err := filepath.Glob(globEscape(d.path + ".journal-*"))
	if err != nil {
		return nil, err
	}
	var segs []uint64
	for _, name := range names {
		n, err := strconv.ParseUint(strings.TrimPrefix(name, d.path+".journal-"), 10, 64)
		if err == nil {
			segs = append(segs, n)
		}
	}
	slices.Sort(segs)
	return segs, nil
}

// entry is one recorded call.
type entry struct {
	at     time.Time
	target string
	body   []byte
}

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// appendEntry frames one call: length, CRC-32C, then the payload (the host
// time in Unix nanoseconds, the target's length and the target, the body).
func appendEntry(dst []byte, at time.Time, target string, body []byte) []byte {
	n := 8 + 2 + len(target) + len(body)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(n))
	dst = binary.LittleEndian.AppendUint32(dst, 0) // the CRC, below
	start := len(dst)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(at.UnixNano()))
	dst = binary.LittleEndian.AppendUint16(dst, uint16(len(target)))
	dst = append(append(dst, target...), body...)
	binary.LittleEndian.PutUint32(dst[start-4:], crc32.Checksum(dst[start:], crcTable))
	return dst
}

// parseEntries reads every whole, intact entry of a segment and returns
// what follows the last of them (empty for a segment that ends cleanly).
func parseEntries(raw []byte) ([]entry, []byte) {
	var out []entry
	for len(raw) >= 8 {
		n := binary.LittleEndian.Uint32(raw)
		if uint64(n) < 10 || uint64(len(raw)-8) < uint64(n) {
			break
		}
		payload := raw[8 : 8+n]
		if crc32.Checksum(payload, crcTable) != binary.LittleEndian.Uint32(raw[4:]) {
			break
		}
		tl := int(binary.LittleEndian.Uint16(payload[8:]))
		if 10+tl > len(payload) {
			break
		}
		out = append(out, entry{
			at:     time.Unix(0, int64(binary.LittleEndian.Uint64(payload))),
			target: string(payload[10 : 10+tl]),
			body:   bytes.Clone(payload[10+tl:]),
		})
		raw = raw[8+n:]
	}
	return out, raw
}
