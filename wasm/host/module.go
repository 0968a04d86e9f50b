// Package host runs engine.wasm under wazero, for Go tests, benchmarks and
// the local server when it is asked to run the module instead of native
// code.
//
// [Compile] turns the module's bytes into a [Module] once; each
// [Module.NewInstance] is a fresh sandbox with its own memory. An
// [Instance] speaks the module's ABI (documented in package keystorelab/wasm)
// and reports traps as errors; [Engine] wraps instances with the shape of
// the native engine and survives traps by rebuilding from the last
// snapshot.
package host

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"keystorelab/wasm/abi"
)

// ErrTrapped is wrapped by every error from an [Instance] whose module
// trapped or broke the ABI. Such an instance refuses all further calls.
var ErrTrapped = errors.New("host: engine.wasm trapped")

// Module is engine.wasm compiled for this machine, inside its own wazero
// runtime. It is safe for concurrent use; its instances are not.
type Module struct {
	rt    wazero.Runtime
	cm    wazero.CompiledModule
	cache wazero.CompilationCache // nil without a cache directory
}

// exports are the functions the ABI requires, with their signatures.
var exports = map[string]struct{ params, results []api.ValueType }{
	"_initialize": {},
	"alloc":       {[]api.ValueType{api.ValueTypeI32}, []api.ValueType{api.ValueTypeI32}},
	"free":        {[]api.ValueType{api.ValueTypeI32}, nil},
	"call":        {[]api.ValueType{api.ValueTypeI32, api.ValueTypeI32}, []api.ValueType{api.ValueTypeI64}},
}

// Compile compiles wasm, the bytes of engine.wasm, and checks that it has
// the exports the ABI requires. It uses wazero's optimising compiler where
// the platform supports it and its interpreter elsewhere. If cacheDir is not
// empty, compiled code is cached there across processes (about 14 MB for
// this module); the directory is created if needed. Call [Module.Close] to
// release the runtime and all its instances.
func Compile(ctx context.Context, wasm []byte, cacheDir string) (*Module, error) {
	cfg := wazero.NewRuntimeConfig()
	m := &Module{}
	if cacheDir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(cacheDir)
		if err != nil {
			return nil, fmt.Errorf("host: compilation cache: %w", err)
		}
		m.cache = cache
		cfg = cfg.WithCompilationCache(cache)
	}
	m.rt = wazero.NewRuntimeWithConfig(ctx, cfg)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, m.rt); err != nil {
		m.Close(ctx)
		return nil, fmt.Errorf("host: instantiate WASI: %w", err)
	}
	cm, err := m.rt.CompileModule(experimental.WithCompilationWorkers(ctx, runtime.GOMAXPROCS(0)), wasm)
	if err != nil {
		m.Close(ctx)
		return nil, fmt.Errorf("host: compile engine.wasm: %w", err)
	}
	m.cm = cm
	defs := cm.ExportedFunctions()
	for name, sig := range exports {
		d, ok := defs[name]
		if !ok {
			m.Close(ctx)
			return nil, fmt.Errorf("host: engine.wasm does not export %s", name)
		}
		if !slices.Equal(d.ParamTypes(), sig.params) || !slices.Equal(d.ResultTypes(), sig.results) {
			m.Close(ctx)
			return nil, fmt.Errorf("host: engine.wasm export %s has signature %v -> %v, want %v -> %v",
				name, d.ParamTypes(), d.ResultTypes(), sig.params, sig.results)
		}
	}
	return m, nil
}

// Close releases the runtime, the compiled module and every instance made
// from it, then the compilation cache.
func (m *Module) Close(ctx context.Context) error {
	err := m.rt.Close(ctx)
	if m.cache != nil {
		err = errors.Join(err, m.cache.Close(ctx))
	}
	return err
}

// NewInstance instantiates the module and runs its _initialize function.
// The instance sees the real wall clock and monotonic clock and takes
// randomness from crypto/rand (the engine itself takes time only from
// frames and randomness only from its seed). Its sandbox is created by the
// first call. Close it when done, or close the Module.
func (m *Module) NewInstance(ctx context.Context) (*Instance, error) {
	i := &Instance{stderr: &tail{max: 4 << 10}}
	mod, err := m.rt.InstantiateModule(ctx, m.cm, wazero.NewModuleConfig().
		WithName(""). // anonymous, so that instances can coexist
		WithStartFunctions("_initialize").
		WithSysWalltime().
		WithSysNanotime().
		WithRandSource(rand.Reader).
		WithStderr(i.stderr))
	if err != nil {
		return nil, fmt.Errorf("host: instantiate engine.wasm: %w%s", err, i.stderr.suffix())
	}
	i.mod = mod
	i.alloc = mod.ExportedFunction("alloc")
	i.free = mod.ExportedFunction("free")
	i.call = mod.ExportedFunction("call")
	return i, nil
}

