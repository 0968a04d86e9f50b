package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"time"

	"keystorelab/hsmsim/wire"
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
		// No seed asked for: the host reseeds the new sandbox with its own
		// entropy (Simulator.Reseed) right after.
		_, _ = e.rng.Read(cfg.Seed[:])
		cfg.HostSeeded = true
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
	var in struct{ OmitSecrets bool }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	snap := e.Snapshot()
	if in.OmitSecrets {
		snap = e.withoutSecrets(snap)
	}
	return json.RawMessage(`{"Snapshot":` + string(snap) + `}`), nil
}

// simImportSnapshot replaces the sandbox with a snapshot, after checking
// it (see [Restore]); a snapshot that fails the checks is refused with a
// ValidationException and the sandbox is left as it was. A host-seeded
// snapshot carries no random stream: the imported sandbox's stream is drawn
// from this one's, and hosts reseed it.
func (e *Engine) simImportSnapshot(host time.Time, body []byte) (any, error) {
	var in struct{ Snapshot json.RawMessage }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if len(in.Snapshot) == 0 || string(in.Snapshot) == "null" {
		return nil, exception("ValidationException", "Snapshot is required: pass the Snapshot object that Simulator.ExportSnapshot returned.")
	}
	// The seed is drawn from this stream's state without moving it, so a
	// refused snapshot changes nothing.
	state, _ := e.rng.MarshalBinary()
	o, err := restore(in.Snapshot, host, sha256.Sum256(append(state, in.Snapshot...)))
	if err != nil {
		return nil, exception("ValidationException", "The snapshot cannot be imported: %s", err.Error())
	}
	e.replace(o)
	return struct{}{}, nil
}

type reseedInput struct {
	Entropy []byte
}

// simReseed replaces a host-seeded sandbox's random stream with one seeded
// from Entropy (32 bytes of the host's own randomness). Hosts call it
// whenever they create or restore a sandbox, so that nothing the stream
// gave out before a crash is given out again. A reproducible sandbox
// (created with a Seed) keeps its stream: replaying the same calls gives
// the same bytes, as its maker asked.
func (e *Engine) simReseed(_ time.Time, body []byte) (any, error) {
	var in reseedInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if len(in.Entropy) != 32 {
		return nil, exception("ValidationException", "Entropy must be 32 bytes, base64-encoded; it has %d.", len(in.Entropy))
	}
	if e.st.HostSeeded {
		e.rng.Seed([32]byte(in.Entropy))
	}
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
