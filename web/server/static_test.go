package server

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// siteFixture writes a small built site, and a secret file next to it that
// no request may reach.
func siteFixture(t *testing.T) string {
	t.Helper()
	parent := t.TempDir()
	dir := filepath.Join(parent, "dist")
	files := map[string]string{
		"index.html":         "<!doctype html><title>home</title>",
		"stores.html":        "<!doctype html><title>stores</title>",
		"docs/index.html":    "<!doctype html><title>docs</title>",
		"docs/errors.html":   "<!doctype html><title>errors</title>",
		"static/console.js":  "export const x = 1;",
		"static/engine.mjs":  "export const y = 2;",
		"static/style.css":   "body{}",
		"static/data.json":   `{"a":1}`,
		"static/logo.svg":    "<svg xmlns='http://www.w3.org/2000/svg'/>",
		"engine.wasm":        "\x00asm\x01\x00\x00\x00 uncompressed",
		".hidden":            "hidden",
		"emptydir/readme.md": "no index here",
	}
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write([]byte(files["engine.wasm"]))
	zw.Close()
	if err := os.WriteFile(filepath.Join(dir, "engine.wasm.gz"), gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(parent, "secret.txt"), []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(parent, "secret.txt"), filepath.Join(dir, "link.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(parent, filepath.Join(dir, "up")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func serveStatic(h http.Handler, method, target string, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "http://example.test/", nil)
	req.URL.Path = target // as given, uncleaned, the way a raw request line can carry it
	req.RequestURI = target
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestStaticPages(t *testing.T) {
	h := Static(siteFixture(t))
	for _, tc := range []struct {
		path, body, ctype string
	}{
		{"/", "<title>home</title>", "text/html; charset=utf-8"},
		{"/index.html", "<title>home</title>", "text/html; charset=utf-8"},
		{"/stores", "<title>stores</title>", "text/html; charset=utf-8"},
		{"/stores.html", "<title>stores</title>", "text/html; charset=utf-8"},
		{"/docs/", "<title>docs</title>", "text/html; charset=utf-8"},
		{"/docs/errors", "<title>errors</title>", "text/html; charset=utf-8"},
		{"/static/console.js", "export const x", "text/javascript; charset=utf-8"},
		{"/static/engine.mjs", "export const y", "text/javascript; charset=utf-8"},
		{"/static/style.css", "body{}", "text/css; charset=utf-8"},
		{"/static/data.json", `{"a":1}`, "application/json"},
		{"/static/logo.svg", "<svg", "image/svg+xml"},
	} {
		rec := serveStatic(h, http.MethodGet, tc.path, nil)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), tc.body) {
			t.Errorf("GET %s = %d %q, want 200 with %q", tc.path, rec.Code, rec.Body, tc.body)
			continue
		}
		if got := rec.Header().Get("Content-Type"); got != tc.ctype {
			t.Errorf("GET %s: Content-Type %q, want %q", tc.path, got, tc.ctype)
		}
		if got := rec.Header().Get("Cache-Control"); got != "no-cache" {
			t.Errorf("GET %s: Cache-Control %q, want no-cache", tc.path, got)
		}
		if got := rec.Header().Get("Content-Encoding"); got != "" {
			t.Errorf("GET %s: Content-Encoding %q for a file without a .gz sibling", tc.path, got)
		}
	}
}

func TestStaticGzip(t *testing.T) {
	dir := siteFixture(t)
	h := Static(dir)
	raw, _ := os.ReadFile(filepath.Join(dir, "engine.wasm"))
	gz, _ := os.ReadFile(filepath.Join(dir, "engine.wasm.gz"))
	for _, tc := range []struct {
		accept string
		gzip   bool
	}{
		{"", false},
		{"gzip, deflate, br, zstd", true}, // Chromium's
		{"br;q=1.0, gzip;q=0.8, *;q=0.1", true},
		{"GZIP", true},
		{"x-gzip", true},
		{"*", true},
		{"gzip;q=0", false},
		{"gzip;q=0, *", false},
		{"*;q=0", false},
		{"br, identity", false},
		{"deflate", false},
	} {
		rec := serveStatic(h, http.MethodGet, "/engine.wasm", map[string]string{"Accept-Encoding": tc.accept})
		if rec.Code != http.StatusOK {
			t.Fatalf("Accept-Encoding %q: status %d", tc.accept, rec.Code)
		}
		hd := rec.Header()
		if got := hd.Get("Content-Type"); got != "application/wasm" {
			t.Errorf("Accept-Encoding %q: Content-Type %q, want application/wasm", tc.accept, got)
		}
		if got := hd.Get("Vary"); got != "Accept-Encoding" {
			t.Errorf("Accept-Encoding %q: Vary %q, want Accept-Encoding", tc.accept, got)
		}
		if got := hd.Get("Cache-Control"); got != "no-cache" {
			t.Errorf("Accept-Encoding %q: Cache-Control %q, want no-cache", tc.accept, got)
		}
		want, enc := raw, ""
		if tc.gzip {
			want, enc = gz, "gzip"
		}
		if got := hd.Get("Content-Encoding"); got != enc {
			t.Errorf("Accept-Encoding %q: Content-Encoding %q, want %q", tc.accept, got, enc)
		}
		if !bytes.Equal(rec.Body.Bytes(), want) {
			t.Errorf("Accept-Encoding %q: body is not the %q file", tc.accept, enc)
		}
		if got := hd.Get("Content-Length"); got != strconv.Itoa(len(want)) {
			t.Errorf("Accept-Encoding %q: Content-Length %s, want %d", tc.accept, got, len(want))
		}
	}

	// The .gz itself, asked for by name, is just a gzip file.
	rec := serveStatic(h, http.MethodGet, "/engine.wasm.gz", map[string]string{"Accept-Encoding": "gzip"})
	if rec.Code != 200 || rec.Header().Get("Content-Encoding") != "" || rec.Header().Get("Content-Type") != "application/gzip" {
		t.Errorf("GET /engine.wasm.gz = %d %v", rec.Code, rec.Header())
	}

	// Over a real connection, Go's client asks for gzip itself and decodes.
	ts := httptest.NewServer(h)
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/engine.wasm")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !resp.Uncompressed || !bytes.Equal(body, raw) {
		t.Errorf("real client: uncompressed=%v body=%q", resp.Uncompressed, body)
	}
}

