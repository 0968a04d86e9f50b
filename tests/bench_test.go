package tests

import (
	"context"
	"testing"

	"keystorelab/engine"
	"keystorelab/tests/scenario"
	"keystorelab/wasm/host"
)

// BenchmarkCompile measures host.Compile of engine.wasm: from nothing, and
// with a compilation cache directory warmed earlier, which is what a new
// process with a cache sees.
func BenchmarkCompile(b *testing.B) {
	wasm, err := engineWasm()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	compile := func(b *testing.B, dir string) {
		m, err := host.Compile(ctx, wasm, dir)
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Close(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			compile(b, "")
		}
	})
	b.Run("filecache", func(b *testing.B) {
		dir := b.TempDir()
		compile(b, dir)
		for b.Loop() {
			compile(b, dir)
		}
	})
}

// BenchmarkInstantiate measures a new sandbox from a compiled module:
// instantiation with _initialize, and then the first call, which creates
// the engine inside.
func BenchmarkInstantiate(b *testing.B) {
	m := module(b)
	ctx := context.Background()
	b.Run("instance", func(b *testing.B) {
		for b.Loop() {
			i, err := m.NewInstance(ctx)
			if err != nil {
				b.Fatal(err)
			}
			i.Close(ctx)
		}
	})
	b.Run("instance+first-call", func(b *testing.B) {
		for b.Loop() {
			i, err := m.NewInstance(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if _, _, _, err := i.Call(T0, "TrentService.DescribeCustomKeyStores", []byte("{}")); err != nil {
				b.Fatal(err)
			}
			i.Close(ctx)
		}
	})
}

// BenchmarkCallDescribe measures one DescribeCustomKeyStores round trip
// against a sandbox holding a CONNECTED CloudHSM key store: natively, on a
// bare wasm instance, and through host.Engine.
func BenchmarkCallDescribe(b *testing.B) {
	setup, err := scenario.Load("testdata/scenarios/describe-connected.txtar")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	const target = "TrentService.DescribeCustomKeyStores"
	body := []byte("{}")

	// prepare replays the setup scenario through handle.
	prepare := func(b *testing.B, handle func(target string, body []byte) (int, []byte)) {
		b.Helper()
		if _, err := scenario.Run(setup, handle); err != nil {
			b.Fatal(err)
		}
	}
	check := func(b *testing.B, status int, resp []byte) {
		if status != 200 {
			b.Fatalf("%s: %d %s", target, status, resp)
		}
	}

	b.Run("native", func(b *testing.B) {
		e := engine.New(engine.Config{}, T0)
		prepare(b, func(t string, body []byte) (int, []byte) { return e.Handle(T0, t, body) })
		for b.Loop() {
			status, resp := e.Handle(T0, target, body)
			check(b, status, resp)
		}
	})
	b.Run("wasm", func(b *testing.B) {
		i := newInstance(b)
		prepare(b, func(t string, body []byte) (int, []byte) {
			status, resp, _, err := i.Call(T0, t, body)
			if err != nil {
				b.Fatal(err)
			}
			return status, resp
		})
		for b.Loop() {
			status, resp, _, err := i.Call(T0, target, body)
			if err != nil {
				b.Fatal(err)
			}
			check(b, status, resp)
		}
	})
	b.Run("wasm-engine", func(b *testing.B) {
		e, err := host.NewEngine(ctx, module(b), T0)
		if err != nil {
			b.Fatal(err)
		}
		defer e.Close(ctx)
		prepare(b, func(t string, body []byte) (int, []byte) { return e.Handle(T0, t, body) })
		for b.Loop() {
			status, resp := e.Handle(T0, target, body)
			check(b, status, resp)
		}
	})
}
