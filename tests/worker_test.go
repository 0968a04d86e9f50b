//go:build unix

package tests

// The hosted sandbox: web/worker/ (the Cloudflare Worker and its Durable
// Objects, over the same engine.wasm) under `wrangler dev`, offline on a
// loopback port. The golden scenarios replay through it byte for byte as
// they do natively, the AWS SDK for Go v2 conformance tests run against a
// Worker sandbox, two sandboxes used at once stay apart, a sandbox outlives
// a restart of wrangler dev, a trapped instance comes back from storage,
// and the site loads from the Worker in Chromium.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"keystorelab/engine"
	"keystorelab/tests/scenario"
	"keystorelab/wasm/wasmbuild"
)

// workerDir is a copy of what the Worker is built from, laid out as in the
// repository (web/worker, build/engine.wasm, build/worker/assets) with
// web/node_modules linked in, so that the committed worker.mjs and
// wrangler.jsonc run over freshly built artifacts without touching build/.
func workerDir(t *testing.T, root string) string {
	t.Helper()
	requireTools(t, "node")
	wrangler := filepath.Join(root, "web", "node_modules", ".bin", "wrangler")
	if _, err := os.Stat(wrangler); err != nil {
		if os.Getenv("KEYSTORELAB_REQUIRE_TOOLS") != "" {
			t.Fatalf("wrangler is missing: %v (make npm installs it)", err)
		}
		t.Skip("wrangler is missing; make test installs it (npm ci in web/)")
	}
	dist := siteDir(t, root)
	wasm, err := wasmbuild.Build()
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "web", "worker"), 0o755))
	must(os.MkdirAll(filepath.Join(dir, "build", "worker"), 0o755))
	for _, f := range []string{"worker.mjs", "wrangler.jsonc"} {
		b, err := os.ReadFile(filepath.Join(root, "web", "worker", f))
		must(err)
		must(os.WriteFile(filepath.Join(dir, "web", "worker", f), b, 0o644))
	}
	must(os.Symlink(filepath.Join(root, "web", "node_modules"), filepath.Join(dir, "web", "node_modules")))
	must(os.WriteFile(filepath.Join(dir, "build", "engine.wasm"), wasm, 0o644))
	// The assets are dist/ without its precompressed siblings, as make worker copies them.
	assets := filepath.Join(dir, "build", "worker", "assets")
	must(filepath.WalkDir(dist, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dist, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(assets, rel), 0o755)
		}
		if strings.HasSuffix(p, ".gz") || strings.HasSuffix(p, ".zst") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(assets, rel), b, 0o644)
	}))
	return dir
}

