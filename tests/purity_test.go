package tests

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestEngineIsPure enforces DESIGN.md's rule that engine/ and hsmsim/ take
// time, randomness and transport from the host: their non-test code
// imports no net/http, net, os or crypto/rand and never calls time.Now,
// and net/http is not even linked in (it would add 0.7 MB to engine.wasm).
func TestEngineIsPure(t *testing.T) {
	forbidden := map[string]bool{"net/http": true, "net": true, "os": true, "crypto/rand": true}
	fset := token.NewFileSet()
	checked := 0
	for _, root := range []string{"../engine", "../hsmsim"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			checked++
			timeName := ""
			for _, imp := range f.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				if forbidden[p] {
					t.Errorf("%s imports %s", path, p)
				}
				if p == "time" {
					timeName = "time"
					if imp.Name != nil {
						timeName = imp.Name.Name
					}
				}
			}
			ast.Inspect(f, func(n ast.Node) bool {
				if sel, ok := n.(*ast.SelectorExpr); ok {
					if id, ok := sel.X.(*ast.Ident); ok && timeName != "" && id.Name == timeName && (sel.Sel.Name == "Now" || sel.Sel.Name == "Since" || sel.Sel.Name == "Until" || sel.Sel.Name == "Sleep" || sel.Sel.Name == "After" || sel.Sel.Name == "NewTimer" || sel.Sel.Name == "NewTicker" || sel.Sel.Name == "Tick" || sel.Sel.Name == "AfterFunc") {
						t.Errorf("%s: calls time.%s", fset.Position(sel.Pos()), sel.Sel.Name)
					}
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if checked < 5 {
		t.Fatalf("only %d files checked", checked)
	}
	out, err := exec.Command("go", "list", "-deps", "../engine", "../hsmsim/...").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == "net/http" {
			t.Error("engine or hsmsim links net/http")
		}
	}
}