// Instance is one instantiated engine.wasm: one sandbox. Its methods may be
// called from any goroutine, but a mutex serialises them, since the module
// must never be entered twice at once.
type Instance struct {
	mu                sync.Mutex
	mod               api.Module
	alloc, free, call api.Function
	stack             [2]uint64 // reused by every export call
	stderr            *tail     // what the module printed, e.g. a panic
	err               error     // set by the first trap; wraps ErrTrapped
}

// Call makes one engine call: see engine.Engine.Handle. now crosses the ABI
// in whole milliseconds. It returns the engine's status and response body
// (a copy, owned by the caller) and the engine's generation after the call.
// err is not nil only when the module trapped or broke the ABI; it wraps
// [ErrTrapped] and the instance is then unusable: close it and make another.
func (i *Instance) Call(now time.Time, target string, body []byte) (status int, resp []byte, gen uint64, err error) {
	frame := abi.AppendRequest(make([]byte, 0, abi.RequestHeaderSize+len(target)+len(body)),
		abi.Request{Now: now, Target: target, Body: body})
	r, err := i.exchange(frame)
	if err != nil {
		return 0, nil, 0, err
	}
	return r.Status, r.Body, r.Generation, nil
}

// Close releases the instance's memory. It is safe to call more than once.
func (i *Instance) Close(ctx context.Context) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.err == nil {
		i.err = fmt.Errorf("%w: instance closed", ErrTrapped)
	}
	return i.mod.Close(ctx)
}

// exchange sends one request frame and returns the decoded response, whose
// Body is a copy. Any failure poisons the instance.
func (i *Instance) exchange(frame []byte) (abi.Response, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.err != nil {
		return abi.Response{}, i.err
	}
	i.stderr.buf = i.stderr.buf[:0]
	out, err := i.roundTrip(frame)
	if err != nil {
		i.err = fmt.Errorf("%w: %v%s", ErrTrapped, err, i.stderr.suffix())
		return abi.Response{}, i.err
	}
	r, err := abi.DecodeResponse(out)
	if err != nil {
		i.err = fmt.Errorf("%w: %v", ErrTrapped, err)
		return abi.Response{}, i.err
	}
	return r, nil
}

// roundTrip does alloc, write, call, read, free, free, and returns a copy
// of the response frame.
func (i *Instance) roundTrip(frame []byte) ([]byte, error) {
	ctx := context.Background()
	in, err := i.invoke(ctx, i.alloc, uint64(len(frame)))
	if err != nil {
		return nil, fmt.Errorf("alloc(%d): %w", len(frame), err)
	}
	inPtr := uint32(in)
	if !i.mod.Memory().Write(inPtr, frame) {
		return nil, fmt.Errorf("alloc(%d) returned %#x, outside memory", len(frame), inPtr)
	}
	res, err := i.invoke(ctx, i.call, uint64(inPtr), uint64(len(frame)))
	if err != nil {
		return nil, fmt.Errorf("call: %w", err)
	}
	outPtr, outLen := abi.Unpack(res)
	// Memory may have grown during the call: read through a fresh view,
	// and copy before anything else runs in the module.
	view, ok := i.mod.Memory().Read(outPtr, outLen)
	if !ok {
		return nil, fmt.Errorf("call returned %d bytes at %#x, outside memory", outLen, outPtr)
	}
	out := slices.Clone(view)
	if _, err := i.invoke(ctx, i.free, uint64(outPtr)); err != nil {
		return nil, fmt.Errorf("free: %w", err)
	}
	if _, err := i.invoke(ctx, i.free, uint64(inPtr)); err != nil {
		return nil, fmt.Errorf("free: %w", err)
	}
	return out, nil
}

// invoke calls an export with up to two parameters and returns its first
// result (zero if it has none).
func (i *Instance) invoke(ctx context.Context, f api.Function, params ...uint64) (uint64, error) {
	stack := i.stack[:max(len(params), 1)]
	copy(stack, params)
	if err := f.CallWithStack(ctx, stack); err != nil {
		return 0, err
	}
	return stack[0], nil
}

// tail keeps the last max bytes written to it: the module's stderr, where
// the Go runtime prints a panic before trapping. Writes happen only during
// export calls, under the instance's mutex.
type tail struct {
	max int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = slices.Delete(t.buf, 0, over)
	}
	return len(p), nil
}

// suffix returns what the module has printed, ready to append to an error.
func (t *tail) suffix() string {
	if len(t.buf) == 0 {
		return ""
	}
	return "; module stderr: " + string(t.buf)
}
