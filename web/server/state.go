package server

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// The state file holds kmsuser passwords and key material in clear: only
// its owner may read it.
const (
	stateFileMode = 0o600
	stateDirMode  = 0o700
)

// tempPattern names the temporary files SaveState writes next to path; the
// "*" is replaced by a random string.
func tempPattern(path string) string { return "." + filepath.Base(path) + ".tmp-*" }

// testHookBeforeRename, when set, runs after the temporary file is written
// and synced and before it is renamed over the state file. Tests use it to
// stop SaveState where a crash would.
var testHookBeforeRename func()

// SaveState replaces the file at path with data atomically: it writes a
// temporary file in the same directory, syncs it, renames it over path and
// syncs the directory. A crash at any point leaves either the previous file
// or the new one, never a mix; it may also leave a temporary file behind,
// which [LoadState] removes. Missing directories are created.
func SaveState(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, stateDirMode); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	f, err := os.CreateTemp(dir, tempPattern(path))
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("save state to %s: %w", path, err)
	}
	if err := f.Chmod(stateFileMode); err != nil {
		return fail(err)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		return fail(err)
	}
	if testHookBeforeRename != nil {
		testHookBeforeRename()
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(err)
	}
	return syncDir(dir)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("save state: sync %s: %w", dir, err)
	}
	return nil
}

// LoadState returns the contents of the state file at path, or nil and no
// error if there is no such file (a fresh sandbox). Any other failure to
// read it is an error naming the file: a host must then refuse to start
// rather than overwrite a state it could not read. LoadState also removes
// temporary files that an interrupted [SaveState] left next to path; they
// are never read.
func LoadState(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		data = nil
	case err != nil:
		return nil, fmt.Errorf("cannot read state file %s: %w", path, err)
	case len(data) == 0:
		return nil, fmt.Errorf("state file %s is empty", path)
	}
	glob := filepath.Join(filepath.Dir(path), globEscape(tempPattern(path)))
	leftovers, _ := filepath.Glob(glob)
	for _, name := range leftovers {
		os.Remove(name)
	}
	return data, nil
}

// globEscape quotes the glob metacharacters of pattern except its final "*".
func globEscape(pattern string) string {
	stem := strings.TrimSuffix(pattern, "*")
	var b strings.Builder
	for _, r := range stem {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String() + "*"
}
