package server

import (
	"mime"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
)

// Static serves the built site in dir (make site writes it to dist/) as a
// [Config.Fallback]:
//
//   - GET and HEAD only; any other method is answered 405.
//   - / and every directory serve their index.html; a directory asked for
//     without its trailing slash is redirected to it, so that relative
//     links resolve. /foo serves foo.html when it exists.
//   - A file with a precompressed sibling (engine.wasm and engine.wasm.zst
//     or engine.wasm.gz) is sent as the .zst with Content-Encoding: zstd to
//     clients that accept zstd, else as the .gz with Content-Encoding: gzip
//     to clients that accept gzip, with Vary: Accept-Encoding either way.
//   - Content-Type comes from the file name (.wasm is application/wasm, as
//     WebAssembly.compileStreaming requires), and every answer carries
//     Cache-Control: no-cache, so a rebuilt site is picked up at once.
//   - Paths are resolved inside dir through [os.Root]: no request reaches
//     a file outside it, through ".." or through a symbolic link. Names
//     starting with a dot are never served.
//   - Anything else is a plain-text 404.
//
// dir is opened on every request, so a site rebuilt while the server runs
// is served as it is now.
func Static(dir string) http.Handler {
	return &static{dir: dir}
}

type static struct {
	dir string
}

func (s *static) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	urlPath := r.URL.Path
	if !strings.HasPrefix(urlPath, "/") {
		urlPath = "/" + urlPath
	}
	name, ok := fileName(urlPath)
	if !ok {
		http.NotFound(w, r)
		return
	}
	root, err := os.OpenRoot(s.dir)
	if err != nil {
		http.Error(w, "the site directory cannot be opened", http.StatusInternalServerError)
		return
	}
	defer root.Close()

	dirWanted := strings.HasSuffix(urlPath, "/")
	switch {
	case dirWanted:
		if !isDir(root, name) {
			http.NotFound(w, r)
			return
		}
		name = path.Join(name, "index.html")
	case isFile(root, name+".html"):
		name += ".html"
	case isDir(root, name):
		// /docs -> /docs/, keeping the query.
		target := "/" + name + "/" // from the checked name: never "//host"
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		w.Header().Set("Cache-Control", "no-cache")
		http.Redirect(w, r, target, http.StatusMovedPermanently)
		return
	}
	s.serveFile(w, r, root, name)
}

// serveFile sends the regular file name from root, or its .zst or .gz sibling.
func (s *static) serveFile(w http.ResponseWriter, r *http.Request, root *os.Root, name string) {
	if !isFile(root, name) {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", contentTypeOf(name))
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	send := name
	if !strings.HasSuffix(name, ".gz") && !strings.HasSuffix(name, ".zst") {
		accepted := r.Header.Values("Accept-Encoding")
		vary := false
		// The smallest first: zstd -19 beats gzip -9 by a fifth on engine.wasm.
		for _, enc := range []struct{ ext, coding string }{{".zst", "zstd"}, {".gz", "gzip"}} {
			if !isFile(root, name+enc.ext) {
				continue
			}
			vary = true
			if send == name && accepts(accepted, enc.coding) {
				send = name + enc.ext
				h.Set("Content-Encoding", enc.coding)
			}
		}
		if vary {
			h.Add("Vary", "Accept-Encoding")
		}
	}
	f, err := root.Open(send)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	if send != name && r.Header.Get("Range") == "" {
		// http.ServeContent leaves out Content-Length for an encoded body;
		// a whole one has a known length (a range of it is sent chunked).
		h.Set("Content-Length", strconv.FormatInt(info.Size(), 10))
	}
	http.ServeContent(w, r, name, info.ModTime(), f)
}

// fileName turns a URL path into a slash-separated name relative to the
// site root ("." for the root itself). It refuses paths with "..", empty
// or dot-named segments, backslashes or NUL bytes rather than cleaning
// them into something else.
func fileName(urlPath string) (string, bool) {
	trimmed := strings.Trim(urlPath, "/")
	if trimmed == "" {
		return ".", true
	}
	if strings.ContainsAny(trimmed, "\\\x00") {
		return "", false
	}
	for _, seg := range strings.Split(trimmed, "/") {
		if seg == "" || strings.HasPrefix(seg, ".") {
			return "", false
		}
	}
	return trimmed, true
}

func isFile(root *os.Root, name string) bool {
	info, err := root.Stat(name)
	return err == nil && info.Mode().IsRegular()
}

func isDir(root *os.Root, name string) bool {
	info, err := root.Stat(name)
	return err == nil && info.IsDir()
}

// contentTypes are the types the site's files must have whatever the
// machine's mime tables say.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".mjs":  "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".json": "application/json",
	".svg":  "image/svg+xml",
	".wasm": "application/wasm",
	".gz":   "application/gzip",
	".txt":  "text/plain; charset=utf-8",
	".png":  "image/png",
	".ico":  "image/x-icon",
}

func contentTypeOf(name string) string {
	ext := strings.ToLower(path.Ext(name))
	if t, ok := contentTypes[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}

// accepts reports whether an Accept-Encoding header allows a content
// coding: the coding (for gzip also x-gzip) or * listed with a non-zero
// quality, and the coding not refused with q=0.
func accepts(values []string, want string) bool {
	codingQ, starQ := -1.0, -1.0
	for _, v := range values {
		for _, item := range strings.Split(v, ",") {
			coding, params, _ := strings.Cut(item, ";")
			coding = strings.ToLower(strings.TrimSpace(coding))
			q := 1.0
			for _, p := range strings.Split(params, ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
				if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
					if f, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
						q = f
					} else {
						q = 0
					}
				}
			}
			switch {
			case coding == want, want == "gzip" && coding == "x-gzip":
				codingQ = max(codingQ, q)
			case coding == "*":
				starQ = max(starQ, q)
			}
		}
	}
	if codingQ >= 0 {
		return codingQ > 0
	}
	return starQ > 0
}
