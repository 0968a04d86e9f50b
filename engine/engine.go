// Package engine is Keystore Lab's KMS: custom key stores and their
// connection state machine, the CloudHSM v2 API subset a sandbox needs, and
// the simulator controls AWS has no API for.
//
// # One entry point
//
// Every host (the local server, engine.wasm, the browser and the Worker)
// calls [Engine.Handle] with the value of an X-Amz-Target header and a JSON
// body, and gets back an HTTP status and a JSON body exactly as AWS would
// send them. Three families of targets are served:
//
//   - TrentService.<Operation>: the AWS KMS API (JSON 1.1).
//   - BaldrApiService.<Operation>: the AWS CloudHSM v2 API subset.
//   - Simulator.<Operation>: the clock, faults, kmsuser actions done in the
//     CloudHSM CLI, the simulated XKS proxies, and snapshots.
//
// # Determinism
//
// The engine never reads the wall clock, never sleeps, never starts a
// goroutine and never reads crypto/rand. Each call carries the host's time;
// the engine turns it into virtual time (see [Config.ClockSpeed] and
// Simulator.AdvanceClock) and settles, in time order, every transition that
// has come due: a CONNECTING store knows when it will be CONNECTED or
// FAILED. Randomness (IDs, passwords, certificates, IVs, data keys) comes
// from a ChaCha8 stream seeded by [Config.Seed], so the same calls give the
// same bytes in every host.
//
// # Randomness across restarts
//
// A sandbox is either reproducible (its seed was chosen by the caller: the
// zero-seed sandbox of Config{}, or Simulator.ResetSandbox with a Seed) or
// host-seeded ([Config.HostSeeded], or ResetSandbox without a Seed). A
// host-seeded sandbox never writes its stream's state into a snapshot, and
// hosts call Simulator.Reseed with fresh entropy whenever they create or
// restore one (start-up, a trap, an import, a Worker waking up), so no
// crash or restart can make it hand out the same bytes twice. Reseed does
// nothing to a reproducible sandbox: replaying the same calls gives the
// same bytes, which is what golden scenarios ask for. Whatever the stream
// does, every AES-GCM IV is synthetic (see [wire.SyntheticIV]): a replayed
// stream never reuses an IV for a different plaintext.
package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"time"

	"keystorelab/hsmsim/cloudhsm"
	"keystorelab/hsmsim/wire"
	"keystorelab/hsmsim/xks"
)

// Config sets up a new sandbox.
type Config struct {
	// Region is the AWS Region the sandbox pretends to be (us-east-1 if empty).
	Region string
	// AccountID is the 12-digit account that owns everything (111122223333 if empty).
	AccountID string
	// Seed seeds every random choice the sandbox makes.
	Seed [32]byte
	// ClockSpeed is how many virtual seconds pass per second of host time
	// (1 if zero or negative). Hosts that want a 20-minute connect to finish
	// quickly pass something like 60.
	ClockSpeed float64
	// HostSeeded says Seed came from the host's entropy rather than from a
	// caller who wants reproducible bytes: snapshots then leave the random
	// stream out, and Simulator.Reseed replaces it.
	HostSeeded bool
}

// Engine is one sandbox: all of KMS's and the simulators' state. It is not
// safe for concurrent use; hosts serialise calls.
type Engine struct {
	st  state
	rng *rand.ChaCha8
	hsm clusterBackend
	xks xksBackend
	gen uint64
	now time.Time // virtual time of the call in progress
	// hostNow is the host's time of the call in progress.
	hostNow time.Time
	// external reaches proxies outside the sandbox; nil in engine.wasm.
	external XKSTransport
	ops      map[string]op
	// Indexes over st, rebuilt on restore.
	keys      map[string]*kmsKey
	xksKeyIDs map[xksKeyUse]string
	metrics   *metrics
}

// clusterBackend is what the engine needs of a CloudHSM: its API and
// simulator operations, what KMS can see of a cluster, what KMS does on
// connect and disconnect, its pending transitions, and its state for
// snapshots. hsmsim/cloudhsm provides it.
type clusterBackend interface {
	Invoke(now time.Time, op string, body []byte, decode func([]byte, any) error) (any, error)
	Cluster(id string) (cloudhsm.ClusterInfo, bool)
	CertificateOf(clusterID string) string
	ConnectKMS(now time.Time, clusterID, storeID, password string) (rotated string, err error)
	DisconnectKMS(now time.Time, clusterID, storeID string)
	NextDeadline() (time.Time, bool)
	Settle(now time.Time) bool
	MarshalJSON() ([]byte, error)
	Validate() error
	ReplacePassword(old, new string) bool

	GenerateKMSKey(now time.Time, clusterID, storeID, label string) (uint64, error)
	EncryptKMS(now time.Time, clusterID, storeID string, handle uint64, plaintext, aad []byte) (iv, sealed []byte, err error)
	DecryptKMS(now time.Time, clusterID, storeID string, handle uint64, iv, sealed, aad []byte) ([]byte, error)
	DeleteKMSKey(now time.Time, clusterID, storeID string, handle uint64) error
	GenerateRandomKMS(now time.Time, clusterID, storeID string, n int) ([]byte, error)
}

