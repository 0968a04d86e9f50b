package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadStateMissing(t *testing.T) {
	data, err := LoadState(filepath.Join(t.TempDir(), "nothing", "state.json"))
	if data != nil || err != nil {
		t.Errorf("LoadState of a missing file = %q, %v; want nil, nil", data, err)
	}
}

func TestLoadStateUnreadable(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.json")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	notFile := filepath.Join(dir, "dir.json")
	if err := os.Mkdir(notFile, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{empty, notFile} {
		data, err := LoadState(path)
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("LoadState(%s) = %q, %v; want an error naming the file", path, data, err)
		}
	}
}

func TestSaveStateReplaces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "state.json")
	for _, s := range []string{`{"v":1}`, `{"v":2}`} {
		if err := SaveState(path, []byte(s)); err != nil {
			t.Fatal(err)
		}
		assertState(t, path, s)
	}
	if info, err := os.Stat(filepath.Dir(path)); err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("state directory mode = %v (err %v), want 0700", info.Mode().Perm(), err)
	}
	assertOnly(t, filepath.Dir(path), "state.json")
}

// TestTornWrite stops SaveState where a crash would (after the temporary
// file is written, before the rename) and checks that the previous state
// is what loads, and that a partial temporary file is never read.
func TestTornWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	if err := SaveState(path, []byte(`{"v":"old"}`)); err != nil {
		t.Fatal(err)
	}

	crash := func() { panic("crash") }
	testHookBeforeRename = crash
	t.Cleanup(func() { testHookBeforeRename = nil })
	func() {
		defer func() {
			if r := recover(); r != "crash" {
				t.Fatalf("SaveState did not reach the rename: recovered %v", r)
			}
		}()
		SaveState(path, []byte(`{"v":"new"}`))
	}()
	testHookBeforeRename = nil

	temps, _ := filepath.Glob(filepath.Join(dir, ".state.json.tmp-*"))
	if len(temps) != 1 {
		t.Fatalf("temporary files after the crash: %q, want one", temps)
	}
	if data, _ := os.ReadFile(temps[0]); string(data) != `{"v":"new"}` {
		t.Fatalf("temporary file = %q", data)
	}
	// A second, torn temporary file: half of a snapshot.
	if err := os.WriteFile(filepath.Join(dir, ".state.json.tmp-12345"), []byte(`{"v":"ne`), 0o600); err != nil {
		t.Fatal(err)
	}
	// Files that only look alike are not touched.
	for _, name := range []string{"other.json", ".other.json.tmp-1", "state.json.tmp-1"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	assertState(t, path, `{"v":"old"}`)
	assertOnly(t, dir, ".other.json.tmp-1", "other.json", "state.json", "state.json.tmp-1")

	// And saving works again afterwards.
	if err := SaveState(path, []byte(`{"v":"newer"}`)); err != nil {
		t.Fatal(err)
	}
	assertState(t, path, `{"v":"newer"}`)
}

func TestGlobEscape(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "st[a]te*.json")
	if err := SaveState(path, []byte("1")); err != nil {
		t.Fatal(err)
	}
	leftover := filepath.Join(dir, ".st[a]te*.json.tmp-9")
	os.WriteFile(leftover, []byte("x"), 0o600)
	bystander := filepath.Join(dir, ".state.json.tmp-9")
	os.WriteFile(bystander, []byte("x"), 0o600)
	assertState(t, path, "1")
	assertOnly(t, dir, ".state.json.tmp-9", "st[a]te*.json")
}

// assertOnly checks that dir holds exactly the named entries.
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Errorf("%s holds %q, want %q", dir, got, names)
	}
}
