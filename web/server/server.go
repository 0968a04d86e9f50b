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
// Calls reach the backend one at a time. After each call that moved the
// backend's [Backend.Generation], the server saves a snapshot with
// [SaveState], so a restart or a crash loses nothing that was answered.
// Data-plane calls (Encrypt, Decrypt, GenerateDataKey...) do not move the
// generation: what they change (metrics, the request quota, the random
// stream) is saved with the next control-plane change or by [Server.Flush]
// when the server stops, so a crash can lose only that.
package server

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"strconv"
	"sync"
	"time"
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
	// StatePath is the file that snapshots are saved to. Empty keeps the
	// sandbox in memory only.
	StatePath string
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
	backend   Backend
	statePath string
	logger    *log.Logger
	fallback  http.Handler
	now       func() time.Time

	mu       sync.Mutex // serialises backend calls and saves
	savedGen uint64     // the backend's Generation when its state was last saved
	unsaved  bool       // calls were made since the last save
}

// New returns a server over cfg.Backend. The backend's current state counts
// as saved: a host that loaded it from cfg.StatePath has nothing to write
// until it changes.
func New(cfg Config) *Server {
	s := &Server{
		backend:   cfg.Backend,
		statePath: cfg.StatePath,
		logger:    cfg.Logger,
		fallback:  cfg.Fallback,
		now:       cfg.Now,
		savedGen:  cfg.Backend.Generation(),
	}
	if s.logger == nil {
		s.logger = log.New(io.Discard, "", 0)
	}
	if s.fallback == nil {
		s.fallback = http.HandlerFunc(infoPage)
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// ServeHTTP answers POST / as an AWS JSON 1.1 API call, serves the
// sandbox's simulated XKS proxies on every path that contains /kms/xks/v,
// and hands every other request to the fallback handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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

// call runs one backend call under the lock and saves the state if it
// changed.
func (s *Server) call(target string, body []byte) (int, []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	status, resp := s.backend.Handle(s.now(), target, body)
	s.unsaved = true
	if err := s.saveLocked(false); err != nil {
		s.logger.Printf("state not saved: %v", err)
	}
	return status, resp
}

// Flush saves the state if any call was made since it was last saved,
// including the data-plane calls (Encrypt, Decrypt, ...) that do not move
// the generation but do record metrics. A server whose StatePath is empty
// has nothing to flush. Hosts call it when they stop; a failed save after a
// request is retried by the next one.
func (s *Server) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saveLocked(true)
}

// saveLocked saves a snapshot when the generation moved, or, with all,
// when any call was made since the last save.
func (s *Server) saveLocked(all bool) error {
	gen := s.backend.Generation()
	if s.statePath == "" || (gen == s.savedGen && !(all && s.unsaved)) {
		return nil
	}
	snap, err := s.backend.Snapshot()
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if err := SaveState(s.statePath, snap); err != nil {
		return err
	}
	s.savedGen, s.unsaved = gen, false
	return nil
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