// state is everything that is saved in a snapshot besides the simulators.
type state struct {
	Region    string      `json:"region"`
	AccountID string      `json:"accountId"`
	Clock     clock       `json:"clock"`
	Seq       int64       `json:"seq"`
	KeyStores []*keyStore `json:"keyStores"`
	Keys      []*kmsKey   `json:"keys"`
	Aliases   []*alias    `json:"aliases"`
	// PendingDeletion lists the keys whose deletion is scheduled.
	PendingDeletion []string      `json:"pendingDeletion,omitempty"`
	Deletions       []keyDeletion `json:"deletions,omitempty"`
	Metrics         *metrics      `json:"metrics"`
	// HostSeeded: see [Config.HostSeeded].
	HostSeeded bool `json:"hostSeeded,omitempty"`
}

// New returns an empty sandbox whose virtual clock starts at now.
func New(cfg Config, now time.Time) *Engine {
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.AccountID == "" {
		cfg.AccountID = "111122223333"
	}
	if cfg.ClockSpeed <= 0 {
		cfg.ClockSpeed = 1
	}
	e := &Engine{rng: rand.NewChaCha8(cfg.Seed)}
	e.st = state{
		Region:    cfg.Region,
		AccountID: cfg.AccountID,
		Clock:     newClock(now, cfg.ClockSpeed),
		KeyStores: []*keyStore{},
		Keys:      []*kmsKey{},
		Aliases:   []*alias{},
		Metrics:   newMetrics(),

		HostSeeded: cfg.HostSeeded,
	}
	e.indexKeys()
	e.metrics = e.st.Metrics
	e.hsm = cloudhsm.New(cfg.Region, cfg.AccountID, e.rng)
	e.xks = xks.NewProxies(cfg.Region, cfg.AccountID, e.rng)
	e.ops = e.operations()
	return e
}

// Generation counts the calls that may have changed the sandbox. A host
// that persists state saves a snapshot whenever it moves.
func (e *Engine) Generation() uint64 { return e.gen }

// Handle serves one API call. target is the X-Amz-Target header value
// ("TrentService.CreateCustomKeyStore"), body the JSON request (empty means
// {}), now the host's current time. It returns the HTTP status and the JSON
// response body; errors come back as AWS sends them,
// {"__type":"...","message":"..."}. Handle never panics on any input: an
// internal failure is reported as a 500 KMSInternalException.
func (e *Engine) Handle(now time.Time, target string, body []byte) (status int, resp []byte) {
	defer func() {
		if r := recover(); r != nil {
			e.gen++ // state may be half-written; make the host save what is there
			status, resp = encodeError(&wire.Error{Type: "KMSInternalException", Status: 500,
				Message: "The request could not be completed because of an internal error."})
		}
	}()
	e.hostNow = now
	o, ok := e.ops[target]
	e.now = e.st.Clock.virtual(now)
	// An operation that replaces the whole sandbox does not settle the old
	// one first, so that nothing in the old state can stop it.
	if !replacing[target] && e.settle(e.now) {
		e.gen++
	}
	if !ok {
		return encodeError(unknownOperation(target))
	}
	if o.mutates {
		e.gen++
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	out, err := o.fn(now, body)
	if err != nil {
		return encodeError(err)
	}
	return encodeResult(out)
}

// op is one entry of the dispatch table.
type op struct {
	fn      func(host time.Time, body []byte) (any, error)
	mutates bool
}

// replacing are the operations that replace the whole sandbox: they work
// whatever the old state holds, so that no snapshot can leave a sandbox
// that ResetSandbox cannot reset.
var replacing = map[string]bool{"Simulator.ResetSandbox": true, "Simulator.ImportSnapshot": true}

// decode reads a JSON request body into v. Bodies that are not JSON, or
// whose members have the wrong JSON type, get SerializationException.
func decode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return &wire.Error{Type: "SerializationException", Status: 400,
				Message: "Value for member '" + te.Field + "' has the wrong type: expected " + te.Type.String()}
		}
		return &wire.Error{Type: "SerializationException", Status: 400,
			Message: "The request body is not valid JSON: " + err.Error()}
	}
	return nil
}

// jsonAppender is a result that writes its own JSON, byte for byte what
// encoding/json would.
type jsonAppender interface{ appendJSON([]byte) []byte }

func encodeResult(v any) (int, []byte) {
	if v == nil {
		return 200, []byte("{}")
	}
	if raw, ok := v.(json.RawMessage); ok {
		return 200, raw
	}
	if a, ok := v.(jsonAppender); ok {
		return 200, a.appendJSON(nil)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return encodeError(&wire.Error{Type: "KMSInternalException", Status: 500, Message: "failed to encode the response"})
	}
	return 200, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func encodeError(err error) (int, []byte) {
	var we *wire.Error
	if !errors.As(err, &we) {
		we = &wire.Error{Type: "KMSInternalException", Status: 500,
			Message: "The request could not be completed because of an internal error."}
	}
	status := we.Status
	if status == 0 {
		status = 400
	}
	field := "message"
	if we.CapitalMessage {
		field = "Message"
	}
	return status, []byte(`{"__type":` + quote(we.Type) + `,"` + field + `":` + quote(we.Message) + `}`)
}

// quote returns s as a JSON string, without the HTML escaping AWS does not do.
func quote(s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return string(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}
