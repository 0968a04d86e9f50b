// Package server serves one Keystore Lab sandbox over HTTP with the AWS JSON
// 1.1 protocol, so that the AWS CLI and the AWS SDKs talk to it unchanged
// through an endpoint URL such as http://127.0.0.1:8080.
//
// # Protocol
//
// An API call is POST / with the operation in the X-Amz-Target header
// (TrentService.ListKeys, BaldrApiService.DescribeClusters,
// Simulator.AdvanceClock) and a JSON body of at most [MaxBodyBytes]. The
// answer carries the backend's status and JSON body, Content-Type
// application/x-amz-json-1.1 and a fresh x-amzn-RequestId. Every other
// request goes to [Config.Fallback].
//
// # Authentication
//
// None. The server accepts any Authorization header (a SigV4 signature or
// nothing at all) without checking it, so dummy credentials such as
// AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test work. A sandbox holds
// kmsuser passwords in clear, so listen on loopback only.
//
// # Logging
//
// One line per request: the target (or the method and path when there is
// none), the status, the duration and, for an error, its __type. Bodies and
// headers are never logged: kmsuser passwords travel in bodies and
// credentials in headers.
//
// # Persistence
//
// Calls reach the backend one at a time. With a [Durable], every call that
// changed the sandbox is recorded in its journal before it is answered
// (see Durable for what is fsynced when), so a crash loses nothing that was
// acknowledged. A call that cannot be recorded is answered with a 500
// KMSInternalException and undone: the sandbox is rebuilt from what is on
// disk. Until that succeeds, every call is answered so.
//
// # Who may call
//
// The server answers only requests whose Host is a loopback address or
// localhost (and any host in [Config.AllowedHosts]), so that a web page on
// another origin cannot reach it by DNS rebinding; any other Host gets a
// 403 that says how to allow it.
package server

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"keystorelab/engine"
)

// Backend is a sandbox engine as the server drives it: the native engine
// (see [Native]) or the same engine compiled to WebAssembly. The server
// never calls a Backend from two goroutines at once.
type Backend interface {
	// Handle serves one call: target is the X-Amz-Target value, body the
	// JSON request, now the host's wall-clock time. It returns the HTTP
	// status and the JSON response, AWS errors included.
	Handle(now time.Time, target string, body []byte) (status int, resp []byte)
	// Generation changes whenever the state may have changed.
	Generation() uint64
	// Snapshot returns the whole state as the engine's versioned JSON.
	Snapshot() ([]byte, error)
}

// MaxBodyBytes is the largest request body the server accepts.
const MaxBodyBytes = 1 << 20

const contentType = "application/x-amz-json-1.1"

// Config sets up a [Server]. Only Backend is required.
type Config struct {
	// Backend serves the API calls.
	Backend Backend
	// Durable keeps the sandbox on disk; nil keeps it in memory only.
	Durable *Durable
	// CompactAlways saves a whole snapshot after every recorded call
	// instead of letting the journal grow: for sandboxes whose calls cannot
	// be replayed (an external key store reaching a real XKS proxy).
	CompactAlways bool
	// AllowedHosts are Host names (without a port) answered besides
	// loopback addresses and localhost; "*" allows any.
	AllowedHosts []string
	// Logger gets one line per request; nil discards them.
	Logger *log.Logger
	// Fallback serves every request that is not an API call (anything but
	// POST /). Nil serves a plain-text page on GET / and 404 elsewhere.
	Fallback http.Handler
	// Now is the wall clock passed to the backend on every call; nil means
	// time.Now.
	Now func() time.Time
}

// Server is an http.Handler for one sandbox. Its methods are safe for
// concurrent use.
type Server struct {
	logger   *log.Logger
	fallback http.Handler
	clock    func() time.Time
	hosts    map[string]bool

	mu      sync.Mutex // serialises backend calls and what they record
	backend Backend
	durable *Durable
	always  bool
	broken  error     // why the last change could not be recorded, until the sandbox is rebuilt
	last    time.Time // the latest host time passed to the backend
}

