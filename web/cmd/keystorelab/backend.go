package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"keystorelab/engine"
	"keystorelab/wasm/host"
	"keystorelab/web/server"
)

// A kind makes sandboxes of one engine kind: native Go or engine.wasm.
type kind interface {
	// fresh returns a new sandbox with the given random seed and clock speed.
	fresh(now time.Time, seed [32]byte, clockSpeed float64) (server.Backend, error)
	// restore returns the sandbox saved in snapshot.
	restore(snapshot []byte, now time.Time) (server.Backend, error)
	// close releases what the kind and its sandboxes hold.
	close() error
}

// newKind returns the engine kind named name ("native" or "wasm"). wasmPath
// is the module's file, for "wasm".
//
// xks, when not nil, lets the native engine's external key stores reach XKS
// proxies outside the sandbox; engine.wasm cannot.
func newKind(ctx context.Context, name, wasmPath string, xks engine.XKSTransport, journaled bool) (kind, error) {
	switch name {
	case "native":
		return nativeKind{xks: xks}, nil
	case "wasm":
		if xks != nil {
			return nil, fmt.Errorf("-xks-external needs -engine native: engine.wasm has no network")
		}
		k, err := newWasmKind(ctx, wasmPath)
		if err != nil {
			return nil, err
		}
		k.journaled = journaled
		return k, nil
	}
	return nil, fmt.Errorf("unknown engine %q: want native or wasm", name)
}

// nativeKind runs the engine as Go code in this process.
type nativeKind struct {
	xks engine.XKSTransport
}

func (k nativeKind) fresh(now time.Time, seed [32]byte, clockSpeed float64) (server.Backend, error) {
	e := engine.New(engine.Config{Seed: seed, ClockSpeed: clockSpeed, HostSeeded: true}, now)
	if k.xks != nil {
		e.SetXKSTransport(k.xks)
	}
	return server.Native(e), nil
}

func (k nativeKind) restore(snapshot []byte, now time.Time) (server.Backend, error) {
	e, err := engine.Restore(snapshot, now)
	if err != nil {
		return nil, err
	}
	if k.xks != nil {
		e.SetXKSTransport(k.xks)
	}
	return server.Native(e), nil
}

func (nativeKind) close() error { return nil }

// wasmKind runs engine.wasm under wazero.
type wasmKind struct {
	ctx     context.Context
	mod     *host.Module
	engines []*host.Engine
	// journaled: the server keeps a journal, so the engines need not
	// export a snapshot after every change (see host.Engine.KeepSnapshots).
	journaled bool
}

func newWasmKind(ctx context.Context, path string) (*wasmKind, error) {
	code, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("engine module: %w (build it with: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o %s ./wasm)", err, path)
	}
	// Compiling the module takes seconds; cache the result across runs
	// where the machine has a cache directory.
	var cacheDir string
	if dir, err := os.UserCacheDir(); err == nil {
		cacheDir = filepath.Join(dir, "keystorelab", "wazero")
	}
	mod, err := host.Compile(ctx, code, cacheDir)
	if err != nil {
		return nil, fmt.Errorf("engine module %s: %w", path, err)
	}
	return &wasmKind{ctx: ctx, mod: mod}, nil
}

func (k *wasmKind) newEngine(now time.Time) (*host.Engine, error) {
	e, err := host.NewEngine(k.ctx, k.mod, now)
	if err != nil {
		return nil, err
	}
	e.KeepSnapshots(!k.journaled)
	k.engines = append(k.engines, e)
	return e, nil
}

// fresh resets the module's initial zero-seed sandbox into a host-seeded
// one with the clock speed, and reseeds it with seed, since the module
// creates it without a Config.
func (k *wasmKind) fresh(now time.Time, seed [32]byte, clockSpeed float64) (server.Backend, error) {
	e, err := k.newEngine(now)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(struct{ ClockSpeed float64 }{clockSpeed})
	if err != nil {
		return nil, err
	}
	if status, resp := e.Handle(now, "Simulator.ResetSandbox", body); status != 200 {
		return nil, fmt.Errorf("Simulator.ResetSandbox answered %d: %s", status, resp)
	}
	body, _ = json.Marshal(struct{ Entropy []byte }{seed[:]})
	if status, resp := e.Handle(now, "Simulator.Reseed", body); status != 200 {
		return nil, fmt.Errorf("Simulator.Reseed answered %d: %s", status, resp)
	}
	return e, nil
}

func (k *wasmKind) restore(snapshot []byte, now time.Time) (server.Backend, error) {
	e, err := k.newEngine(now)
	if err != nil {
		return nil, err
	}
	if err := e.Restore(snapshot, now); err != nil {
		return nil, err
	}
	return e, nil
}

func (k *wasmKind) close() error {
	ctx := context.Background() // k.ctx may be cancelled by now
	for _, e := range k.engines {
		e.Close(ctx)
	}
	return k.mod.Close(ctx)
}
