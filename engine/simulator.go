package engine

import (
	"encoding/hex"
	"encoding/json"
	"math"
	"math/rand/v2"
	"time"

	"keystorelab/hsmsim/cloudhsm"
	"keystorelab/hsmsim/wire"
	"keystorelab/hsmsim/xks"
)

type advanceInput struct {
	Seconds *float64
}

// simAdvanceClock moves virtual time forward, settling everything that
// comes due on the way (a CONNECTING store becomes CONNECTED or FAILED).
func (e *Engine) simAdvanceClock(_ time.Time, body []byte) (any, error) {
	var in advanceInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.Seconds == nil || math.IsNaN(*in.Seconds) || *in.Seconds <= 0 || *in.Seconds > 366*24*3600 {
		return nil, exception("ValidationException", "Seconds must be a number greater than 0 and at most 31622400 (366 days).")
	}
	d := time.Duration(*in.Seconds * float64(time.Second)).Truncate(time.Millisecond)
	e.st.Clock.advance(d)
	e.now = e.st.Clock.Last
	e.settle(e.now)
	return e.clockView(), nil
}

type speedInput struct {
	Speed *float64
}

// simSetClockSpeed sets how many virtual seconds pass per host second; 0
// pauses the clock.
func (e *Engine) simSetClockSpeed(host time.Time, body []byte) (any, error) {
	var in speedInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.Speed == nil || math.IsNaN(*in.Speed) || *in.Speed < 0 || *in.Speed > 100000 {
		return nil, exception("ValidationException", "Speed must be a number from 0 (paused) to 100000.")
	}
	e.st.Clock.setSpeed(host, *in.Speed)
	return e.clockView(), nil
}

func (e *Engine) simDescribeClock(_ time.Time, body []byte) (any, error) {
	var in struct{}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	return e.clockView(), nil
}

func (e *Engine) clockView() any {
	return struct {
		Now   wire.Timestamp
		Speed float64
	}{wire.Timestamp(e.now), e.st.Clock.Speed}
}

type resetInput struct {
	Seed       *string
	Region     *string
	AccountId  *string
	ClockSpeed *float64
}

var regionPattern = wire.Pattern(`[a-z]{2}(-gov)?-(east|west|north|south|central|northeast|southeast)-\d`)

// simResetSandbox empties the sandbox. Seed (64 hex digits) makes its IDs
// reproducible; Region, AccountId and ClockSpeed set up the new sandbox.
func (e *Engine) simResetSandbox(host time.Time, body []byte) (any, error) {
	var in resetInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var v wire.Validator
	v.String("Seed", in.Seed, 64, 64, wire.Pattern(`[0-9a-fA-F]*`), false)
	v.String("Region", in.Region, 1, 32, regionPattern, false)
	v.String("AccountId", in.AccountId, 12, 12, accountIDPattern, false)
	if err := v.Err(); err != nil {
		return nil, err
	}
	cfg := Config{Region: e.st.Region, AccountID: e.st.AccountID, ClockSpeed: e.st.Clock.Speed}
	if in.Seed != nil {
		b, _ := hex.DecodeString(*in.Seed)
		copy(cfg.Seed[:], b)
	} else {
		_, _ = e.rng.Read(cfg.Seed[:])
	}
	if in.Region != nil {
		cfg.Region = *in.Region
	}
	if in.AccountId != nil {
		cfg.AccountID = *in.AccountId
	}
	if in.ClockSpeed != nil {
		if math.IsNaN(*in.ClockSpeed) || *in.ClockSpeed < 0 || *in.ClockSpeed > 100000 {
			return nil, exception("ValidationException", "ClockSpeed must be a number from 0 (paused) to 100000.")
		}
		cfg.ClockSpeed = *in.ClockSpeed
	}
	last := e.st.Clock.Last
	fresh := New(cfg, host)
	fresh.st.Clock = clock{HostAnchor: host, VirtAnchor: last, Speed: cfg.ClockSpeed, Last: last} // 0 keeps it paused
	e.replace(fresh)
	return struct{}{}, nil
}

// replace swaps in another engine's state, keeping the generation moving.
func (e *Engine) replace(o *Engine) {
	e.st, e.rng, e.hsm, e.xks = o.st, o.rng, o.hsm, o.xks
	e.keys, e.xksKeyIDs, e.metrics = o.keys, o.xksKeyIDs, o.metrics
	e.ops = e.operations()
	e.now = e.st.Clock.Last
}

