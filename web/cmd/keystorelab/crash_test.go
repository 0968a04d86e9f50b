//go:build unix

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"keystorelab/wasm/wasmbuild"
)

// TestKill9 runs the keystorelab command as a real process, makes calls
// from a loop, kills the process with SIGKILL while the loop is running,
// starts it again on the same state file, and checks, several times over
// and with each engine, that every acknowledged change is there and that
// no random bytes (GenerateRandom, data keys) were ever handed out twice.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the command")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "keystorelab")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	code, err := wasmbuild.Build()
	if err != nil {
		t.Fatal(err)
	}
	wasm := filepath.Join(dir, "engine.wasm")
	if err := os.WriteFile(wasm, code, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"native", "wasm"} {
		t.Run(kind, func(t *testing.T) {
			state := filepath.Join(t.TempDir(), "state.json")
			args := []string{"-addr", "127.0.0.1:0", "-state", state, "-engine", kind, "-wasm", wasm, "-site", filepath.Join(dir, "no-site")}
			var acked []string // key IDs CreateKey answered
			seen := map[string]bool{}
			for cycle := range 4 {
				p := startProcess(t, bin, dir, args...)
				// The first thing after a restart draws from the random
				// stream, as the Trust issue's repro does.
				status, body := p.call("TrentService.GenerateRandom", `{"NumberOfBytes":32}`)
				var first struct{ Plaintext string }
				if json.Unmarshal(body, &first); status != 200 || seen[first.Plaintext] {
					t.Fatalf("cycle %d: GenerateRandom right after the restart = %d %s, handed out before: %v", cycle, status, body, seen[first.Plaintext])
				}
				seen[first.Plaintext] = true
				for _, id := range acked {
					if status, body := p.call("TrentService.DescribeKey", `{"KeyId":"`+id+`"}`); status != 200 {
						t.Fatalf("cycle %d: acknowledged key %s is gone after kill -9: %d %s", cycle, id, status, body)
					}
				}
				// The loop runs until the kill cuts it off; then the calls
				// in flight are unacknowledged.
				var mu sync.Mutex
				done := make(chan struct{})
				go func() {
					defer close(done)
					for {
						status, body := p.call("TrentService.CreateKey", `{"Description":"cycle"}`)
						if status != 200 {
							return
						}
						var out struct{ KeyMetadata struct{ KeyId string } }
						json.Unmarshal(body, &out)
						mu.Lock()
						acked = append(acked, out.KeyMetadata.KeyId)
						mu.Unlock()
						for _, req := range []struct{ target, body, field string }{
							{"TrentService.GenerateRandom", `{"NumberOfBytes":32}`, "Plaintext"},
							{"TrentService.GenerateDataKey", `{"KeyId":"` + out.KeyMetadata.KeyId + `","NumberOfBytes":32}`, "Plaintext"},
						} {
							status, body := p.call(req.target, req.body)
							if status != 200 {
								return
							}
							var m map[string]any
							json.Unmarshal(body, &m)
							v, _ := m[req.field].(string)
							mu.Lock()
							dup := seen[v]
							seen[v] = true
							mu.Unlock()
							if dup {
								t.Errorf("cycle %d: %s handed out %s a second time", cycle, req.target, v)
							}
						}
					}
				}()
				// Kill after the loop has made some progress, at a point
				// that varies from cycle to cycle.
				for {
					mu.Lock()
					n := len(acked)
					mu.Unlock()
					if n >= (cycle+1)*7+cycle*3 {
						break
					}
					time.Sleep(time.Millisecond)
				}
				time.Sleep(time.Duration(cycle) * 3 * time.Millisecond)
				p.kill()
				<-done
			}
			p := startProcess(t, bin, dir, args...)
			for _, id := range acked {
				if status, body := p.call("TrentService.DescribeKey", `{"KeyId":"`+id+`"}`); status != 200 {
					t.Fatalf("acknowledged key %s is gone after the last kill -9: %d %s", id, status, body)
				}
			}
			t.Logf("%d keys acknowledged over 4 kills, %d random values, none repeated", len(acked), len(seen))
		})
	}
}

// process is one running keystorelab command, in a process group of its
// own so that a kill leaves nothing behind.
type process struct {
	cmd *exec.Cmd
	url string
}

func startProcess(t *testing.T, bin, dir string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+filepath.Join(dir, "cache"), "HOME="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd}
	t.Cleanup(p.kill)
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		if m := servingRE.FindStringSubmatch(lines.Text() + "\n"); m != nil {
			p.url = m[1]
			go io.Copy(io.Discard, stdout)
			return p
		}
	}
	p.kill()
	t.Fatalf("keystorelab did not start: %s", stderr.String())
	return nil
}

// kill sends SIGKILL to the process group and waits for the process.
func (p *process) kill() {
	if p.cmd.Process == nil || p.cmd.ProcessState != nil {
		return
	}
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	p.cmd.Wait()
}

var crashClient = &http.Client{Timeout: 2 * time.Minute}

func (p *process) call(target, body string) (int, []byte) {
	req, _ := http.NewRequest(http.MethodPost, p.url+"/", strings.NewReader(body))
	req.Header.Set("X-Amz-Target", target)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := crashClient.Do(req)
	if err != nil {
		return 0, []byte(fmt.Sprint(err))
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}
