package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"keystorelab/hsmsim/xks"
	"keystorelab/wasm/wasmbuild"
	"keystorelab/web/seed"
)

// buffer is an io.Writer that tests read while run writes.
type buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// instance is one run of the command.
type instance struct {
	url            string
	stdout, stderr *buffer
	stop           func() error // cancels run and returns its error
}

var servingRE = regexp.MustCompile(`Keystore Lab is serving (http://127\.0\.0\.1:\d+) \((\w+) engine\)\n`)

// start runs the command with args on a loopback port until the test ends
// or stop is called. It fails the test if the command does not come up.
func start(t *testing.T, env map[string]string, args ...string) *instance {
	t.Helper()
	in, err := tryStart(t, env, args...)
	if err != nil {
		t.Fatalf("keystorelab %s: %v", strings.Join(args, " "), err)
	}
	return in
}

// tryStart is start for commands that may fail before serving: it returns
// run's error then.
func tryStart(t *testing.T, env map[string]string, args ...string) (*instance, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{stdout: &buffer{}, stderr: &buffer{}}
	done := make(chan struct{})
	var runErr error
	getenv := func(k string) string { return env[k] }
	go func() {
		defer close(done)
		runErr = run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), getenv, in.stdout, in.stderr)
	}()
	in.stop = func() error {
		cancel()
		select {
		case <-done:
			return runErr
		case <-time.After(30 * time.Second):
			return errors.New("run did not return 30 s after cancel")
		}
	}
	t.Cleanup(func() { in.stop() })

	deadline := time.After(60 * time.Second)
	for {
		if m := servingRE.FindStringSubmatch(in.stdout.String()); m != nil {
			in.url = m[1]
			return in, nil
		}
		select {
		case <-done:
			if runErr == nil {
				return nil, errors.New("run returned before serving")
			}
			return nil, runErr
		case <-deadline:
			return nil, errors.New("not serving after 60 s; stderr:\n" + in.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// call makes one API call over HTTP, as the AWS CLI would, with dummy
// SigV4 credentials.
func (in *instance) call(target string, body []byte) (int, []byte) {
	req, err := http.NewRequest(http.MethodPost, in.url+"/", bytes.NewReader(body))
	if err != nil {
		panic(err)
	}
	req.Header.Set("X-Amz-Target", target)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=00")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

type storeView struct {
	CustomKeyStoreId, CustomKeyStoreName, ConnectionState string
}

// stores describes every custom key store.
func (in *instance) stores(t *testing.T) []storeView {
	t.Helper()
	status, body := in.call("TrentService.DescribeCustomKeyStores", []byte(`{}`))
	var out struct{ CustomKeyStores []storeView }
	if err := json.Unmarshal(body, &out); status != 200 || err != nil {
		t.Fatalf("DescribeCustomKeyStores = %d %s", status, body)
	}
	return out.CustomKeyStores
}

func readSeed(t *testing.T, path string) *seed.File {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := seed.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

const examplePath = "../../seed/example.yaml"

func TestStartupLines(t *testing.T) {
	in := start(t, nil, "-no-state")
	lines := strings.Split(in.stdout.String(), "\n")
	if want := "Keystore Lab is serving " + in.url + " (native engine)"; lines[0] != want {
		t.Errorf("first line = %q, want %q", lines[0], want)
	}
	if want := "Try: aws kms describe-custom-key-stores --endpoint-url " + in.url; lines[1] != want {
		t.Errorf("second line = %q, want %q", lines[1], want)
	}
	if err := in.stop(); err != nil {
		t.Errorf("run after cancel = %v, want nil", err)
	}
}

// TestRestart makes a sandbox through real requests on one server, stops
// it, and finds it again on a second server started on the same state file.
func TestRestart(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state.json")
	a := start(t, nil, "-state", state)
	res, err := readSeed(t, examplePath).Apply(a.call)
	if err != nil {
		t.Fatal(err)
	}
	want := a.stores(t)
	if len(want) != 1 || want[0].ConnectionState != "CONNECTED" || want[0].CustomKeyStoreId != res.KeyStores[0].CustomKeyStoreID {
		t.Fatalf("server A has %+v", want)
	}
	if err := a.stop(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(a.stderr.String(), "TrentService.ConnectCustomKeyStore 200 ") {
		t.Errorf("server A's log lacks the connect request:\n%s", a.stderr.String())
	}
	if strings.Contains(a.stderr.String(), "kmsPassword1") {
		t.Errorf("server A's log contains a password")
	}

	b := start(t, nil, "-state", state)
	if got := b.stores(t); len(got) != 1 || got[0] != want[0] {
		t.Errorf("server B has %+v, want %+v", got, want)
	}
	if !strings.Contains(b.stderr.String(), "loaded the sandbox from "+state) {
		t.Errorf("server B's log does not say it loaded the state:\n%s", b.stderr.String())
	}
}

// TestStateSurvivesTornWrites leaves what a crash while saving would leave
// (a partial temporary file, and a complete one that was never renamed)
// and checks that the next start loads the last saved state and removes
// both.
func TestStateSurvivesTornWrites(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state.json")
	a := start(t, nil, "-state", state)
	if _, err := readSeed(t, examplePath).Apply(a.call); err != nil {
		t.Fatal(err)
	}
	want := a.stores(t)
	if err := a.stop(); err != nil {
		t.Fatal(err)
	}
	saved, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}

	// A later save that crashed before its rename: a complete snapshot of
	// an emptier sandbox, and one cut in half.
	c := start(t, nil, "-no-state")
	status, exported := c.call("Simulator.ExportSnapshot", []byte(`{}`))
	if status != 200 {
		t.Fatalf("ExportSnapshot = %d %s", status, exported)
	}
	var snap struct{ Snapshot json.RawMessage }
	if err := json.Unmarshal(exported, &snap); err != nil || bytes.Equal(snap.Snapshot, saved) {
		t.Fatalf("ExportSnapshot = %s (%v)", exported, err)
	}
	c.stop()
	os.WriteFile(filepath.Join(dir, ".state.json.tmp-1111"), snap.Snapshot, 0o600)
	os.WriteFile(filepath.Join(dir, ".state.json.tmp-2222"), snap.Snapshot[:len(snap.Snapshot)/2], 0o600)

	b := start(t, nil, "-state", state)
	if got := b.stores(t); len(got) != 1 || got[0] != want[0] {
		t.Errorf("after the torn writes the server has %+v, want %+v", got, want)
	}
	// What remains is the state file and the journal segment the start
	// began (every start snapshots the sandbox and reseeds it).
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 || entries[0].Name() != "state.json" || !strings.HasPrefix(entries[1].Name(), "state.json.journal-") {
		t.Errorf("state directory holds %v, want only state.json and one journal segment", entries)
	}
}

func TestCorruptStateIsRefused(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"notjson.json":     `{"format":"keystorelab-snapshot/1","engine":`,
		"wrongformat.json": `{"format":"something-else/9"}`,
		"empty.json":       ``,
	} {
		t.Run(name, func(t *testing.T) {
			state := filepath.Join(dir, name)
			if err := os.WriteFile(state, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := tryStart(t, nil, "-state", state)
			if err == nil || !strings.Contains(err.Error(), state) || !strings.Contains(err.Error(), "move the file away") {
				t.Errorf("run = %v, want an error naming %s and what to do", err, state)
			}
			if got, _ := os.ReadFile(state); string(got) != content {
				t.Errorf("the state file was changed to %q", got)
			}
		})
	}
}

func TestSeedFlag(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state.json")
	// Something saved before, which the seed replaces.
	old := start(t, nil, "-state", state)
	if status, body := old.call("BaldrApiService.CreateCluster", []byte(`{"HsmType":"hsm2m.medium","SubnetIds":["subnet-0123456789abcdef0"]}`)); status != 200 {
		t.Fatalf("CreateCluster = %d %s", status, body)
	}
	old.stop()

	in := start(t, nil, "-state", state, "-seed", examplePath)
	got := in.stores(t)
	if len(got) != 1 || got[0].CustomKeyStoreName != "ExampleKeyStore" || got[0].ConnectionState != "CONNECTED" {
		t.Errorf("seeded sandbox has %+v, want ExampleKeyStore CONNECTED", got)
	}
	status, body := in.call("BaldrApiService.DescribeClusters", []byte(`{}`))
	var clusters struct{ Clusters []struct{ ClusterId string } }
	if json.Unmarshal(body, &clusters); status != 200 || len(clusters.Clusters) != 1 {
		t.Errorf("seeded sandbox has clusters %s, want only the seed's", body)
	}
	logs := in.stderr.String()
	for _, want := range []string{
		"applying seed file " + examplePath + " to a fresh sandbox",
		"seeded key store ExampleKeyStore: " + got[0].CustomKeyStoreId + " CONNECTED",
		"replacing any sandbox saved there",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "kmsPassword1") {
		t.Errorf("log contains a password:\n%s", logs)
	}
	in.stop()

	// The seeded sandbox was saved: a plain restart has it.
	again := start(t, nil, "-state", state)
	if got2 := again.stores(t); len(got2) != 1 || got2[0] != got[0] {
		t.Errorf("after a restart: %+v, want %+v", got2, got)
	}
	again.stop()

	// A seed that fails halfway leaves the saved sandbox alone.
	saved, _ := os.ReadFile(state)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("clusters:\n  - ref: c\n    subnets: [not-a-subnet]\n    hsms: [us-east-1a]\n"), 0o600)
	_, err := tryStart(t, nil, "-state", state, "-seed", bad)
	if err == nil || !strings.Contains(err.Error(), "BaldrApiService.CreateCluster") {
		t.Errorf("run with a failing seed = %v, want the CreateCluster error", err)
	}
	if now, _ := os.ReadFile(state); !bytes.Equal(now, saved) {
		t.Errorf("a failed seed changed the state file")
	}

	// A seed file with a mistake fails before anything else.
	os.WriteFile(bad, []byte("clusters:\n  - ref: c\n    subnet: [s]\n"), 0o600)
	if _, err := tryStart(t, nil, "-seed", bad, "-no-state"); err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("run with an invalid seed = %v, want an error with the line", err)
	}
}

func TestNoState(t *testing.T) {
	t.Chdir(t.TempDir())
	in := start(t, nil, "-no-state")
	if status, body := in.call("BaldrApiService.CreateCluster", []byte(`{"HsmType":"hsm2m.medium","SubnetIds":["subnet-0123456789abcdef0"]}`)); status != 200 {
		t.Fatalf("CreateCluster = %d %s", status, body)
	}
	in.stop()
	if _, err := os.Stat(".keystorelab"); !os.IsNotExist(err) {
		t.Errorf("-no-state wrote .keystorelab (err %v)", err)
	}

	// By default the state goes to .keystorelab/state.json.
	in = start(t, nil)
	in.call("BaldrApiService.CreateCluster", []byte(`{"HsmType":"hsm2m.medium","SubnetIds":["subnet-0123456789abcdef0"]}`))
	in.stop()
	if _, err := os.Stat(".keystorelab/state.json"); err != nil {
		t.Errorf("default state file: %v", err)
	}
}

func TestFreshSandboxesDiffer(t *testing.T) {
	ids := map[string]bool{}
	for range 2 {
		in := start(t, nil, "-no-state")
		status, body := in.call("BaldrApiService.CreateCluster", []byte(`{"HsmType":"hsm2m.medium","SubnetIds":["subnet-0123456789abcdef0"]}`))
		var out struct{ Cluster struct{ ClusterId string } }
		if json.Unmarshal(body, &out); status != 200 || out.Cluster.ClusterId == "" {
			t.Fatalf("CreateCluster = %d %s", status, body)
		}
		ids[out.Cluster.ClusterId] = true
		in.stop()
	}
	if len(ids) != 2 {
		t.Errorf("two fresh sandboxes made the same cluster ID: %v", ids)
	}
}

func TestClockSpeed(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state.json")
	speed := func(in *instance) float64 {
		t.Helper()
		status, body := in.call("Simulator.DescribeClock", []byte(`{}`))
		var out struct{ Speed float64 }
		if err := json.Unmarshal(body, &out); status != 200 || err != nil {
			t.Fatalf("DescribeClock = %d %s", status, body)
		}
		return out.Speed
	}
	in := start(t, nil, "-state", state)
	if got := speed(in); got != 60 {
		t.Errorf("default clock speed = %v, want 60", got)
	}
	in.call("Simulator.SetClockSpeed", []byte(`{"Speed":5}`))
	in.stop()

	in = start(t, nil, "-state", state)
	if got := speed(in); got != 5 {
		t.Errorf("loaded sandbox's clock speed = %v, want its own 5", got)
	}
	in.stop()

	in = start(t, nil, "-state", state, "-clock-speed", "0")
	if got := speed(in); got != 0 {
		t.Errorf("with -clock-speed 0 the loaded sandbox's speed = %v", got)
	}
	in.stop()
	in = start(t, nil, "-state", state)
	if got := speed(in); got != 0 {
		t.Errorf("the -clock-speed change was not saved: speed = %v", got)
	}
}

func TestBadFlags(t *testing.T) {
	tests := []struct {
		env  map[string]string
		args []string
		want string
	}{
		{map[string]string{"KEYSTORELAB_ENGINE": "java"}, nil, `-engine "java"`},
		{nil, []string{"-engine", "jvm"}, `-engine "jvm"`},
		{nil, []string{"-clock-speed", "-1"}, "-clock-speed"},
		{nil, []string{"-engine", "wasm", "-wasm", "/nonexistent/engine.wasm"}, "GOOS=wasip1"},
		{nil, []string{"-seed", "/nonexistent/seed.yaml"}, "/nonexistent/seed.yaml"},
		{nil, []string{"-bogus"}, "usage"},
		{nil, []string{"extra"}, "usage"},
	}
	for _, tt := range tests {
		args := append([]string{"-no-state"}, tt.args...)
		_, err := tryStart(t, tt.env, args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("env %v, args %q: run = %v, want an error containing %q", tt.env, tt.args, err, tt.want)
		}
	}
}

// TestWasmEngine builds engine.wasm (or takes $KEYSTORELAB_WASM), seeds a
// sandbox with the wasm engine (chosen through KEYSTORELAB_ENGINE) and loads
// the state it saved into the native engine: both kinds share the state
// file.
func TestWasmEngine(t *testing.T) {
	if testing.Short() {
		t.Skip("builds engine.wasm")
	}
	code, err := wasmbuild.Build()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	wasm := filepath.Join(dir, "engine.wasm")
	if err := os.WriteFile(wasm, code, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache")) // keep wazero's cache out of the user's

	state := filepath.Join(dir, "state.json")
	in := start(t, map[string]string{"KEYSTORELAB_ENGINE": "wasm"}, "-wasm", wasm, "-state", state, "-seed", examplePath)
	if !strings.Contains(in.stdout.String(), "(wasm engine)") {
		t.Errorf("startup line: %q", in.stdout.String())
	}
	want := in.stores(t)
	if len(want) != 1 || want[0].ConnectionState != "CONNECTED" {
		t.Fatalf("wasm sandbox has %+v, want a CONNECTED store", want)
	}
	if err := in.stop(); err != nil {
		t.Fatal(err)
	}

	native := start(t, nil, "-state", state)
	if got := native.stores(t); len(got) != 1 || got[0] != want[0] {
		t.Errorf("native engine loaded %+v, want %+v", got, want)
	}
}

// TestSiteFlag serves a built site from -site, and falls back to the
// plain-text page, with a hint in the log, when there is none.
func TestSiteFlag(t *testing.T) {
	get := func(t *testing.T, url string) (int, string, http.Header) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), resp.Header
	}

	t.Run("site", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte("<!doctype html><title>Keystore Lab</title>"), 0o644); err != nil {
			t.Fatal(err)
		}
		in := start(t, nil, "-no-state", "-site", dir)
		status, body, h := get(t, in.url+"/")
		if status != 200 || !strings.Contains(body, "<title>Keystore Lab</title>") || h.Get("Cache-Control") != "no-cache" {
			t.Errorf("GET / = %d %q %v", status, body, h)
		}
		if !strings.Contains(in.stdout.String(), "Or open "+in.url+"/ in a browser") {
			t.Errorf("stdout does not point at the playground:\n%s", in.stdout)
		}
		if len(in.stores(t)) != 0 { // API calls still reach the sandbox
			t.Error("a fresh sandbox has key stores")
		}
	})

	t.Run("no site", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "dist")
		in := start(t, nil, "-no-state", "-site", missing)
		status, body, _ := get(t, in.url+"/")
		if status != 200 || !strings.Contains(body, "This is the Keystore Lab API endpoint") {
			t.Errorf("GET / = %d %q, want the plain-text page", status, body)
		}
		if want := "no site in " + missing + ": run make site"; !strings.Contains(in.stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, in.stderr)
		}
		if strings.Contains(in.stdout.String(), "in a browser") {
			t.Errorf("stdout offers a playground that is not there:\n%s", in.stdout)
		}
	})
}

func TestXKSFlags(t *testing.T) {
	o, err := parseFlags([]string{"-xks-external", "-xks-resolve", "XKS.example.com=127.0.0.1:8443"}, func(string) string { return "" }, io.Discard)
	if err != nil || !o.xksExternal || o.xksResolve["xks.example.com"] != "127.0.0.1:8443" {
		t.Fatalf("parseFlags: %+v, %v", o, err)
	}
	if _, err := parseFlags([]string{"-xks-resolve", "nohost"}, func(string) string { return "" }, io.Discard); err == nil {
		t.Fatal("-xks-resolve without = was accepted")
	}
	if _, err := newKind(context.Background(), "wasm", "build/engine.wasm", func(xks.Request) (xks.Response, time.Duration, error) {
		return xks.Response{}, 0, nil
	}, false); err == nil {
		t.Fatal("the wasm engine accepted an external XKS transport")
	}
}
