//go:build unix

package tests

// The browser playground end to end: the built site (dist/) behind the
// local server, driven in headless Chromium by the node:test files in
// web/e2e/ (playwright-core). The engine the pages use is engine.wasm
// running in the browser; the server's own native engine only answers the
// API, which the pages do not call.

import (
	"bytes"
	"context"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"keystorelab/engine"
	"keystorelab/wasm/wasmbuild"
	"keystorelab/web/server"
)

// chromiumPath is the browser web/e2e/lib.mjs starts.
func chromiumPath() string {
	if p := os.Getenv("KEYSTORELAB_CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// requireBrowserTools skips the test when Node, Chromium or web/'s npm
// packages are missing, unless make test (which installs them) asks for
// them to be there.
func requireBrowserTools(t *testing.T, root string) {
	t.Helper()
	requireTools(t, "node")
	missing := ""
	if _, err := os.Stat(chromiumPath()); err != nil {
		missing = chromiumPath()
	} else if _, err := os.Stat(filepath.Join(root, "web", "node_modules", "playwright-core")); err != nil {
		missing = "web/node_modules (npm ci in web/)"
	}
	if missing == "" {
		return
	}
	if os.Getenv("KEYSTORELAB_REQUIRE_TOOLS") != "" {
		t.Fatalf("%s is missing (make deps installs it)", missing)
	}
	t.Skipf("%s is missing; make test installs it", missing)
}

// siteDir returns a built site: $KEYSTORELAB_DIST (make test builds dist/
// and sets it), or a fresh build into a temporary directory, made the way
// make site makes it from the committed templ output.
func siteDir(t *testing.T, root string) string {
	t.Helper()
	if dist := os.Getenv("KEYSTORELAB_DIST"); dist != "" {
		if _, err := os.Stat(filepath.Join(dist, "index.html")); err != nil {
			t.Fatalf("KEYSTORELAB_DIST=%s holds no built site: %v", dist, err)
		}
		return dist
	}
	wasm, err := wasmbuild.Build()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	wasmPath := filepath.Join(tmp, "engine.wasm")
	if err := os.WriteFile(wasmPath, wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	dist := filepath.Join(tmp, "dist")
	cmd := exec.Command("go", "run", "./site/cmd/build", "-o", dist, "-wasm", wasmPath,
		"-static", "web/static", "-shim", "web/node_modules/@bjorn3/browser_wasi_shim/dist")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", cmd.Args, err, out)
	}
	return dist
}

func TestBrowser(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	requireBrowserTools(t, root)
	dist := siteDir(t, root)

	var serverLog lockedBuffer
	e := engine.New(engine.Config{ClockSpeed: 1}, time.Now())
	srv := httptest.NewServer(server.New(server.Config{
		Backend:  server.Native(e),
		Fallback: server.Static(dist),
		Logger:   log.New(&serverLog, "server: ", log.Lmicroseconds),
	}))
	defer srv.Close()

	shots := filepath.Join(root, "tests", "output", "screenshots")
	if err := os.RemoveAll(shots); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	// Leave the test binary time to report a hung browser.
	timeout := 8 * time.Minute
	if d, ok := t.Deadline(); ok {
		timeout = min(timeout, time.Until(d)-15*time.Second)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	cmd := exec.CommandContext(ctx, "node", "--test", "--test-reporter=spec", "web/e2e/")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "KEYSTORELAB_URL="+srv.URL, "KEYSTORELAB_SCREENSHOTS="+shots, "NO_COLOR=1")
	// node and the Chromium processes it starts share one process group,
	// so that a timeout stops all of them.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr // streamed; go test shows it when the test fails or with -v

	t.Logf("node --test web/e2e/ against %s (site %s, screenshots in %s)", srv.URL, dist, shots)
	start := time.Now()
	err = cmd.Run()
	if ctx.Err() != nil {
		t.Errorf("node --test web/e2e/ did not finish in %v", timeout)
	}
	if err != nil {
		t.Errorf("node --test web/e2e/ failed after %v: %v\nserver log:\n%s", time.Since(start).Round(time.Millisecond), err, serverLog.String())
		return
	}
	t.Logf("node --test web/e2e/ passed in %v", time.Since(start).Round(time.Millisecond))
}

// lockedBuffer is the server log: written by the server's goroutines, read
// by the test.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
