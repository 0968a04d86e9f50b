package tests

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/tools/txtar"

	"keystorelab/engine"
	"keystorelab/tests/scenario"
	"keystorelab/wasm/host"
	"keystorelab/wasm/wasmbuild"
)

var update = flag.Bool("update", false, "rewrite the res sections of the scenario files from the native run")

// T0 is the host time of every call in a scenario.
var T0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// scenarioDirs hold the golden scenarios, relative to this package.
var scenarioDirs = []string{"../engine/testdata/scenarios", "testdata/scenarios"}

var (
	// engineWasm is engine.wasm, built once per test binary (or read from
	// $KEYSTORELAB_WASM).
	engineWasm = sync.OnceValues(wasmbuild.Build)
	// compiledModule is engineWasm compiled once per test binary; TestMain
	// closes it.
	compiledModule = sync.OnceValues(func() (*host.Module, error) {
		wasm, err := engineWasm()
		if err != nil {
			return nil, err
		}
		m, err := host.Compile(context.Background(), wasm, "")
		if err == nil {
			opened = m
		}
		return m, err
	})
	opened *host.Module
)

func TestMain(m *testing.M) {
	code := m.Run()
	if opened != nil {
		opened.Close(context.Background())
	}
	os.Exit(code)
}

func module(tb testing.TB) *host.Module {
	tb.Helper()
	m, err := compiledModule()
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// newInstance returns a fresh wasm sandbox, closed when the test ends.
func newInstance(tb testing.TB) *host.Instance {
	tb.Helper()
	i, err := module(tb).NewInstance(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { i.Close(context.Background()) })
	return i
}

func scenarioFiles(t *testing.T) []string {
	var files []string
	for _, dir := range scenarioDirs {
		m, err := filepath.Glob(filepath.Join(dir, "*.txtar"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatalf("no scenarios in %v", scenarioDirs)
	}
	return files
}

// transcript is what one host answered to a scenario.
type transcript struct {
	arch     *txtar.Archive
	gens     []uint64 // the generation after each call
	snapshot []byte   // Simulator.ExportSnapshot's response at the end
}

// TestScenarios replays every golden scenario natively and in a fresh
// engine.wasm instance, both starting at T0 with a zero seed. The two
// transcripts (responses, generations and final snapshot) must be
// byte-identical, and equal to the file's res sections.
func TestScenarios(t *testing.T) {
	for _, path := range scenarioFiles(t) {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			t.Parallel()
			want, err := scenario.Load(path)
			if err != nil {
				t.Fatal(err)
			}

			native := engine.New(engine.Config{}, T0)
			nat := replay(t, "native", want, func(target string, body []byte) (int, []byte, uint64, error) {
				status, resp := native.Handle(T0, target, body)
				return status, resp, native.Generation(), nil
			})
			inst := newInstance(t)
			was := replay(t, "wasm", want, func(target string, body []byte) (int, []byte, uint64, error) {
				return inst.Call(T0, target, body)
			})

			if d := scenario.Diff(nat.arch, was.arch); d != "" {
				t.Errorf("%s: native and wasm transcripts differ:\n%s", path, d)
			}
			if !slices.Equal(nat.gens, was.gens) {
				t.Errorf("%s: generations differ:\nnative %v\nwasm   %v", path, nat.gens, was.gens)
			}
			if !bytes.Equal(nat.snapshot, was.snapshot) {
				t.Errorf("%s: final snapshots differ:\nnative %.500s\nwasm   %.500s", path, nat.snapshot, was.snapshot)
			}

			if *update {
				if got := scenario.Format(nat.arch); !bytes.Equal(got, scenario.Format(want)) {
					if err := os.WriteFile(path, got, 0o666); err != nil {
						t.Fatal(err)
					}
					t.Logf("rewrote %s", path)
				}
				return
			}
			if d := scenario.Diff(want, nat.arch); d != "" {
				t.Errorf("%s: the engine's answers differ from the file (-update rewrites it):\n%s", path, d)
			}
		})
	}
}

// replay runs want through call and exports a snapshot at the end. A trap
// or a scenario error ends the test.
func replay(t *testing.T, name string, want *txtar.Archive,
	call func(target string, body []byte) (int, []byte, uint64, error)) transcript {
	t.Helper()
	var tr transcript
	var trap error
	arch, err := scenario.Run(want, func(target string, body []byte) (int, []byte) {
		if trap != nil {
			return 0, nil
		}
		status, resp, gen, err := call(target, body)
		if err != nil {
			trap = fmt.Errorf("%s: %w", target, err)
			return 0, nil
		}
		tr.gens = append(tr.gens, gen)
		return status, resp
	})
	if trap != nil {
		t.Fatalf("%s: %v", name, trap)
	}
	if err != nil {
		t.Fatalf("%s: %v\ntranscript so far:\n%s", name, err, scenario.Format(arch))
	}
	tr.arch = arch
	status, snap, _, err := call("Simulator.ExportSnapshot", []byte("{}"))
	if err != nil || status != 200 {
		t.Fatalf("%s: Simulator.ExportSnapshot: %d %s %v", name, status, snap, err)
	}
	tr.snapshot = snap
	return tr
}

// TestScenarioFilesAreFormatted keeps the files in the form -update
// writes, so that rewriting them gives clean diffs.
func TestScenarioFilesAreFormatted(t *testing.T) {
	for _, path := range scenarioFiles(t) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := scenario.Format(txtar.Parse(b)); !bytes.Equal(got, b) {
			t.Errorf("%s is not in txtar.Format's form (every section must end in a newline)", path)
		}
	}
}