func TestStaticHead(t *testing.T) {
	h := Static(siteFixture(t))
	rec := serveStatic(h, http.MethodHead, "/engine.wasm", map[string]string{"Accept-Encoding": "gzip"})
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 || rec.Header().Get("Content-Encoding") != "gzip" ||
		rec.Header().Get("Content-Type") != "application/wasm" {
		t.Errorf("HEAD /engine.wasm = %d, %d body bytes, %v", rec.Code, rec.Body.Len(), rec.Header())
	}
	if rec := serveStatic(h, http.MethodHead, "/", nil); rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Errorf("HEAD / = %d with %d body bytes", rec.Code, rec.Body.Len())
	}
}

func TestStaticMethods(t *testing.T) {
	h := Static(siteFixture(t))
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions} {
		rec := serveStatic(h, m, "/index.html", nil)
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("%s /index.html = %d, Allow %q; want 405, GET, HEAD", m, rec.Code, rec.Header().Get("Allow"))
		}
	}
}

func TestStaticRedirectsDirectories(t *testing.T) {
	h := Static(siteFixture(t))
	for path, want := range map[string]string{"/docs": "/docs/", "/docs?x=1": "/docs/?x=1"} {
		req := httptest.NewRequest(http.MethodGet, "http://example.test"+path, nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusMovedPermanently || rec.Header().Get("Location") != want {
			t.Errorf("GET %s = %d Location %q, want 301 %q", path, rec.Code, rec.Header().Get("Location"), want)
		}
	}
}

func TestStaticNotFound(t *testing.T) {
	h := Static(siteFixture(t))
	for _, p := range []string{
		"/nope", "/nope.html", "/docs/nope", "/stores/", "/index.html/",
		"/emptydir/",                   // no index.html, and no listing
		"/.hidden", "/docs/../.hidden", // dot names
		"/../secret.txt", "/docs/../../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt",
		"/link.txt", "/up/secret.txt", "/up/dist/index.html", // symbolic links out of the site
		"//secret.txt", "/static//console.js", "/static\\..\\..\\secret.txt", "/a\x00b",
	} {
		rec := serveStatic(h, http.MethodGet, p, nil)
		if rec.Code != http.StatusNotFound {
			t.Errorf("GET %q = %d %q, want 404", p, rec.Code, rec.Body)
			continue
		}
		if strings.Contains(rec.Body.String(), "secret") || rec.Header().Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Errorf("GET %q: 404 is not plain: %v %q", p, rec.Header(), rec.Body)
		}
	}
	// A real client and server, with the request line unchanged.
	ts := httptest.NewServer(h)
	defer ts.Close()
	for _, p := range []string{"/../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E%2Fsecret.txt", "/up/secret.txt"} {
		resp, err := http.Get(ts.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), "secret") || resp.StatusCode == http.StatusOK {
			t.Errorf("GET %s over HTTP = %d %q", p, resp.StatusCode, body)
		}
	}
}