func (e *Engine) simExportSnapshot(_ time.Time, body []byte) (any, error) {
	var in struct{}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	return json.RawMessage(`{"Snapshot":` + string(e.Snapshot()) + `}`), nil
}

func (e *Engine) simImportSnapshot(host time.Time, body []byte) (any, error) {
	var in struct{ Snapshot json.RawMessage }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if len(in.Snapshot) == 0 {
		return nil, exception("ValidationException", "Snapshot is required: pass the Snapshot object that Simulator.ExportSnapshot returned.")
	}
	o, err := Restore(in.Snapshot, host)
	if err != nil {
		return nil, exception("ValidationException", "The snapshot cannot be imported: %s", err.Error())
	}
	e.replace(o)
	return struct{}{}, nil
}

type faultInput struct {
	CustomKeyStoreId    *string
	ConnectionErrorCode *string
}

// simInjectConnectFault makes the next connect of a store fail with
// NETWORK_ERRORS or INTERNAL_ERROR, the two codes that stand for trouble on
// AWS's side rather than in the cluster.
func (e *Engine) simInjectConnectFault(_ time.Time, body []byte) (any, error) {
	var in faultInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var v wire.Validator
	v.Required("ConnectionErrorCode", in.ConnectionErrorCode != nil)
	v.Enum("ConnectionErrorCode", in.ConnectionErrorCode, string(ErrNetworkErrors), string(ErrInternalError))
	if err := v.Err(); err != nil {
		return nil, err
	}
	ks, err := e.lookup(in.CustomKeyStoreId)
	if err != nil {
		return nil, err
	}
	ks.Fault = ConnectionErrorCode(*in.ConnectionErrorCode)
	return struct{}{}, nil
}

// snapshotFormat names the snapshot layout; Restore refuses any other.
const snapshotFormat = "keystorelab-snapshot/1"

type snapshot struct {
	Format   string          `json:"format"`
	Engine   state           `json:"engine"`
	Rand     []byte          `json:"rand"`
	CloudHSM json.RawMessage `json:"cloudhsm"`
	XKS      json.RawMessage `json:"xks,omitempty"`
}

// Snapshot returns the whole sandbox as versioned JSON. It holds the
// sandbox's secrets (the kmsuser password KMS knows), as a database backup
// would.
func (e *Engine) Snapshot() []byte {
	r, _ := e.rng.MarshalBinary()
	hsm, _ := e.hsm.MarshalJSON()
	proxies, _ := e.xks.MarshalJSON()
	b, err := json.Marshal(snapshot{Format: snapshotFormat, Engine: e.st, Rand: r, CloudHSM: hsm, XKS: proxies})
	if err != nil {
		panic("engine: snapshot does not encode: " + err.Error())
	}
	return b
}

// Restore rebuilds a sandbox from a [Engine.Snapshot]. Its virtual clock
// carries on from where the snapshot left it, at the host time now.
func Restore(data []byte, now time.Time) (*Engine, error) {
	var s snapshot
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, err
	}
	if s.Format != snapshotFormat {
		return nil, &wire.Error{Type: "ValidationException", Message: "unknown snapshot format " + s.Format + "; want " + snapshotFormat}
	}
	e := &Engine{st: s.Engine, rng: rand.NewChaCha8([32]byte{})}
	if err := e.rng.UnmarshalBinary(s.Rand); err != nil {
		return nil, err
	}
	hsm, err := cloudhsm.Restore(s.CloudHSM, e.rng)
	if err != nil {
		return nil, err
	}
	e.hsm = hsm
	proxies, err := xks.RestoreProxies(s.XKS, e.rng)
	if err != nil {
		return nil, err
	}
	if proxies.Region == "" {
		proxies.Region, proxies.AccountID = e.st.Region, e.st.AccountID
	}
	e.xks = proxies
	if e.st.KeyStores == nil {
		e.st.KeyStores = []*keyStore{}
	}
	if e.st.Keys == nil {
		e.st.Keys = []*kmsKey{}
	}
	if e.st.Aliases == nil {
		e.st.Aliases = []*alias{}
	}
	if e.st.Metrics == nil {
		e.st.Metrics = newMetrics()
	}
	e.metrics = e.st.Metrics
	e.indexKeys()
	e.st.Clock.resume(now)
	e.now = e.st.Clock.Last
	e.ops = e.operations()
	return e, nil
}
