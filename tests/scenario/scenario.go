// Package scenario replays golden scenarios: ordered engine requests and
// their exact responses, kept as txtar archives.
//
// # Format
//
// The archive's comment says what the scenario shows. Its sections come in
// pairs, a request and then its response:
//
//	Comment: a CloudHSM key store is created in a new cluster.
//	-- req BaldrApiService.CreateCluster cluster=Cluster.ClusterId --
//	{"HsmType":"hsm2m.medium","SubnetIds":["subnet-0a1b2c3d"]}
//	-- res 200 --
//	{"Cluster":{"ClusterId":"cluster-abc",...}}
//	-- req TrentService.CreateCustomKeyStore store=CustomKeyStoreId --
//	{"CustomKeyStoreName":"ks","CloudHsmClusterId":"$cluster"}
//	-- res 200 --
//	{"CustomKeyStoreId":"cks-123"}
//
// A req section is named "req", the target (an X-Amz-Target value) and any
// number of captures name=Path. Its data is the JSON request body; one
// final newline is not sent. After the call, each capture takes the value
// at Path in the response: Path is a dot-separated list of object member
// names, where a number selects an array element (Clusters.0.ClusterId).
// Later request bodies refer to a capture as $name, inside strings or not:
// a captured string substitutes its contents, JSON-escaped, so it is
// written "$name"; any other value substitutes its JSON text. $$ stands for
// a literal $, and a $name that was never captured is an error.
//
// A res section is named "res" and the HTTP status; its data is the exact
// response body followed by one newline. A req without a res is allowed in
// an input archive: [Run] writes it.
package scenario

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/tools/txtar"
)

