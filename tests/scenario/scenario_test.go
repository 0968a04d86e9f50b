package scenario

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"
)

// fake is a caller that answers from a table and records what it was sent.
type fake struct {
	answers map[string]string // target -> response body (status 200)
	sent    []string          // "target body"
}

func (f *fake) call(target string, body []byte) (int, []byte) {
	f.sent = append(f.sent, target+" "+string(body))
	resp, ok := f.answers[target]
	if !ok {
		return 400, []byte(`{"__type":"UnknownOperationException"}`)
	}
	return 200, []byte(resp)
}

const scenario = `Comment: a cluster, then a store in it.
-- req BaldrApiService.CreateCluster cluster=Cluster.ClusterId --
{"HsmType":"hsm2m.medium"}
-- res 200 --
{"Cluster":{"ClusterId":"cluster-1"}}
-- req BaldrApiService.DescribeClusters first=Clusters.0.ClusterId n=Clusters.0.Size ok=Clusters.0.Ok all=Clusters --
{}
-- res 200 --
{"Clusters":[{"ClusterId":"cluster-1","Size":2,"Ok":true}]}
-- req TrentService.CreateCustomKeyStore store=CustomKeyStoreId --
{"CloudHsmClusterId":"$cluster","Again":"id=$first!","Size":$n,"Ok":$ok,"All":$all,"Price":"$$5"}
-- res 200 --
{"CustomKeyStoreId":"cks-1"}
-- req TrentService.Nope --
{"CustomKeyStoreId":"$store"}
-- res 400 --
{"__type":"UnknownOperationException"}
`

func newFake() *fake {
	return &fake{answers: map[string]string{
		"BaldrApiService.CreateCluster":     `{"Cluster":{"ClusterId":"cluster-1"}}`,
		"BaldrApiService.DescribeClusters":  `{"Clusters":[{"ClusterId":"cluster-1","Size":2,"Ok":true}]}`,
		"TrentService.CreateCustomKeyStore": `{"CustomKeyStoreId":"cks-1"}`,
		"Test.NotJSON":                      `oops`,
	}}
}

func TestRunReproducesGolden(t *testing.T) {
	want := txtar.Parse([]byte(scenario))
	f := newFake()
	got, err := Run(want, f.call)
	if err != nil {
		t.Fatal(err)
	}
	if d := Diff(want, got); d != "" {
		t.Fatal(d)
	}
	if string(Format(got)) != scenario {
		t.Errorf("Format(Run(...)) =\n%s\nwant\n%s", Format(got), scenario)
	}
	wantSent := []string{
		`BaldrApiService.CreateCluster {"HsmType":"hsm2m.medium"}`,
		`BaldrApiService.DescribeClusters {}`,
		`TrentService.CreateCustomKeyStore {"CloudHsmClusterId":"cluster-1","Again":"id=cluster-1!","Size":2,"Ok":true,` +
			`"All":[{"ClusterId":"cluster-1","Size":2,"Ok":true}],"Price":"$5"}`,
		`TrentService.Nope {"CustomKeyStoreId":"cks-1"}`,
	}
	if strings.Join(f.sent, "\n") != strings.Join(wantSent, "\n") {
		t.Errorf("sent\n%s\nwant\n%s", strings.Join(f.sent, "\n"), strings.Join(wantSent, "\n"))
	}
}

func TestRunWritesMissingResponses(t *testing.T) {
	in := txtar.Parse([]byte("Comment: no answers yet.\n" +
		"-- req BaldrApiService.CreateCluster --\n{}\n" +
		"-- req TrentService.Nope --\n"))
	got, err := Run(in, newFake().call)
	if err != nil {
		t.Fatal(err)
	}
	want := "Comment: no answers yet.\n" +
		"-- req BaldrApiService.CreateCluster --\n{}\n" +
		"-- res 200 --\n{\"Cluster\":{\"ClusterId\":\"cluster-1\"}}\n" +
		"-- req TrentService.Nope --\n" +
		"-- res 400 --\n{\"__type\":\"UnknownOperationException\"}\n"
	if string(Format(got)) != want {
		t.Errorf("got\n%s\nwant\n%s", Format(got), want)
	}
}

func TestRunSendsEmptyBody(t *testing.T) {
	f := newFake()
	if _, err := Run(txtar.Parse([]byte("-- req TrentService.Nope --\n")), f.call); err != nil {
		t.Fatal(err)
	}
	if f.sent[0] != "TrentService.Nope " {
		t.Errorf("sent %q, want an empty body", f.sent[0])
	}
}

func TestRunDetectsChangedResponse(t *testing.T) {
	want := txtar.Parse([]byte(scenario))
	f := newFake()
	f.answers["TrentService.CreateCustomKeyStore"] = `{"CustomKeyStoreId":"cks-2"}`
	got, err := Run(want, f.call)
	if err != nil {
		t.Fatal(err)
	}
	d := Diff(want, got)
	for _, s := range []string{
		`section 6 (after "req TrentService.CreateCustomKeyStore store=CustomKeyStoreId")`,
		`"res 200" differs`,
		`want: {"CustomKeyStoreId":"cks-1"}`,
		`got:  {"CustomKeyStoreId":"cks-2"}`,
		`first difference at byte 25`,
	} {
		if !strings.Contains(d, s) {
			t.Errorf("Diff lacks %q:\n%s", s, d)
		}
	}
}

