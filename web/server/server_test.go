package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeBackend answers every call with 200 and a body naming the target,
// except targets starting with "Fail", which get a 400 ValidationException.
// Targets starting with "Mutate" move the generation. It fails the test if
// it is ever entered twice at once.
type fakeBackend struct {
	t      *testing.T
	inside atomic.Bool

	mu        sync.Mutex
	gen       uint64
	calls     []string
	bodies    [][]byte
	snapshots int
}

func (f *fakeBackend) Handle(now time.Time, target string, body []byte) (int, []byte) {
	if !f.inside.CompareAndSwap(false, true) {
		f.t.Error("backend entered twice at once")
	}
	defer f.inside.Store(false)
	time.Sleep(100 * time.Microsecond) // widen the window for overlapping calls
	f.mu.Lock()
	defer f.mu.Unlock()
	if now.IsZero() {
		f.t.Error("Handle got a zero time")
	}
	f.calls = append(f.calls, target)
	f.bodies = append(f.bodies, body)
	if strings.HasPrefix(target, "Mutate") {
		f.gen++
	}
	if strings.HasPrefix(target, "Fail") {
		return 400, []byte(`{"__type":"ValidationException","message":"no"}`)
	}
	return 200, []byte(fmt.Sprintf(`{"Target":%q}`, target))
}

func (f *fakeBackend) Generation() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gen
}

func (f *fakeBackend) Snapshot() ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.snapshots++
	return []byte(fmt.Sprintf(`{"generation":%d}`, f.gen)), nil
}

// syncBuffer is a log destination that tests read while servers write.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// start serves a new Server on a loopback port for the test's duration.
func start(t *testing.T, cfg Config) (*httptest.Server, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	if cfg.Logger == nil {
		cfg.Logger = log.New(logs, "", 0)
	}
	ts := httptest.NewServer(New(cfg))
	t.Cleanup(ts.Close)
	return ts, logs
}

func post(t *testing.T, url, target string, body io.Reader, contentLength int64) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/", body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = contentLength
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/kms/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=0123456789abcdef")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, data
}