// wranglerDev is one `wrangler dev` process group.
type wranglerDev struct {
	url  string // http://127.0.0.1:port
	cmd  *exec.Cmd
	log  *lockedBuffer
	done chan struct{}
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startWrangler runs `wrangler dev` offline in dir/web/worker on a free
// loopback port, its Durable Objects persisted under state, with the test
// hooks on. It waits until the Worker answers; the test's end stops it.
func startWrangler(t *testing.T, dir, state string) *wranglerDev {
	t.Helper()
	port, inspector := freePort(t), freePort(t)
	cmd := exec.Command(filepath.Join(dir, "web", "node_modules", ".bin", "wrangler"), "dev",
		"--ip", "127.0.0.1", "--port", strconv.Itoa(port), "--inspector-port", strconv.Itoa(inspector),
		"--persist-to", state, "--var", "KEYSTORELAB_TEST_HOOKS:1", "--log-level", "info")
	cmd.Dir = filepath.Join(dir, "web", "worker")
	cmd.Env = append(os.Environ(), "WRANGLER_SEND_METRICS=false", "WRANGLER_SEND_ERROR_REPORTS=false",
		"CLOUDFLARE_CF_FETCH_ENABLED=false", "CI=true", "NO_COLOR=1")
	w := &wranglerDev{url: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd, log: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = w.log, w.log
	// wrangler, its node child and workerd share one process group, so
	// that stopping it stops all of them.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(w.done) }()
	t.Cleanup(func() { w.stop(t) })

	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := http.Get(w.url + "/sandbox")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusMethodNotAllowed {
				break
			}
		}
		select {
		case <-w.done:
			t.Fatalf("wrangler dev exited before it was ready:\n%s", w.log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("wrangler dev was not ready after 90s:\n%s", w.log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("wrangler dev ready on %s in %v", w.url, time.Since(start).Round(time.Millisecond))
	return w
}

// stop ends the process group: SIGTERM, then SIGKILL if it lingers.
func (w *wranglerDev) stop(t *testing.T) {
	select {
	case <-w.done:
		return
	default:
	}
	pgid := w.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-w.done:
	case <-time.After(10 * time.Second):
		t.Logf("wrangler dev ignored SIGTERM for 10s; killing it")
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-w.done
	}
	// workerd may outlive wrangler's node process by a moment; make sure
	// nothing of the group is left.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

// workerCall is one POST to the Worker: target in X-Amz-Target, body as
// is, extra headers added. It returns the status, the body and the
// x-keystorelab-generation header.
func workerCall(t *testing.T, url, target string, body []byte, headers map[string]string) (int, []byte, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", target, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b, resp.Header.Get("x-keystorelab-generation")
}

var tokenPattern = regexp.MustCompile(`^[a-z2-7]{32}$`)

// newSandbox creates a sandbox with body (Simulator.CreateSandbox's) and
// returns its endpoint.
func newSandbox(t *testing.T, w *wranglerDev, body string, headers map[string]string) string {
	t.Helper()
	status, resp, _ := workerCall(t, w.url+"/sandbox", "", []byte(body), headers)
	if status != http.StatusOK {
		t.Fatalf("POST /sandbox: %d %s", status, resp)
	}
	var out struct{ SandboxToken, Endpoint string }
	if err := json.Unmarshal(resp, &out); err != nil {
		t.Fatalf("POST /sandbox: %v: %s", err, resp)
	}
	if !tokenPattern.MatchString(out.SandboxToken) || out.Endpoint != w.url+"/sandbox/"+out.SandboxToken {
		t.Fatalf("POST /sandbox answered token %q, endpoint %q", out.SandboxToken, out.Endpoint)
	}
	return out.Endpoint
}

// TestWorker runs everything against one wrangler dev; the restart has one
// of its own.
func TestWorker(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dir := workerDir(t, root)
	w := startWrangler(t, dir, filepath.Join(dir, "state"))

	t.Run("group", func(t *testing.T) {
		t.Run("Scenarios", func(t *testing.T) { workerScenarios(t, w) })
		t.Run("SDK", func(t *testing.T) { workerSDK(t, w) })
		t.Run("Isolation", func(t *testing.T) { t.Parallel(); workerIsolation(t, w) })
		t.Run("Tokens", func(t *testing.T) { t.Parallel(); workerTokens(t, w) })
		t.Run("Trap", func(t *testing.T) { t.Parallel(); workerTrap(t, w) })
		t.Run("Browser", func(t *testing.T) { t.Parallel(); workerBrowser(t, w, root) })
		t.Run("Walkthrough", func(t *testing.T) { t.Parallel(); workerWalkthrough(t, w, root) })
	})
	if t.Failed() {
		t.Logf("wrangler dev log:\n%s", w.log.String())
	}
}

// workerScenarios replays every golden scenario in a sandbox of its own,
// all at once: each sandbox starts from the native engine's initial
// snapshot (engine.New at T0 with a zero seed) and every call carries T0
// as its host time. The transcripts, the generations (counted from the
// sandbox's creation) and the final snapshots must equal the native ones
// byte for byte.
func workerScenarios(t *testing.T, w *wranglerDev) {
	pinned := map[string]string{"X-Keystorelab-Host-Time": strconv.FormatInt(T0.UnixMilli(), 10)}
	for _, path := range scenarioFiles(t) {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			t.Parallel()
			want, err := scenario.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			native := engine.New(engine.Config{}, T0)
			initial := native.Snapshot()
			nat := replay(t, "native", want, func(target string, body []byte) (int, []byte, uint64, error) {
				status, resp := native.Handle(T0, target, body)
				return status, resp, native.Generation(), nil
			})

			status, resp, gen0 := workerCall(t, w.url+"/sandbox", "Simulator.CreateSandbox",
				fmt.Appendf(nil, `{"Snapshot":%s}`, initial), pinned)
			if status != http.StatusOK {
				t.Fatalf("CreateSandbox from the initial snapshot: %d %s", status, resp)
			}
			var created struct{ Endpoint string }
			if err := json.Unmarshal(resp, &created); err != nil {
				t.Fatal(err)
			}
			base, err := strconv.ParseUint(gen0, 10, 64)
			if err != nil {
				t.Fatalf("CreateSandbox's generation %q: %v", gen0, err)
			}
			wrk := replay(t, "worker", want, func(target string, body []byte) (int, []byte, uint64, error) {
				status, resp, g := workerCall(t, created.Endpoint, target, body, pinned)
				gen, err := strconv.ParseUint(g, 10, 64)
				if err != nil {
					return 0, nil, 0, fmt.Errorf("generation header %q: %d %s", g, status, resp)
				}
				return status, resp, gen - base, nil
			})

			if d := scenario.Diff(nat.arch, wrk.arch); d != "" {
				t.Errorf("%s: native and Worker transcripts differ:\n%s", path, d)
			}
			if fmt.Sprint(nat.gens) != fmt.Sprint(wrk.gens) {
				t.Errorf("%s: generations differ:\nnative %v\nworker %v", path, nat.gens, wrk.gens)
			}
			if !bytes.Equal(nat.snapshot, wrk.snapshot) {
				n := 0
				for n < len(nat.snapshot) && n < len(wrk.snapshot) && nat.snapshot[n] == wrk.snapshot[n] {
					n++
				}
				near := func(b []byte) []byte { return b[max(n-200, 0):min(n+200, len(b))] }
				t.Errorf("%s: final snapshots differ from byte %d:\nnative …%s…\nworker …%s…", path, n, near(nat.snapshot), near(wrk.snapshot))
			}
			if d := scenario.Diff(want, wrk.arch); d != "" {
				t.Errorf("%s: the Worker's answers differ from the file:\n%s", path, d)
			}
		})
	}
}

// workerSDK runs the AWS SDK for Go v2 conformance tests, each in a new
// sandbox of the Worker's (with the Worker's defaults: a random seed, the
// clock at 60x), exactly as they run against the local server.
func workerSDK(t *testing.T, w *wranglerDev) {
	for name, body := range map[string]func(*testing.T, *sdkEnv){
		"CloudHSMKeyStoreLifecycle": testSDKCloudHSMKeyStoreLifecycle,
		"TypedErrors":               testSDKTypedErrors,
		"DescribePaginator":         testSDKDescribePaginator,
		"RequestRoundTrip":          testSDKRequestRoundTrip,
		"Keys":                      testSDKKeys,
	} {
		t.Run(name, func(t *testing.T) {
			body(t, sdkConnect(t, newSandbox(t, w, `{"ClockSpeed":1}`, nil), http.DefaultClient))
		})
	}
}

// workerIsolation uses two sandboxes at once, from two goroutines: each
// builds clusters and a key store, and neither ever sees the other's.
func workerIsolation(t *testing.T, w *wranglerDev) {
	a, b := newSandbox(t, w, "", nil), newSandbox(t, w, "", nil)
	if a == b {
		t.Fatalf("two sandboxes got the same endpoint %s", a)
	}
	clusters := func(ep string) []string {
		status, resp, _ := workerCall(t, ep, "BaldrApiService.DescribeClusters", []byte("{}"), nil)
		if status != http.StatusOK {
			t.Errorf("DescribeClusters: %d %s", status, resp)
			return nil
		}
		var out struct{ Clusters []struct{ ClusterId string } }
		json.Unmarshal(resp, &out)
		var ids []string
		for _, c := range out.Clusters {
			ids = append(ids, c.ClusterId)
		}
		return ids
	}
	made := map[string][]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, ep := range []string{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5 {
				status, resp, _ := workerCall(t, ep, "BaldrApiService.CreateCluster",
					fmt.Appendf(nil, `{"HsmType":"hsm2m.medium","SubnetIds":["subnet-0a1b2c3d4e5f6%04d"]}`, i), nil)
				if status != http.StatusOK {
					t.Errorf("CreateCluster in %s: %d %s", ep, status, resp)
					return
				}
				var out struct{ Cluster struct{ ClusterId string } }
				json.Unmarshal(resp, &out)
				mu.Lock()
				made[ep] = append(made[ep], out.Cluster.ClusterId)
				mu.Unlock()
				// Each sandbox sees exactly its own clusters, at every step.
				mu.Lock()
				want := strings.Join(made[ep], ",")
				mu.Unlock()
				if got := strings.Join(clusters(ep), ","); got != want {
					t.Errorf("sandbox %s lists clusters %s, want %s", ep, got, want)
				}
			}
		}()
	}
	wg.Wait()
	for _, id := range made[a] {
		for _, other := range made[b] {
			if id == other {
				t.Errorf("both sandboxes made cluster %s: their seeds are the same", id)
			}
		}
	}
}

// workerTokens checks the answers to requests without a usable token.
func workerTokens(t *testing.T, w *wranglerDev) {
	for _, c := range []struct {
		name, url, target string
		status            int
		typ, says         string
	}{
		{"no token at the root", w.url + "/", "TrentService.DescribeCustomKeyStores", 400, "UnrecognizedClientException", "No sandbox token"},
		{"unknown token", w.url + "/sandbox/" + strings.Repeat("a", 32), "TrentService.DescribeCustomKeyStores", 400, "UnrecognizedClientException", "unknown"},
		{"malformed token", w.url + "/sandbox/not-a-token", "TrentService.DescribeCustomKeyStores", 400, "UnrecognizedClientException", "not a Keystore Lab sandbox token"},
		{"no target", newSandbox(t, w, "", nil), "", 400, "UnknownOperationException", "X-Amz-Target"},
	} {
		status, resp, _ := workerCall(t, c.url, c.target, []byte("{}"), nil)
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(resp, &e); err != nil || status != c.status || e.Type != c.typ || !strings.Contains(e.Message, c.says) {
			t.Errorf("%s: %d %s, want %d %s saying %q", c.name, status, resp, c.status, c.typ, c.says)
		}
		if c.typ == "UnrecognizedClientException" && !strings.Contains(e.Message, "/sandbox") {
			t.Errorf("%s: the message does not say how to get a sandbox: %s", c.name, e.Message)
		}
	}
	// Simulator.CreateSandbox at the root works as POST /sandbox does.
	status, resp, _ := workerCall(t, w.url+"/", "Simulator.CreateSandbox", []byte(`{"Region":"eu-west-1"}`), nil)
	var out struct{ Endpoint string }
	if json.Unmarshal(resp, &out); status != http.StatusOK || out.Endpoint == "" {
		t.Fatalf("Simulator.CreateSandbox at the root: %d %s", status, resp)
	}
	status, resp, _ = workerCall(t, out.Endpoint, "BaldrApiService.CreateCluster", []byte(`{"HsmType":"hsm2m.medium","SubnetIds":["subnet-0a1b2c3d"]}`), nil)
	if status != http.StatusOK || !bytes.Contains(resp, []byte(`"eu-west-1a"`)) {
		t.Errorf("a cluster in the eu-west-1 sandbox: %d %s", status, resp)
	}
	// Simulator.DeleteSandbox forgets the sandbox: its token is unknown from then on.
	if status, resp, _ := workerCall(t, out.Endpoint, "Simulator.DeleteSandbox", nil, nil); status != http.StatusOK {
		t.Errorf("Simulator.DeleteSandbox: %d %s", status, resp)
	}
	status, resp, _ = workerCall(t, out.Endpoint, "BaldrApiService.DescribeClusters", []byte("{}"), nil)
	if status != http.StatusBadRequest || !bytes.Contains(resp, []byte("UnrecognizedClientException")) {
		t.Errorf("a call after Simulator.DeleteSandbox: %d %s", status, resp)
	}
	// A bad option is the engine's ValidationException, and makes no sandbox.
	status, resp, _ = workerCall(t, w.url+"/sandbox", "", []byte(`{"ClockSpeed":-1}`), nil)
	if status != http.StatusBadRequest || !bytes.Contains(resp, []byte("ValidationException")) {
		t.Errorf("CreateSandbox with ClockSpeed -1: %d %s", status, resp)
	}
}

// workerTrap makes a sandbox's instance trap (a test hook sends a frame
// longer than its buffer): the call answers 500 KMSInternalException, and
// the sandbox carries on from its stored snapshot in a new instance.
func workerTrap(t *testing.T, w *wranglerDev) {
	ep := newSandbox(t, w, "", nil)
	status, resp, _ := workerCall(t, ep, "BaldrApiService.CreateCluster", []byte(`{"HsmType":"hsm2m.medium","SubnetIds":["subnet-0a1b2c3d"]}`), nil)
	if status != http.StatusOK {
		t.Fatalf("CreateCluster: %d %s", status, resp)
	}
	_, before, genBefore := workerCall(t, ep, "BaldrApiService.DescribeClusters", []byte("{}"), nil)
	status, resp, genTrap := workerCall(t, ep, "TrentService.DescribeCustomKeyStores", []byte("{}"), map[string]string{"X-Keystorelab-Test-Trap": "1"})
	if status != http.StatusInternalServerError || !bytes.Contains(resp, []byte(`"KMSInternalException"`)) {
		t.Fatalf("a trapped call: %d %s, want 500 KMSInternalException", status, resp)
	}
	if genTrap == "" || genTrap == genBefore {
		t.Errorf("generation %q after the trap, %q before: want a new instance's", genTrap, genBefore)
	}
	status, after, _ := workerCall(t, ep, "BaldrApiService.DescribeClusters", []byte("{}"), nil)
	if status != http.StatusOK {
		t.Fatalf("DescribeClusters after the trap: %d %s", status, after)
	}
	if !bytes.Equal(before, after) {
		t.Errorf("the sandbox changed across the trap:\nbefore %s\nafter  %s", before, after)
	}
}

// workerWalkthrough runs the README's walk-through with the AWS CLI
// against a Worker sandbox (its clock at 1x, as the local server's in
// TestREADMEWalkthrough), with ep and sim() pointed at its endpoint.
func workerWalkthrough(t *testing.T, w *wranglerDev, root string) {
	requireTools(t, "aws", "curl", "openssl", "bash")
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	ep := newSandbox(t, w, `{"ClockSpeed":1}`, nil)
	runScript(t, walkthroughScript(t, string(readme), strings.TrimPrefix(ep, "http://")))
}

// workerBrowser runs web/worker/e2e/ in Chromium against the Worker: the
// site is the Worker's static assets, and its console comes up.
func workerBrowser(t *testing.T, w *wranglerDev, root string) {
	requireBrowserTools(t, root)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "--test", "--test-reporter=spec", "web/worker/e2e/")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "KEYSTORELAB_URL="+w.url, "NO_COLOR=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("node --test web/worker/e2e/ against %s: %v\n%s", w.url, err, out)
	}
}

