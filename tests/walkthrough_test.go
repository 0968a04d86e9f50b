package tests

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"keystorelab/engine"
	"keystorelab/web/server"
)

// startServer runs the local server over a fresh native sandbox on a
// loopback port until the test ends.
func startServer(t *testing.T) *httptest.Server {
	t.Helper()
	e := engine.New(engine.Config{ClockSpeed: 1}, time.Now())
	srv := httptest.NewServer(server.New(server.Config{Backend: server.Native(e)}))
	t.Cleanup(srv.Close)
	return srv
}

// requireTools skips the test when a tool is missing, unless make test
// (which installs them) asks for them to be there.
func requireTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("KEYSTORELAB_REQUIRE_TOOLS") != "" {
				t.Fatalf("%s is not installed (make deps installs it)", tool)
			}
			t.Skipf("%s is not installed; make test installs it", tool)
		}
	}
}

// logicalLines splits a shell block into commands: a line whose single
// quotes are not balanced goes on with the next (a quoted JSON document
// over several lines is one command).
func logicalLines(text string) []string {
	var out []string
	cur := ""
	for _, line := range strings.Split(text, "\n") {
		if cur != "" {
			cur += "\n" + line
		} else {
			cur = line
		}
		if strings.Count(cur, "'")%2 == 0 {
			out = append(out, cur)
			cur = ""
		}
	}
	if cur != "" {
		out = append(out, cur)
	}
	return out
}

// readmeBlocks returns the ```sh blocks of the README section with the
// given heading (up to the next level-2 heading).
func readmeBlocks(t *testing.T, readme, heading string) []string {
	t.Helper()
	start := strings.Index(readme, "\n"+heading)
	if start < 0 {
		t.Fatalf("README.md has no %q section", heading)
	}
	section := readme[start+1:]
	if end := strings.Index(section[len(heading):], "\n## "); end >= 0 {
		section = section[:len(heading)+end]
	}
	var blocks []string
	for _, m := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(section, -1) {
		blocks = append(blocks, m[1])
	}
	return blocks
}

// walkthroughScript turns the README's walk-through into a bash script.
// Every command must succeed, except those marked "# fails: Exception",
// which must fail with that exception; a command marked "# prints: text"
// must print that text (white space folded).
func walkthroughScript(t *testing.T, readme, addr string) string {
	t.Helper()
	blocks := readmeBlocks(t, readme, "## Walk-through")
	if len(blocks) < 5 {
		t.Fatalf("the walk-through has %d sh blocks", len(blocks))
	}
	return readmeScript(t, blocks, addr, 10)
}

// readmeScript turns README blocks into a bash script that checks each
// annotated command; it needs at least minChecks annotated commands.
func readmeScript(t *testing.T, blocks []string, addr string, minChecks int) string {
	t.Helper()
	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
	var script strings.Builder
	script.WriteString("set -euo pipefail\n")
	checks := 0
	for _, b := range blocks {
		text := strings.ReplaceAll(b, "\\\n", " ")
		text = strings.ReplaceAll(text, "127.0.0.1:8080", addr)
		for _, line := range logicalLines(text) {
			if strings.TrimSpace(line) == "" {
				continue
			}
			label := quote(line)
			fmt.Fprintf(&script, "echo %s\n", quote("$ "+line))
			if cmd, want, ok := strings.Cut(line, "   # prints: "); ok {
				checks++
				fmt.Fprintf(&script, "__out=$(%s) || { echo \"FAILED: \"%s >&2; exit 1; }\n", cmd, label)
				fmt.Fprintf(&script, "echo \"$__out\"; __got=$(echo $__out)\n")
				fmt.Fprintf(&script, "[ \"$__got\" = %s ] || { echo \"printed '$__got', the README says \"%s\": \"%s >&2; exit 1; }\n",
					quote(strings.Join(strings.Fields(want), " ")), quote(want), label)
				continue
			}
			if cmd, exc, ok := strings.Cut(line, "   # fails: "); ok {
				checks++
				fmt.Fprintf(&script, "if __out=$(%s 2>&1); then echo \"succeeded, the README says it fails: \"%s >&2; exit 1; fi\n", cmd, label)
				fmt.Fprintf(&script, "echo \"$__out\"; grep -q %s <<<\"$__out\" || { echo \"did not fail with \"%s\": \"%s >&2; exit 1; }\n",
					quote(strings.TrimSpace(exc)), quote(exc), label)
				continue
			}
			script.WriteString(line + "\n")
		}
	}
	if checks < minChecks {
		t.Fatalf("the README blocks have only %d checked commands", checks)
	}
	return script.String()
}

// TestREADMEWalkthrough runs the README's walk-through, command by command,
// with the AWS CLI against the local server on a loopback port.
func TestREADMEWalkthrough(t *testing.T) {
	requireTools(t, "aws", "curl", "openssl", "bash")
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	srv := startServer(t)
	runScript(t, walkthroughScript(t, string(readme), strings.TrimPrefix(srv.URL, "http://")))
}

// TestREADMEExternalKeyStores runs the README's external key store
// commands (the AWS CLI against a simulated proxy, then curl as an XKS
// client of that proxy) after the walk-through's set-up block.
func TestREADMEExternalKeyStores(t *testing.T) {
	requireTools(t, "aws", "curl", "bash")
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := append(readmeBlocks(t, string(readme), "## Walk-through")[:1], readmeBlocks(t, string(readme), "## External key stores")...)
	if len(blocks) < 3 {
		t.Fatalf("the external key store section has %d sh blocks", len(blocks)-1)
	}
	srv := startServer(t)
	out := runScript(t, readmeScript(t, blocks, strings.TrimPrefix(srv.URL, "http://"), 1))
	for _, want := range []string{`"ekmFleetDetails"`, `"keySpec":"AES_256"`, `"ciphertextDataIntegrityValue"`} {
		if !strings.Contains(out, want) {
			t.Errorf("the curl examples did not print %s:\n%s", want, out)
		}
	}
}

// runScript runs a bash script from README blocks in a scratch home with
// dummy AWS credentials, and returns what it printed.
func runScript(t *testing.T, script string) string {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command("bash", "-c", script)
	cmd.Dir = home
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_PROFILE=") && !strings.HasPrefix(kv, "AWS_DEFAULT_PROFILE=") && !strings.HasPrefix(kv, "AWS_ENDPOINT_URL") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "HOME="+home, "TMPDIR="+home, "AWS_PAGER=",
		"AWS_CONFIG_FILE="+filepath.Join(home, "none"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "none"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("the README commands failed: %v\n%s", err, out.String())
	}
	if testing.Verbose() {
		t.Log(out.String())
	}
	return out.String()
}

// TestREADMEKeys runs the README's KMS key commands after the walk-through's
// first three steps (a connected CloudHSM key store) and the external key
// store section's first block.
func TestREADMEKeys(t *testing.T) {
	requireTools(t, "aws", "curl", "openssl", "bash", "base64")
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	walk := readmeBlocks(t, string(readme), "## Walk-through")
	blocks := append(append(walk[:4:4], readmeBlocks(t, string(readme), "## External key stores")[0]),
		readmeBlocks(t, string(readme), "## KMS keys and the encryption path")...)
	srv := startServer(t)
	out := runScript(t, readmeScript(t, blocks, strings.TrimPrefix(srv.URL, "http://"), 20))
	for _, want := range []string{`"Layers"`, `"ExceptionName":"ThrottlingException"`, `"BackingKeysDeletionStatus":"SUCCESS"`} {
		if !strings.Contains(out, want) {
			t.Errorf("the key commands did not print %s:\n%s", want, out)
		}
	}
}