// New returns a server over cfg.Backend, recording its changes in
// cfg.Durable if there is one.
func New(cfg Config) *Server {
	s := &Server{
		backend:  cfg.Backend,
		durable:  cfg.Durable,
		always:   cfg.CompactAlways,
		logger:   cfg.Logger,
		fallback: cfg.Fallback,
		clock:    cfg.Now,
		hosts:    map[string]bool{},
	}
	for _, h := range cfg.AllowedHosts {
		s.hosts[strings.ToLower(h)] = true
	}
	if s.logger == nil {
		s.logger = log.New(io.Discard, "", 0)
	}
	if s.fallback == nil {
		s.fallback = http.HandlerFunc(infoPage)
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	return s
}

// allowedHost reports whether a request's Host may be answered.
func (s *Server) allowedHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") || s.hosts[host] || s.hosts["*"] {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ServeHTTP answers POST / as an AWS JSON 1.1 API call, serves the
// sandbox's simulated XKS proxies on every path that contains /kms/xks/v,
// and hands every other request to the fallback handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.allowedHost(r.Host) {
		msg := fmt.Sprintf("Host %q is not served: Keystore Lab answers loopback addresses and localhost only, so that pages on other sites cannot reach it. To serve another name, start it with -allow-host %s.", r.Host, r.Host)
		if r.Method == http.MethodPost {
			b, _ := json.Marshal(map[string]string{"__type": "AccessDeniedException", "message": msg})
			w.Header().Set("Content-Type", contentType)
			w.WriteHeader(http.StatusForbidden)
			w.Write(b)
		} else {
			http.Error(w, msg, http.StatusForbidden)
		}
		s.logf(r.Method+" "+r.URL.Path, http.StatusForbidden, 0, nil)
		return
	}
	if isXKSPath(r.URL.Path) {
		s.serveXKS(w, r)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		s.fallback.ServeHTTP(rec, r)
		s.logf(r.Method+" "+r.URL.Path, rec.status, time.Since(start), nil)
		return
	}
	start := time.Now()
	target := r.Header.Get("X-Amz-Target")
	label := target
	if label == "" {
		label = "POST /"
	}
	body, err := readBody(r)
	var status int
	var resp []byte
	switch {
	case err != nil:
		status, resp = err.status, err.body()
	case target == "":
		status, resp = errMissingTarget.status, errMissingTarget.body()
	default:
		status, resp = s.call(target, body)
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(resp)))
	h["x-amzn-RequestId"] = []string{requestID()} // AWS's spelling, not canonicalised
	w.WriteHeader(status)
	w.Write(resp)
	s.logf(label, status, time.Since(start), resp)
}

// Call makes one API call as if it had come over HTTP (serialised, saved
// and logged alike), for hosts that drive the sandbox themselves, such as a
// seed file being applied.
func (s *Server) Call(target string, body []byte) (status int, resp []byte) {
	start := time.Now()
	status, resp = s.call(target, body)
	s.logf(target, status, time.Since(start), resp)
	return status, resp
}

// call runs one backend call under the lock and records what it changed.
func (s *Server) call(target string, body []byte) (int, []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock()
	if now.Before(s.last) { // replayed journals must see time move forward
		now = s.last
	}
	s.last = now
	if s.durable == nil {
		return s.backend.Handle(now, target, body)
	}
	if s.broken != nil && !s.rebuild(now) {
		return unsaved(s.broken)
	}
	gen, rebuilds := s.backend.Generation(), rebuildsOf(s.backend)
	status, resp := s.backend.Handle(now, target, body)
	if rebuildsOf(s.backend) != rebuilds {
		// The engine module trapped and rebuilt itself from its own copy;
		// what is on disk is the truth.
		s.broken = fmt.Errorf("the engine module trapped while serving %s", target)
		s.rebuild(now)
		return status, resp
	}
	moved := s.backend.Generation() != gen
	if !moved && !engine.DataPlane(target) {
		return status, resp
	}
	if err := s.durable.Record(now, target, body, moved); err != nil {
		s.logger.Printf("state not saved: %v", err)
		s.broken = err
		s.rebuild(now)
		return unsaved(err)
	}
	if s.always || s.durable.Due() {
		if err := s.durable.Compact(s.backend, now); err != nil {
			s.logger.Printf("state not compacted: %v", err)
		}
	}
	return status, resp
}

