package engine

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"keystorelab/tests/scenario"
)

var update = flag.Bool("update", false, "rewrite the golden scenarios' responses")

// TestScenarios replays every golden scenario against a fresh engine and
// requires the exact responses recorded in the file. With -update it
// rewrites the res sections instead.
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/scenarios/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			arch, err := scenario.Load(file)
			if err != nil {
				t.Fatal(err)
			}
			e := New(Config{}, t0)
			got, err := scenario.Run(arch, func(target string, body []byte) (int, []byte) {
				return e.Handle(t0, target, body)
			})
			if err != nil {
				t.Fatal(err)
			}
			want, _ := os.ReadFile(file)
			out := scenario.Format(got)
			if *update {
				if err := os.WriteFile(file, out, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if !bytes.Equal(out, want) {
				t.Fatalf("transcript differs from %s (go test ./engine -run TestScenarios -update rewrites it):\n%s", file, scenario.Diff(arch, got))
			}
		})
	}
}