func TestStaticMissingDir(t *testing.T) {
	h := Static(filepath.Join(t.TempDir(), "missing"))
	if rec := serveStatic(h, http.MethodGet, "/", nil); rec.Code != http.StatusInternalServerError {
		t.Errorf("GET / over a missing site = %d, want 500", rec.Code)
	}
}

// TestStaticAsFallback checks the pieces together: API calls still reach
// the backend and everything else reaches the site.
func TestStaticAsFallback(t *testing.T) {
	srv := New(Config{Backend: &fakeBackend{}, Fallback: Static(siteFixture(t))})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "<title>home</title>") {
		t.Errorf("GET / = %d %q", resp.StatusCode, body)
	}
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/", strings.NewReader(`{}`))
	req.Header.Set("X-Amz-Target", "TrentService.ListKeys")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != contentType {
		t.Errorf("POST / = %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// TestStaticGzipRange asks for a range of the compressed module: it is a
// range of the gzip bytes, as HTTP defines it for an encoded body.
func TestStaticGzipRange(t *testing.T) {
	dir := siteFixture(t)
	gz, _ := os.ReadFile(filepath.Join(dir, "engine.wasm.gz"))
	rec := serveStatic(Static(dir), http.MethodGet, "/engine.wasm", map[string]string{"Accept-Encoding": "gzip", "Range": "bytes=0-9"})
	if rec.Code != http.StatusPartialContent || rec.Header().Get("Content-Encoding") != "gzip" || !bytes.Equal(rec.Body.Bytes(), gz[:10]) {
		t.Errorf("GET /engine.wasm, bytes 0-9 = %d %v %x", rec.Code, rec.Header(), rec.Body.Bytes())
	}
}

// TestStaticZstd: a .zst sibling is preferred by clients that accept zstd
// (Chromium does, even on plain http to loopback); others get gzip or the
// file itself.
func TestStaticZstd(t *testing.T) {
	dir := siteFixture(t)
	zst := []byte("(\xb5/\xfd pretend zstd frame")
	if err := os.WriteFile(filepath.Join(dir, "engine.wasm.zst"), zst, 0o644); err != nil {
		t.Fatal(err)
	}
	h := Static(dir)
	for _, tc := range []struct{ accept, encoding string }{
		{"gzip, deflate, br, zstd", "zstd"},
		{"zstd;q=0, gzip", "gzip"},
		{"gzip", "gzip"},
		{"identity", ""},
	} {
		rec := serveStatic(h, http.MethodGet, "/engine.wasm", map[string]string{"Accept-Encoding": tc.accept})
		if rec.Code != 200 || rec.Header().Get("Content-Encoding") != tc.encoding || rec.Header().Get("Content-Type") != "application/wasm" ||
			rec.Header().Get("Vary") != "Accept-Encoding" {
			t.Errorf("Accept-Encoding %q: %d %v", tc.accept, rec.Code, rec.Header())
		}
		if tc.encoding == "zstd" && !bytes.Equal(rec.Body.Bytes(), zst) {
			t.Errorf("Accept-Encoding %q: body is not the .zst file", tc.accept)
		}
	}
}
