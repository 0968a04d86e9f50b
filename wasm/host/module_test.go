package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"keystorelab/engine"
	"keystorelab/wasm/abi"
	"keystorelab/wasm/wasmbuild"
)

var (
	engineWasm = sync.OnceValues(wasmbuild.Build)
	compiled   *Module // made by sharedModule, closed by TestMain
	compileErr error
	compileMu  sync.Mutex
)

func TestMain(m *testing.M) {
	code := m.Run()
	if compiled != nil {
		compiled.Close(context.Background())
	}
	os.Exit(code)
}

// sharedModule compiles engine.wasm once per test binary.
func sharedModule(t testing.TB) *Module {
	t.Helper()
	compileMu.Lock()
	defer compileMu.Unlock()
	if compiled == nil && compileErr == nil {
		var wasm []byte
		if wasm, compileErr = engineWasm(); compileErr == nil {
			compiled, compileErr = Compile(context.Background(), wasm, "")
		}
	}
	if compileErr != nil {
		t.Fatal(compileErr)
	}
	return compiled
}

func newInstance(t *testing.T) *Instance {
	t.Helper()
	i, err := sharedModule(t).NewInstance(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { i.Close(context.Background()) })
	return i
}

func TestCompileRejects(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		wasm []byte
		want string
	}{
		{"not wasm", []byte("hello"), "compile engine.wasm"},
		{"no exports", []byte("\x00asm\x01\x00\x00\x00"), "does not export"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Compile(ctx, tc.wasm, "")
			if err == nil {
				m.Close(ctx)
				t.Fatal("Compile succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Compile error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// TestInstanceMatchesNative checks a few calls against the native engine,
// byte for byte, generation included.
func TestInstanceMatchesNative(t *testing.T) {
	i := newInstance(t)
	native := engine.New(engine.Config{}, t0)
	calls := []struct{ target, body string }{
		{"TrentService.DescribeCustomKeyStores", "{}"},
		{"BaldrApiService.CreateCluster", `{"HsmType":"hsm2m.medium","SubnetIds":["subnet-0a000001","subnet-0a000002"]}`},
		{"BaldrApiService.DescribeClusters", ""},
		{"TrentService.DescribeCustomKeyStores", `{"CustomKeyStoreId":"cks-nope"}`},
		{"TrentService.NoSuchOperation", "{}"},
		{"TrentService.CreateCustomKeyStore", "not json"},
	}
	for _, c := range calls {
		status, resp, gen, err := i.Call(t0, c.target, []byte(c.body))
		if err != nil {
			t.Fatalf("%s: %v", c.target, err)
		}
		wantStatus, wantResp := native.Handle(t0, c.target, []byte(c.body))
		if status != wantStatus || !bytes.Equal(resp, wantResp) || gen != native.Generation() {
			t.Errorf("%s %s:\nwasm   %d gen %d %s\nnative %d gen %d %s",
				c.target, c.body, status, gen, resp, wantStatus, native.Generation(), wantResp)
		}
	}
}

// TestInstanceLargeFrames sends a body that makes memory grow, then
// checks that the response is still read correctly.
func TestInstanceLargeFrames(t *testing.T) {
	i := newInstance(t)
	big := fmt.Appendf(nil, `{"CustomKeyStoreName":"%s"}`, strings.Repeat("x", 6<<20))
	status, resp, _, err := i.Call(t0, "TrentService.DescribeCustomKeyStores", big)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := engine.New(engine.Config{}, t0).Handle(t0, "TrentService.DescribeCustomKeyStores", big)
	if status != want {
		t.Errorf("status %d, want %d (%.200s)", status, want, resp)
	}
	if _, resp, _, err = i.Call(t0, "TrentService.DescribeCustomKeyStores", nil); err != nil || !bytes.HasPrefix(resp, []byte(`{"CustomKeyStores":`)) {
		t.Errorf("after a large frame: %s, %v", resp, err)
	}
}

func TestInstanceTrapsOnBadFrame(t *testing.T) {
	i := newInstance(t)
	if _, _, _, err := i.Call(t0, "TrentService.DescribeCustomKeyStores", nil); err != nil {
		t.Fatal(err)
	}
	// The frame declares a 1000-byte target but carries none.
	bad := abi.AppendRequest(nil, abi.Request{Now: t0})
	bad[8], bad[9] = 0xe8, 0x03
	_, err := i.exchange(bad)
	if !errors.Is(err, ErrTrapped) {
		t.Fatalf("bad frame: error %v, want ErrTrapped", err)
	}
	if !strings.Contains(err.Error(), "target of 1000 bytes declared") {
		t.Errorf("trap error does not carry the module's panic message: %v", err)
	}
	if _, _, _, err := i.Call(t0, "TrentService.DescribeCustomKeyStores", nil); !errors.Is(err, ErrTrapped) {
		t.Errorf("call after a trap: error %v, want ErrTrapped", err)
	}
}

func TestInstanceClosed(t *testing.T) {
	i := newInstance(t)
	if err := i.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := i.Call(t0, "TrentService.DescribeCustomKeyStores", nil); !errors.Is(err, ErrTrapped) {
		t.Errorf("call after Close: error %v, want ErrTrapped", err)
	}
	if err := i.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestInstanceSerialisesCalls calls one instance from several goroutines;
// without the instance's mutex this crashes the test binary.
func TestInstanceSerialisesCalls(t *testing.T) {
	i := newInstance(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for n := range 50 {
				body := fmt.Appendf(nil, `{"CustomKeyStoreName":"store-%d-%d"}`, g, n)
				status, resp, _, err := i.Call(t0, "TrentService.DescribeCustomKeyStores", body)
				if err != nil || status != 400 || !bytes.Contains(resp, fmt.Appendf(nil, "store-%d-%d", g, n)) {
					errs <- fmt.Errorf("goroutine %d call %d: %d %s %v", g, n, status, resp, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// trapping wraps a real instance so that the target Test.Trap sends the
// module a malformed frame, which makes it trap for real.
type trapping struct{ *Instance }

func (i trapping) Call(now time.Time, target string, body []byte) (int, []byte, uint64, error) {
	if target == "Test.Trap" {
		_, err := i.exchange([]byte("short"))
		return 0, nil, 0, err
	}
	return i.Instance.Call(now, target, body)
}

func TestEngineRecoversFromRealTrap(t *testing.T) {
	m := sharedModule(t)
	ctx := context.Background()
	var made []*Instance
	e, err := newEngine(ctx, t0, func(ctx context.Context) (instance, error) {
		i, err := m.NewInstance(ctx)
		if err != nil {
			return nil, err
		}
		made = append(made, i)
		return trapping{i}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)

	status, created := e.Handle(t0, "BaldrApiService.CreateCluster", []byte(`{"HsmType":"hsm2m.medium","SubnetIds":["subnet-0a000001"]}`))
	if status != 200 {
		t.Fatalf("CreateCluster: %d %s", status, created)
	}
	_, before := e.Handle(t0, "BaldrApiService.DescribeClusters", nil)

	if status, resp := e.Handle(t0, "Test.Trap", nil); status != 500 || !bytes.Contains(resp, []byte("KMSInternalException")) {
		t.Fatalf("trapped call answered %d %s", status, resp)
	}
	if len(made) != 2 {
		t.Fatalf("%d instances made, want 2", len(made))
	}
	if _, _, _, err := made[0].Call(t0, "TrentService.DescribeCustomKeyStores", nil); !errors.Is(err, ErrTrapped) {
		t.Errorf("the trapped instance still answers: %v", err)
	}
	if _, after := e.Handle(t0, "BaldrApiService.DescribeClusters", nil); !bytes.Equal(after, before) {
		t.Errorf("clusters after the rebuild:\n%s\nbefore:\n%s", after, before)
	}
}

func TestNewEngineSnapshotMatchesNative(t *testing.T) {
	ctx := context.Background()
	e, err := NewEngine(ctx, sharedModule(t), t0)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	native := engine.New(engine.Config{}, t0)
	for _, eng := range []interface {
		Handle(time.Time, string, []byte) (int, []byte)
	}{e, native} {
		if status, resp := eng.Handle(t0, "BaldrApiService.CreateCluster", []byte(`{"HsmType":"hsm2m.medium","SubnetIds":["subnet-0a000001"]}`)); status != 200 {
			t.Fatalf("CreateCluster: %d %s", status, resp)
		}
	}
	got, err := e.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if want := native.Snapshot(); !bytes.Equal(got, want) {
		t.Errorf("wasm snapshot differs from native:\nwasm   %.300s\nnative %.300s", got, want)
	}
	if e.Generation() != native.Generation() {
		t.Errorf("Generation = %d, native %d", e.Generation(), native.Generation())
	}

	// Restore a fresh sandbox and check that the cluster is gone.
	if err := e.Restore(engine.New(engine.Config{}, t0).Snapshot(), t0); err != nil {
		t.Fatal(err)
	}
	if _, resp := e.Handle(t0, "BaldrApiService.DescribeClusters", nil); bytes.Contains(resp, []byte("cluster-")) {
		t.Errorf("clusters after restoring an empty sandbox: %s", resp)
	}
	if err := e.Restore([]byte(`{"format":"other"}`), t0); err == nil || !strings.Contains(err.Error(), "ValidationException") {
		t.Errorf("Restore of a foreign snapshot: %v", err)
	}
}

func TestCompilationCache(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles engine.wasm twice")
	}
	wasm, err := engineWasm()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dir := t.TempDir()
	for range 2 {
		m, err := Compile(ctx, wasm, dir)
		if err != nil {
			t.Fatal(err)
		}
		i, err := m.NewInstance(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if status, resp, _, err := i.Call(t0, "TrentService.DescribeCustomKeyStores", nil); err != nil || status != 200 {
			t.Errorf("call through a cached module: %d %s %v", status, resp, err)
		}
		if err := m.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) == 0 {
		t.Errorf("cache directory is empty (%v)", err)
	}
}