// rebuild replaces the backend with the sandbox as it is on disk, undoing
// whatever was not recorded; it reports whether that worked.
func (s *Server) rebuild(now time.Time) bool {
	b, err := s.durable.Reload(now)
	if err != nil {
		s.logger.Printf("sandbox not rebuilt from disk: %v", err)
		return false
	}
	s.backend, s.broken = b, nil
	return true
}

// unsaved is the answer to a call whose change could not be recorded.
func unsaved(err error) (int, []byte) {
	b, _ := json.Marshal(map[string]string{"__type": "KMSInternalException",
		"message": "The request could not be completed because the sandbox could not be saved (" + err.Error() + "); it was not made. Free space or fix the state directory, then try again."})
	return http.StatusInternalServerError, b
}

// rebuildsOf is how many times b rebuilt itself after a trap, for backends
// that can (engine.wasm).
func rebuildsOf(b Backend) uint64 {
	if r, ok := b.(interface{ Rebuilds() uint64 }); ok {
		return r.Rebuilds()
	}
	return 0
}

// Flush makes every recorded call durable, including the data-plane calls
// that were written but not yet fsynced. A server without a Durable has
// nothing to flush. Hosts call it when they stop.
func (s *Server) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.durable == nil {
		return nil
	}
	return s.durable.Sync()
}

// logf writes the request's line. resp is read only for an error's __type.
func (s *Server) logf(label string, status int, d time.Duration, resp []byte) {
	line := fmt.Sprintf("%s %d %.1fms", label, status, float64(d.Microseconds())/1000)
	if status >= 400 && resp != nil {
		var e struct {
			Type string `json:"__type"`
		}
		if json.Unmarshal(resp, &e) == nil && e.Type != "" {
			line += " " + e.Type
		}
	}
	s.logger.Print(line)
}

// apiError is an error that the server answers itself, before the backend.
type apiError struct {
	status  int
	typ     string
	message string
}

func (e *apiError) body() []byte {
	b, _ := json.Marshal(map[string]string{"__type": e.typ, "message": e.message})
	return b
}

var errMissingTarget = &apiError{http.StatusBadRequest, "UnknownOperationException",
	"Missing X-Amz-Target header: the AWS JSON 1.1 protocol names the operation there, for example TrentService.ListKeys"}

// readBody reads at most MaxBodyBytes, answering 413 for anything longer.
func readBody(r *http.Request) ([]byte, *apiError) {
	tooLarge := func(size string) *apiError {
		return &apiError{http.StatusRequestEntityTooLarge, "RequestEntityTooLargeException",
			fmt.Sprintf("Request body of %s bytes exceeds the %d-byte limit", size, MaxBodyBytes)}
	}
	if r.ContentLength > MaxBodyBytes {
		return nil, tooLarge(fmt.Sprint(r.ContentLength))
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		return nil, &apiError{http.StatusBadRequest, "SerializationException", "The request body could not be read"}
	}
	if len(body) > MaxBodyBytes {
		// Only a body of unknown length gets here: say what was read.
		return nil, tooLarge(fmt.Sprintf("at least %d", len(body)))
	}
	return body, nil
}

// requestID returns a random UUID (version 4), the shape of AWS's
// x-amzn-RequestId.
func requestID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// statusRecorder remembers the status a fallback handler wrote, for the log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// infoPage is the default fallback: GET / says what this endpoint is.
func infoPage(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, infoText, r.Host)
}

const infoText = `This is the Keystore Lab API endpoint: a simulated AWS KMS with custom key
stores, backed by a software CloudHSM cluster.

Point the AWS CLI or an AWS SDK at it with an endpoint URL. Any credentials
work (requests are not authenticated), but the CLI insists on having some:

  export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
  aws kms describe-custom-key-stores --endpoint-url http://%[1]s
  aws cloudhsmv2 describe-clusters --endpoint-url http://%[1]s

API calls are POST / with an X-Amz-Target header (AWS JSON 1.1 protocol).
`