// TestWorkerRestart stops wrangler dev and starts it again on the same
// state directory: the sandbox is still there, as it was, and still
// answers with the same generation of state.
func TestWorkerRestart(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dir := workerDir(t, root)
	state := filepath.Join(dir, "state")

	w := startWrangler(t, dir, state)
	ep := newSandbox(t, w, "", nil)
	token := ep[strings.LastIndexByte(ep, '/')+1:]
	status, resp, _ := workerCall(t, ep, "BaldrApiService.CreateCluster", []byte(`{"HsmType":"hsm2m.medium","SubnetIds":["subnet-0a1b2c3d"]}`), nil)
	if status != http.StatusOK {
		t.Fatalf("CreateCluster: %d %s", status, resp)
	}
	var c struct{ Cluster struct{ ClusterId string } }
	json.Unmarshal(resp, &c)
	status, resp, _ = workerCall(t, ep, "Simulator.SetClockSpeed", []byte(`{"Speed":0}`), nil)
	if status != http.StatusOK {
		t.Fatalf("SetClockSpeed: %d %s", status, resp)
	}
	_, before, _ := workerCall(t, ep, "BaldrApiService.DescribeClusters", []byte("{}"), nil)
	w.stop(t)

	w2 := startWrangler(t, dir, state)
	status, after, _ := workerCall(t, w2.url+"/sandbox/"+token, "BaldrApiService.DescribeClusters", []byte("{}"), nil)
	if status != http.StatusOK {
		t.Fatalf("DescribeClusters after the restart: %d %s\n%s", status, after, w2.log.String())
	}
	if !bytes.Contains(after, []byte(c.Cluster.ClusterId)) || !bytes.Equal(before, after) {
		t.Errorf("after the restart the sandbox answers\n%s\nwant\n%s", after, before)
	}
}
