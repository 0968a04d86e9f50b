// Package wasmbuild builds engine.wasm for tests and benchmarks, so that
// they always run the module made from the code they sit next to.
package wasmbuild

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// EnvVar names the environment variable that points at a prebuilt
// engine.wasm. When it is set, [Build] reads that file instead of building.
const EnvVar = "KEYSTORELAB_WASM"

// Build returns the bytes of engine.wasm, built with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -ldflags='-s -w' keystorelab/wasm
//
// from the module that contains the working directory (which a test binary
// always is in), or read from $KEYSTORELAB_WASM. A build takes 0.5 s warm
// and 6–13 s cold, so tests call it once per binary:
//
//	var engineWasm = sync.OnceValues(wasmbuild.Build)
func Build() ([]byte, error) {
	if path := os.Getenv(EnvVar); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("wasmbuild: %s: %w", EnvVar, err)
		}
		return b, nil
	}
	dir, err := os.MkdirTemp("", "keystorelab-wasm-")
	if err != nil {
		return nil, fmt.Errorf("wasmbuild: %w", err)
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "engine.wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-ldflags=-s -w", "-o", out, "keystorelab/wasm")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("wasmbuild: %v: %w\n%s", cmd.Args, err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("wasmbuild: %w", err)
	}
	return b, nil
}
