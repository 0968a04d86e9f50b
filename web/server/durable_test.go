package server

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"keystorelab/engine"
)

// nativeOpener makes native engines, as the keystorelab command does.
var nativeOpener = Opener{
	Restore: func(snap []byte, now time.Time) (Backend, error) {
		e, err := engine.Restore(snap, now)
		if err != nil {
			return nil, err
		}
		return Native(e), nil
	},
	Fresh: func(now time.Time) (Backend, error) {
		return Native(engine.New(engine.Config{Seed: [32]byte{1}, HostSeeded: true, ClockSpeed: 60}, now)), nil
	},
}

// openServer opens (or reopens) the sandbox saved at path behind a server.
func openServer(t *testing.T, path string) (*Server, *Durable) {
	t.Helper()
	d, b, err := OpenDurable(path, nativeOpener, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return New(Config{Backend: b, Durable: d}), d
}

func must(t *testing.T, s *Server, target, body string) map[string]any {
	t.Helper()
	status, resp := s.Call(target, []byte(body))
	var m map[string]any
	if err := json.Unmarshal(resp, &m); err != nil || status != 200 {
		t.Fatalf("%s: %d %s", target, status, resp)
	}
	return m
}

func keyIDs(t *testing.T, s *Server) []string {
	t.Helper()
	var ids []string
	for _, k := range must(t, s, "TrentService.ListKeys", `{}`)["Keys"].([]any) {
		ids = append(ids, k.(map[string]any)["KeyId"].(string))
	}
	return ids
}

// TestJournalSurvivesACrash: a server that is dropped without closing
// anything (what kill -9 leaves: the journal as written, nothing fsynced
// by a clean stop) reopens with every acknowledged change, and hands out
// no random bytes it handed out before.
func TestJournalSurvivesACrash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	a, _ := openServer(t, path)
	key := must(t, a, "TrentService.CreateKey", `{"Description":"kept"}`)["KeyMetadata"].(map[string]any)["KeyId"].(string)
	must(t, a, "TrentService.Encrypt", `{"KeyId":"`+key+`","Plaintext":"aGVsbG8="}`)
	before := must(t, a, "TrentService.GenerateRandom", `{"NumberOfBytes":32}`)["Plaintext"]
	info, _ := os.Stat(path)
	seg := journalSize(t, path)
	must(t, a, "TrentService.DescribeKey", `{"KeyId":"`+key+`"}`)
	if journalSize(t, path) != seg {
		t.Error("a read was recorded")
	}

	b, _ := openServer(t, path) // a is never closed: the crash
	if ids := keyIDs(t, b); len(ids) != 1 || ids[0] != key {
		t.Fatalf("after the crash the keys are %v, want [%s]", ids, key)
	}
	if after := must(t, b, "TrentService.GenerateRandom", `{"NumberOfBytes":32}`)["Plaintext"]; after == before {
		t.Fatal("GenerateRandom repeated its bytes after the crash")
	}
	if info2, _ := os.Stat(path); info2.Mode().Perm() != 0o600 || info.Mode().Perm() != 0o600 {
		t.Error("the state file is not private")
	}
}

func journalSize(t *testing.T, path string) int64 {
	t.Helper()
	names, _ := filepath.Glob(path + ".journal-*")
	var n int64
	for _, name := range names {
		info, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		n += info.Size()
	}
	return n
}

// TestFailedSaveIsNotAcknowledged: when the journal cannot be written (a
// full disk), the call answers 500 KMSInternalException and is undone;
// once the disk has room, calls work again, and a restart shows exactly
// what was acknowledged.
func TestFailedSaveIsNotAcknowledged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	s, d := openServer(t, path)
	kept := must(t, s, "TrentService.CreateKey", `{}`)["KeyMetadata"].(map[string]any)["KeyId"].(string)
	full := true
	d.beforeAppend = func() error {
		if full {
			return syscall.ENOSPC
		}
		return nil
	}
	status, resp := s.Call("TrentService.CreateKey", []byte(`{}`))
	if status != 500 || !strings.Contains(string(resp), `"KMSInternalException"`) || !strings.Contains(string(resp), "no space left") {
		t.Fatalf("CreateKey on a full disk = %d %s", status, resp)
	}
	full = false
	if ids := keyIDs(t, s); len(ids) != 1 || ids[0] != kept {
		t.Fatalf("after the failed save the keys are %v, want [%s]", ids, kept)
	}
	second := must(t, s, "TrentService.CreateKey", `{}`)["KeyMetadata"].(map[string]any)["KeyId"].(string)
	r, _ := openServer(t, path)
	if ids := keyIDs(t, r); len(ids) != 2 || !strings.Contains(strings.Join(ids, " "), kept) || !strings.Contains(strings.Join(ids, " "), second) {
		t.Fatalf("after a restart the keys are %v, want %s and %s", ids, kept, second)
	}
}

// TestCompaction: a journal that outgrows the snapshot is folded into a
// new state file and older segments are deleted; the sandbox reopens the
// same, and the torn tail of a write a crash cut short is ignored.
func TestCompaction(t *testing.T) {
	defer func(n int64) { minCompact = n }(minCompact)
	minCompact = 64 << 10
	path := filepath.Join(t.TempDir(), "state.json")
	s, d := openServer(t, path)
	var want []string
	for i := range 3000 {
		want = append(want, must(t, s, "TrentService.CreateKey", fmt.Sprintf(`{"Description":"key %d with a description long enough to fill the journal"}`, i))["KeyMetadata"].(map[string]any)["KeyId"].(string))
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	segs, _ := d.segments()
	if len(segs) != 1 || segs[0] < 2 {
		t.Fatalf("segments %v: want one, after compactions", segs)
	}
	f, _ := os.OpenFile(d.segmentPath(segs[0]), os.O_APPEND|os.O_WRONLY, 0)
	f.Write(appendEntry(nil, time.Now(), "TrentService.CreateKey", []byte(`{}`))[:20]) // torn
	f.Close()
	r, _ := openServer(t, path)
	n, marker := 0, ""
	for {
		req := `{"Limit":1000}`
		if marker != "" {
			req = `{"Limit":1000,"Marker":"` + marker + `"}`
		}
		page := must(t, r, "TrentService.ListKeys", req)
		n += len(page["Keys"].([]any))
		if page["Truncated"] != true {
			break
		}
		marker = page["NextMarker"].(string)
	}
	if n != len(want) {
		t.Fatalf("reopened with %d keys, want %d", n, len(want))
	}
	must(t, r, "TrentService.DescribeKey", `{"KeyId":"`+want[len(want)-1]+`"}`)
}

// TestDamagedJournalIsRefused: damage before the last segment's tail stops
// the start with an error naming the file.
func TestDamagedJournalIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	s, d := openServer(t, path)
	must(t, s, "TrentService.CreateKey", `{}`)
	d.Close()
	segs, _ := d.segments()
	name := d.segmentPath(segs[0])
	os.WriteFile(d.segmentPath(segs[0]+1), appendEntry(nil, time.Now(), "TrentService.CreateKey", []byte(`{}`)), 0o600)
	raw, _ := os.ReadFile(name)
	raw[len(raw)-3] ^= 0xff
	os.WriteFile(name, raw, 0o600)
	if _, _, err := OpenDurable(path, nativeOpener, time.Now()); err == nil || !strings.Contains(err.Error(), name) {
		t.Fatalf("OpenDurable = %v, want an error naming %s", err, name)
	}
}