// Load reads the scenario at path and checks its format.
func Load(path string) (*txtar.Archive, error) {
	a, err := txtar.ParseFile(path)
	if err != nil {
		return nil, err
	}
	if _, err := parse(a); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// Format returns the archive's text, as stored in a scenario file.
func Format(a *txtar.Archive) []byte {
	return txtar.Format(a)
}

// Run replays every request of arch through call, in order, and returns a
// new archive with arch's comment and req sections and, after each req, a
// res section holding what call answered. The res sections of arch are not
// consulted; compare the result with arch (see [Diff]) to check them.
//
// call receives the target and the body with captures substituted. Run
// knows nothing of time: callers pass the same host time to every call.
//
// On error (a malformed archive, an undefined $name, a capture that is
// missing from its response), the returned archive holds the sections
// replayed so far, including the response that failed to capture.
func Run(arch *txtar.Archive, call func(target string, body []byte) (status int, resp []byte)) (*txtar.Archive, error) {
	out := &txtar.Archive{Comment: bytes.Clone(arch.Comment)}
	steps, err := parse(arch)
	if err != nil {
		return out, err
	}
	vars := map[string][]byte{}
	for _, s := range steps {
		body, err := substitute(bytes.TrimSuffix(s.req.Data, []byte("\n")), vars)
		if err != nil {
			return out, fmt.Errorf("%q: %w", s.req.Name, err)
		}
		status, resp := call(s.target, body)
		out.Files = append(out.Files,
			txtar.File{Name: s.req.Name, Data: bytes.Clone(s.req.Data)},
			txtar.File{Name: "res " + strconv.Itoa(status), Data: append(bytes.Clone(resp), '\n')})
		for _, c := range s.captures {
			v, err := lookup(resp, c.path)
			if err != nil {
				return out, fmt.Errorf("%q: capture %s=%s: %w", s.req.Name, c.name, strings.Join(c.path, "."), err)
			}
			vars[c.name] = v
		}
	}
	return out, nil
}

// Diff describes the first difference between two archives, or returns ""
// if they are equal: the comment, or the first section whose name or data
// differ, with both versions and where they part.
func Diff(want, got *txtar.Archive) string {
	if !bytes.Equal(want.Comment, got.Comment) {
		return "comment differs\n" + contrast(want.Comment, got.Comment)
	}
	for i := range max(len(want.Files), len(got.Files)) {
		var w, g *txtar.File
		if i < len(want.Files) {
			w = &want.Files[i]
		}
		if i < len(got.Files) {
			g = &got.Files[i]
		}
		where := fmt.Sprintf("section %d", i+1)
		if i > 0 && i-1 < len(want.Files) && strings.HasPrefix(want.Files[i-1].Name, "req ") {
			where += fmt.Sprintf(" (after %q)", want.Files[i-1].Name)
		}
		switch {
		case w == nil:
			return fmt.Sprintf("%s: unexpected section %q\n%s", where, g.Name, contrast(nil, g.Data))
		case g == nil:
			return fmt.Sprintf("%s: missing section %q\n%s", where, w.Name, contrast(w.Data, nil))
		case w.Name != g.Name:
			return fmt.Sprintf("%s: want %q, got %q\n%s", where, w.Name, g.Name, contrast(w.Data, g.Data))
		case !bytes.Equal(w.Data, g.Data):
			return fmt.Sprintf("%s: %q differs\n%s", where, w.Name, contrast(w.Data, g.Data))
		}
	}
	return ""
}

// contrast shows want and got and the first byte where they differ.
func contrast(want, got []byte) string {
	const limit = 4000
	clip := func(b []byte) string {
		if len(b) > limit {
			return string(b[:limit]) + "…(" + strconv.Itoa(len(b)-limit) + " more bytes)"
		}
		return string(b)
	}
	n := 0
	for n < len(want) && n < len(got) && want[n] == got[n] {
		n++
	}
	near := func(b []byte) string { return strconv.Quote(string(b[max(n-30, 0):min(n+30, len(b))])) }
	return fmt.Sprintf("want: %s\ngot:  %s\nfirst difference at byte %d: want …%s…, got …%s…",
		strings.TrimSuffix(clip(want), "\n"), strings.TrimSuffix(clip(got), "\n"), n, near(want), near(got))
}

// step is one request of a scenario.
type step struct {
	req      txtar.File
	target   string
	captures []capture
}

type capture struct {
	name string
	path []string
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// parse checks the sections of a and returns its requests.
func parse(a *txtar.Archive) ([]step, error) {
	var steps []step
	answered := false // whether the last req already has its res
	for i, f := range a.Files {
		kind, rest, _ := strings.Cut(f.Name, " ")
		fields := strings.Fields(rest)
		switch kind {
		case "req":
			if len(fields) == 0 {
				return nil, fmt.Errorf("section %d %q: no target", i+1, f.Name)
			}
			s := step{req: f, target: fields[0]}
			for _, c := range fields[1:] {
				name, path, ok := strings.Cut(c, "=")
				if !ok || !identifier.MatchString(name) || path == "" || slices.Contains(strings.Split(path, "."), "") {
					return nil, fmt.Errorf("section %d %q: capture %q is not name=Dotted.Path", i+1, f.Name, c)
				}
				s.captures = append(s.captures, capture{name, strings.Split(path, ".")})
			}
			steps = append(steps, s)
			answered = false
		case "res":
			if len(steps) == 0 || answered {
				return nil, fmt.Errorf("section %d %q: a res must follow a req", i+1, f.Name)
			}
			if len(fields) != 1 {
				return nil, fmt.Errorf("section %d %q: want \"res STATUS\"", i+1, f.Name)
			}
			if _, err := strconv.Atoi(fields[0]); err != nil {
				return nil, fmt.Errorf("section %d %q: status is not a number", i+1, f.Name)
			}
			answered = true
		default:
			return nil, fmt.Errorf("section %d %q: want a req or res section", i+1, f.Name)
		}
	}
	return steps, nil
}

var reference = regexp.MustCompile(`\$(\$|[A-Za-z_][A-Za-z0-9_]*)`)

// substitute replaces $name with vars[name] and $$ with $.
func substitute(body []byte, vars map[string][]byte) ([]byte, error) {
	var undefined []string
	out := reference.ReplaceAllFunc(body, func(m []byte) []byte {
		name := string(m[1:])
		if name == "$" {
			return []byte("$")
		}
		v, ok := vars[name]
		if !ok {
			undefined = append(undefined, "$"+name)
			return m
		}
		return v
	})
	if undefined != nil {
		return nil, fmt.Errorf("undefined %s", strings.Join(undefined, ", "))
	}
	return out, nil
}

// lookup returns the substitution text for the value at path in the JSON
// document resp: the value's JSON text as resp spells it, without the
// quotes if it is a string.
func lookup(resp []byte, path []string) ([]byte, error) {
	v := json.RawMessage(resp)
	if !json.Valid(v) {
		return nil, errors.New("the response is not JSON")
	}
	for i, seg := range path {
		at := strings.Join(path[:i], ".")
		if at == "" {
			at = "the response"
		}
		var obj map[string]json.RawMessage
		var arr []json.RawMessage
		switch {
		case json.Unmarshal(v, &obj) == nil && obj != nil:
			m, ok := obj[seg]
			if !ok {
				return nil, fmt.Errorf("%s has no member %q", at, seg)
			}
			v = m
		case json.Unmarshal(v, &arr) == nil && arr != nil:
			n, err := strconv.Atoi(seg)
			if err != nil || n < 0 || n >= len(arr) {
				return nil, fmt.Errorf("%s is an array of %d elements, and %q is not an index", at, len(arr), seg)
			}
			v = arr[n]
		default:
			return nil, fmt.Errorf("%s is not an object or array", at)
		}
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, v); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	if b[0] == '"' {
		b = b[1 : len(b)-1] // the contents, still escaped
	}
	return b, nil
}