func postJSON(t *testing.T, url, target, body string) (*http.Response, []byte) {
	t.Helper()
	return post(t, url, target, strings.NewReader(body), int64(len(body)))
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestAPICall(t *testing.T) {
	fb := &fakeBackend{t: t}
	ts, _ := start(t, Config{Backend: fb})

	resp, body := postJSON(t, ts.URL, "TrentService.DescribeCustomKeyStores", `{"Limit":5}`)
	if resp.StatusCode != 200 {
		t.Errorf("status = %d, want 200", resp.StatusCode)
	}
	if got := resp.Header.Get("Content-Type"); got != "application/x-amz-json-1.1" {
		t.Errorf("Content-Type = %q", got)
	}
	id := resp.Header.Get("X-Amzn-Requestid")
	if !uuidRE.MatchString(id) {
		t.Errorf("x-amzn-RequestId = %q, want a random UUID", id)
	}
	if want := `{"Target":"TrentService.DescribeCustomKeyStores"}`; string(body) != want {
		t.Errorf("body = %s, want %s", body, want)
	}
	if len(fb.calls) != 1 || fb.calls[0] != "TrentService.DescribeCustomKeyStores" || string(fb.bodies[0]) != `{"Limit":5}` {
		t.Errorf("backend got %q %q", fb.calls, fb.bodies)
	}

	// The header goes out with AWS's spelling.
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{}`))
	req.Host = "127.0.0.1:8080"
	req.Header.Set("X-Amz-Target", "TrentService.ListKeys")
	ts.Config.Handler.ServeHTTP(rec, req)
	if got := rec.Header()["x-amzn-RequestId"]; len(got) != 1 || !uuidRE.MatchString(got[0]) {
		t.Errorf("headers = %v, want x-amzn-RequestId", rec.Header())
	}
	if got := rec.Header().Get("Content-Length"); got != fmt.Sprint(rec.Body.Len()) {
		t.Errorf("Content-Length = %s, body has %d bytes", got, rec.Body.Len())
	}

	resp2, _ := postJSON(t, ts.URL, "TrentService.ListKeys", ``)
	if id2 := resp2.Header.Get("X-Amzn-Requestid"); id2 == id {
		t.Errorf("two requests got the same request ID %s", id)
	}
}

func TestErrorPassesThrough(t *testing.T) {
	ts, logs := start(t, Config{Backend: &fakeBackend{t: t}})
	resp, body := postJSON(t, ts.URL, "FailSomething", `{}`)
	if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != "application/x-amz-json-1.1" {
		t.Errorf("got %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if want := `{"__type":"ValidationException","message":"no"}`; string(body) != want {
		t.Errorf("body = %s, want %s", body, want)
	}
	if !regexp.MustCompile(`(?m)^FailSomething 400 \d+\.\dms ValidationException$`).MatchString(logs.String()) {
		t.Errorf("log = %q, want the target, status, duration and error type", logs.String())
	}
}

func TestMissingTarget(t *testing.T) {
	fb := &fakeBackend{t: t}
	ts, _ := start(t, Config{Backend: fb})
	resp, body := postJSON(t, ts.URL, "", `{}`)
	if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != "application/x-amz-json-1.1" {
		t.Errorf("got %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var msg string
	if typ := decodeError(t, body, &msg); typ != "UnknownOperationException" || !strings.Contains(msg, "X-Amz-Target") {
		t.Errorf("body = %s", body)
	}
	if len(fb.calls) != 0 {
		t.Errorf("backend was called: %q", fb.calls)
	}
}

// decodeError returns an AWS error body's __type and stores its message.
func decodeError(t *testing.T, body []byte, message *string) string {
	t.Helper()
	var e map[string]string
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	*message = e["message"]
	return e["__type"]
}

func TestBodyLimit(t *testing.T) {
	fb := &fakeBackend{t: t}
	ts, logs := start(t, Config{Backend: fb})
	tests := []struct {
		name          string
		size          int
		contentLength int64 // -1: unknown (chunked)
		wantStatus    int
		wantMessage   string
	}{
		{"at the limit", MaxBodyBytes, MaxBodyBytes, 200, ""},
		{"at the limit, chunked", MaxBodyBytes, -1, 200, ""},
		{"one byte over", MaxBodyBytes + 1, MaxBodyBytes + 1, 413,
			"Request body of 1048577 bytes exceeds the 1048576-byte limit"},
		{"far over", 3 << 20, 3 << 20, 413,
			"Request body of 3145728 bytes exceeds the 1048576-byte limit"},
		{"over, chunked", 2 << 20, -1, 413,
			"Request body of at least 1048577 bytes exceeds the 1048576-byte limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(fb.calls)
			body := bytes.Repeat([]byte{' '}, tt.size)
			// A reader without Len, so that the client sends the length
			// only when told.
			resp, data := post(t, ts.URL, "TrentService.ListKeys", io.MultiReader(bytes.NewReader(body)), tt.contentLength)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if tt.wantStatus == 200 {
				if len(fb.calls) != before+1 || len(fb.bodies[before]) != tt.size {
					t.Errorf("backend did not get the whole body")
				}
				return
			}
			var msg string
			if typ := decodeError(t, data, &msg); typ != "RequestEntityTooLargeException" || msg != tt.wantMessage {
				t.Errorf("error = %s, %q; want RequestEntityTooLargeException, %q", typ, msg, tt.wantMessage)
			}
			if resp.Header.Get("Content-Type") != "application/x-amz-json-1.1" {
				t.Errorf("Content-Type = %q", resp.Header.Get("Content-Type"))
			}
			if len(fb.calls) != before {
				t.Errorf("backend was called")
			}
		})
	}
	if !strings.Contains(logs.String(), "TrentService.ListKeys 413 ") {
		t.Errorf("log has no 413 line: %q", logs.String())
	}
}

func TestLogHasNoBodiesOrHeaders(t *testing.T) {
	ts, logs := start(t, Config{Backend: &fakeBackend{t: t}})
	const secret = "kmsPassword-Sup3rSecret"
	postJSON(t, ts.URL, "TrentService.CreateCustomKeyStore", `{"CustomKeyStoreName":"x","KeyStorePassword":"`+secret+`"}`)
	postJSON(t, ts.URL, "FailCreate", `{"KeyStorePassword":"`+secret+`"}`)
	postJSON(t, ts.URL, "", `{"KeyStorePassword":"`+secret+`"}`)

	out := logs.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	want := []string{
		`^TrentService\.CreateCustomKeyStore 200 \d+\.\dms$`,
		`^FailCreate 400 \d+\.\dms ValidationException$`,
		`^POST / 400 \d+\.\dms UnknownOperationException$`,
	}
	if len(lines) != len(want) {
		t.Fatalf("log has %d lines, want %d:\n%s", len(lines), len(want), out)
	}
	for i, re := range want {
		if !regexp.MustCompile(re).MatchString(lines[i]) {
			t.Errorf("log line %d = %q, want it to match %s", i, lines[i], re)
		}
	}
	for _, leak := range []string{secret, "KeyStorePassword", "Signature", "AWS4-HMAC", "Credential"} {
		if strings.Contains(out, leak) {
			t.Errorf("log contains %q:\n%s", leak, out)
		}
	}
}

func TestNonAPIRequests(t *testing.T) {
	ts, logs := start(t, Config{Backend: &fakeBackend{t: t}})

	resp, err := http.Get(ts.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Errorf("GET / = %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{"Keystore Lab API endpoint", "--endpoint-url http://" + strings.TrimPrefix(ts.URL, "http://"), "AWS_ACCESS_KEY_ID"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("GET / page lacks %q:\n%s", want, page)
		}
	}

	resp, err = http.Get(ts.URL + "/nothing")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("GET /nothing = %d, want 404", resp.StatusCode)
	}
	if !strings.Contains(logs.String(), "GET / 200 ") || !strings.Contains(logs.String(), "GET /nothing 404 ") {
		t.Errorf("log = %q", logs.String())
	}
}

func TestFallbackReplacesPage(t *testing.T) {
	fb := &fakeBackend{t: t}
	site := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "site "+r.Method+" "+r.URL.Path) })
	ts, _ := start(t, Config{Backend: fb, Fallback: site})
	for _, tc := range []struct{ method, path, want string }{
		{"GET", "/", "site GET /"},
		{"GET", "/console/", "site GET /console/"},
		{"POST", "/other", "site POST /other"},
	} {
		req, _ := http.NewRequest(tc.method, ts.URL+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(got) != tc.want {
			t.Errorf("%s %s = %q, want %q", tc.method, tc.path, got, tc.want)
		}
	}
	if len(fb.calls) != 0 {
		t.Errorf("backend was called: %q", fb.calls)
	}
}

func TestCallsAreSerialised(t *testing.T) {
	fb := &fakeBackend{t: t}
	ts, _ := start(t, Config{Backend: fb})
	srv := ts.Config.Handler.(*Server)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				if i%2 == 0 {
					postJSON(t, ts.URL, "MutateSomething", `{}`)
				} else {
					srv.Call("MutateDirectly", nil)
				}
			}
		}()
	}
	wg.Wait()
	if len(fb.calls) != 40 {
		t.Errorf("backend got %d calls, want 40", len(fb.calls))
	}
}

func assertState(t *testing.T, path, want string) {
	t.Helper()
	got, err := LoadState(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("state file = %s, want %s", got, want)
	}
}

// TestHostCheck: only loopback and localhost Hosts are answered, unless the
// server is told of another name; others get a 403 saying how.
func TestHostCheck(t *testing.T) {
	fb := &fakeBackend{t: t}
	ts, _ := start(t, Config{Backend: fb, AllowedHosts: []string{"lab.example"}})
	for host, want := range map[string]int{
		"127.0.0.1:8080": 200, "localhost:8080": 200, "[::1]:8080": 200, "LOCALHOST": 200, "app.localhost": 200,
		"lab.example:9000": 200, "evil.example": 403, "evil.example:8080": 403, "127.0.0.1.evil.example": 403, "10.0.0.1:8080": 403,
	} {
		req, _ := http.NewRequest(http.MethodPost, ts.URL+"/", strings.NewReader("{}"))
		req.Host = host
		req.Header.Set("X-Amz-Target", "TrentService.ListKeys")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Host %s: %d %s, want %d", host, resp.StatusCode, body, want)
		}
		if want == 403 && (!strings.Contains(string(body), "AccessDeniedException") || !strings.Contains(string(body), "-allow-host")) {
			t.Errorf("Host %s: the 403 does not say what to do: %s", host, body)
		}
	}
	if len(fb.calls) != 6 {
		t.Errorf("backend got %d calls, want 6 (the allowed hosts only)", len(fb.calls))
	}
}