func TestDiff(t *testing.T) {
	base := "C\n-- req A --\n{}\n-- res 200 --\n{\"x\":1}\n"
	tests := []struct {
		name, got, want string // want: a substring of the diff, "" for none
	}{
		{"equal", base, ""},
		{"comment", "D\n-- req A --\n{}\n-- res 200 --\n{\"x\":1}\n", "comment differs"},
		{"status", "C\n-- req A --\n{}\n-- res 400 --\n{\"x\":1}\n", `want "res 200", got "res 400"`},
		{"missing", "C\n-- req A --\n{}\n", `section 2 (after "req A"): missing section "res 200"`},
		{"extra", base + "-- req B --\n", `section 3: unexpected section "req B"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := Diff(txtar.Parse([]byte(base)), txtar.Parse([]byte(tc.got)))
			if tc.want == "" && d != "" || !strings.Contains(d, tc.want) {
				t.Errorf("Diff = %q, want it to contain %q", d, tc.want)
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	tests := []struct{ name, archive, want string }{
		{"res first", "-- res 200 --\n", "a res must follow a req"},
		{"two res", "-- req A --\n-- res 200 --\n-- res 200 --\n", "a res must follow a req"},
		{"bad status", "-- req A --\n-- res OK --\n", "status is not a number"},
		{"no target", "-- req --\n", "no target"},
		{"other section", "-- notes --\n", "want a req or res section"},
		{"bad capture", "-- req A x --\n", `capture "x" is not name=Dotted.Path`},
		{"empty path segment", "-- req A x=A..B --\n", "is not name=Dotted.Path"},
		{"bad name", "-- req A 1x=A --\n", "is not name=Dotted.Path"},
		{"undefined", "-- req A --\n{\"a\":\"$nope\"}\n", "undefined $nope"},
		{"missing member", "-- req BaldrApiService.CreateCluster c=Cluster.Id --\n", `Cluster has no member "Id"`},
		{"bad index", "-- req BaldrApiService.DescribeClusters c=Clusters.1 --\n", `Clusters is an array of 1 elements, and "1" is not an index`},
		{"through a scalar", "-- req BaldrApiService.DescribeClusters c=Clusters.0.Size.X --\n", "Clusters.0.Size is not an object or array"},
		{"not JSON", "-- req Test.NotJSON c=X --\n", "the response is not JSON"},
		{"no member at top", "-- req TrentService.Nope c=X --\n", `the response has no member "X"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Run(txtar.Parse([]byte(tc.archive)), newFake().call)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Run error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestRunKeepsFailedResponse(t *testing.T) {
	got, err := Run(txtar.Parse([]byte("-- req BaldrApiService.CreateCluster c=Nope --\n-- req B --\n")), newFake().call)
	if err == nil {
		t.Fatal("Run succeeded with a missing capture")
	}
	if len(got.Files) != 2 || got.Files[1].Name != "res 200" {
		t.Errorf("partial archive:\n%s", Format(got))
	}
}

func TestCaptureEscapesStrings(t *testing.T) {
	f := &fake{answers: map[string]string{"A": `{"S":"a\"b\\c<>"}`, "B": `{}`}}
	_, err := Run(txtar.Parse([]byte("-- req A s=S --\n-- req B --\n{\"v\":\"$s\"}\n")), f.call)
	if err != nil {
		t.Fatal(err)
	}
	if want := `B {"v":"a\"b\\c<>"}`; f.sent[1] != want {
		t.Errorf("sent %s, want %s", f.sent[1], want)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.txtar")
	bad := filepath.Join(dir, "bad.txtar")
	if err := os.WriteFile(good, []byte(scenario), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("-- res 200 --\n"), 0o666); err != nil {
		t.Fatal(err)
	}
	a, err := Load(good)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Files) != 8 {
		t.Errorf("Load found %d sections, want 8", len(a.Files))
	}
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), "bad.txtar") {
		t.Errorf("Load(bad) error = %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.txtar")); err == nil {
		t.Error("Load of a missing file succeeded")
	}
}

func ExampleRun() {
	arch := txtar.Parse([]byte("-- req Echo.Id id=Id --\n{}\n-- req Echo.Id --\n{\"Id\":\"$id-2\"}\n"))
	got, err := Run(arch, func(target string, body []byte) (int, []byte) {
		if string(body) == "{}" {
			return 200, []byte(`{"Id":"x1"}`)
		}
		return 200, body
	})
	if err != nil {
		panic(err)
	}
	fmt.Print(string(Format(got)))
	// Output:
	// -- req Echo.Id id=Id --
	// {}
	// -- res 200 --
	// {"Id":"x1"}
	// -- req Echo.Id --
	// {"Id":"$id-2"}
	// -- res 200 --
	// {"Id":"x1-2"}
}
