package host

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Targets of the simulator operations the Engine uses itself.
const (
	exportTarget = "Simulator.ExportSnapshot"
	importTarget = "Simulator.ImportSnapshot"
)

// instance is what an Engine needs of an [Instance]; tests substitute fakes.
type instance interface {
	Call(now time.Time, target string, body []byte) (status int, resp []byte, gen uint64, err error)
	Close(ctx context.Context) error
}

// Engine is one sandbox running in engine.wasm, with the shape of the
// native engine.Engine, and it survives traps.
//
// After every call that moved the module's generation it exports a
// snapshot (Simulator.ExportSnapshot) and keeps it. When the module traps,
// the Engine closes that instance, builds a new one, imports the last
// snapshot into it (Simulator.ImportSnapshot) and answers the trapped call
// with a 500 KMSInternalException: only the trapped call's own effects can
// be lost.
//
// An Engine is safe for concurrent use; calls are serialised.
type Engine struct {
	mu          sync.Mutex
	newInstance func(context.Context) (instance, error)
	inst        instance // nil when the last rebuild failed

	gen     uint64    // this Engine's generation; only ever grows
	instGen uint64    // the instance's own generation at its last call
	snap    []byte    // the last snapshot: the inner JSON object
	snapGen uint64    // gen when snap was taken
	snapErr error     // why the last attempt to export failed, if it did
	dirty   bool      // calls were made since snap was taken (data-plane calls do not move gen)
	last    time.Time // host time of the latest call

	rebuilds uint64 // how many times a trap made the Engine rebuild its instance
	lazy     bool   // no snapshot after every change (see KeepSnapshots)
}

// KeepSnapshots sets whether the Engine exports a snapshot after every call
// that moved the generation (the default), so that a trap loses only the
// trapped call. A host that keeps its own journal turns it off: exporting
// costs time in proportion to the sandbox, and after a trap (see
// [Engine.Rebuilds]) such a host rebuilds from its journal anyway.
func (e *Engine) KeepSnapshots(keep bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.lazy = !keep
}

// Rebuilds counts the times the Engine threw away a trapped instance and
// rebuilt the sandbox from its last snapshot, losing what was not in it. A
// host that keeps its own durable copy (a journal) rebuilds from that
// instead when this moves.
func (e *Engine) Rebuilds() uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.rebuilds
}

// NewEngine starts a sandbox in a new instance of m, created at host time
// now as engine.New(engine.Config{}, now) would create it, and takes its
// first snapshot. Close the Engine when done.
func NewEngine(ctx context.Context, m *Module, now time.Time) (*Engine, error) {
	return newEngine(ctx, now, func(ctx context.Context) (instance, error) {
		i, err := m.NewInstance(ctx)
		if err != nil {
			return nil, err // not a typed nil in a non-nil interface
		}
		return i, nil
	})
}

func newEngine(ctx context.Context, now time.Time, newInstance func(context.Context) (instance, error)) (*Engine, error) {
	inst, err := newInstance(ctx)
	if err != nil {
		return nil, err
	}
	e := &Engine{newInstance: newInstance, inst: inst, last: now}
	if err := e.refresh(now); err != nil {
		inst.Close(ctx)
		return nil, err
	}
	if e.snapErr != nil {
		inst.Close(ctx)
		return nil, e.snapErr
	}
	return e, nil
}

// Handle serves one API call, like engine.Engine.Handle: target is an
// X-Amz-Target value, body the JSON request, now the host's time (it
// crosses into the module in whole milliseconds). It never fails: a trap
// is answered with a 500 KMSInternalException after the sandbox has been
// rebuilt from the last snapshot.
func (e *Engine) Handle(now time.Time, target string, body []byte) (status int, resp []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	status, resp, err := e.call(now, target, body)
	if err != nil {
		return internalError(err.Error())
	}
	return status, resp
}

// Generation counts the calls that may have changed the sandbox, like
// engine.Engine.Generation. It also moves when the sandbox is rebuilt
// after a trap, and it never goes backwards.
func (e *Engine) Generation() uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.gen
}

// Snapshot returns the sandbox's state as engine.Engine.Snapshot does (the
// object inside Simulator.ExportSnapshot's response), as it is now: the
// copy kept after the last change when no call was made since, a fresh
// export otherwise (data-plane calls change the sandbox without moving the
// generation). It fails only when the module cannot export one.
func (e *Engine) Snapshot() ([]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.snapGen != e.gen || e.snapErr != nil || e.dirty {
		if err := e.ensureInstance(e.last); err != nil {
			return nil, err
		}
		if err := e.refresh(e.last); err != nil {
			return nil, e.recoverFrom(e.last, exportTarget, err)
		}
		if e.snapErr != nil {
			return nil, e.snapErr
		}
	}
	return slices.Clone(e.snap), nil
}

// Restore replaces the whole sandbox with snapshot (Simulator.ImportSnapshot
// at host time now). On error the sandbox is unchanged, unless the module
// trapped, in which case it has been rebuilt from the last snapshot.
func (e *Engine) Restore(snapshot []byte, now time.Time) error {
	body, err := importBody(snapshot)
	if err != nil {
		return fmt.Errorf("host: restore: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	status, resp, err := e.call(now, importTarget, body)
	if err != nil {
		return fmt.Errorf("host: restore: %w", err)
	}
	if status != 200 {
		return fmt.Errorf("host: restore: %s answered %d: %s", importTarget, status, resp)
	}
	return nil
}

// Close releases the current instance. The Engine must not be used after.
func (e *Engine) Close(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.inst == nil {
		return nil
	}
	err := e.inst.Close(ctx)
	e.inst = nil
	e.newInstance = func(context.Context) (instance, error) { return nil, errors.New("host: engine closed") }
	return err
}

// call makes one call and then brings the kept snapshot up to date. A
// non-nil error means the module trapped; the sandbox has been rebuilt (or
// the rebuild failed, which the error says) and the call's effects are lost.
func (e *Engine) call(now time.Time, target string, body []byte) (int, []byte, error) {
	e.last = now
	if err := e.ensureInstance(now); err != nil {
		return 0, nil, err
	}
	status, resp, gen, err := e.inst.Call(now, target, body)
	if err != nil {
		return 0, nil, e.recoverFrom(now, target, err)
	}
	e.dirty = true
	e.observe(gen)
	if e.snapGen != e.gen && !e.lazy {
		if err := e.refresh(now); err != nil {
			return 0, nil, e.recoverFrom(now, target, err)
		}
	}
	return status, resp, nil
}

// observe folds the instance's generation into the Engine's.
func (e *Engine) observe(instGen uint64) {
	switch {
	case instGen > e.instGen:
		e.gen += instGen - e.instGen
	case instGen < e.instGen:
		e.gen++ // cannot happen within one instance; count it as a change
	}
	e.instGen = instGen
}

// refresh exports a snapshot and keeps it. It returns an error only for a
// trap; an export the engine refuses is recorded in snapErr, and the
// previous snapshot is kept.
func (e *Engine) refresh(now time.Time) error {
	status, resp, gen, err := e.inst.Call(now, exportTarget, []byte("{}"))
	if err != nil {
		return err
	}
	e.observe(gen)
	var out struct{ Snapshot json.RawMessage }
	switch {
	case status != 200:
		e.snapErr = fmt.Errorf("host: %s answered %d: %s", exportTarget, status, resp)
	case json.Unmarshal(resp, &out) != nil || len(out.Snapshot) == 0 || bytes.Equal(out.Snapshot, []byte("null")):
		e.snapErr = fmt.Errorf("host: %s answered without a Snapshot: %.200s", exportTarget, resp)
	default:
		e.snap, e.snapGen, e.snapErr, e.dirty = out.Snapshot, e.gen, nil, false
	}
	return nil
}

// ensureInstance rebuilds the instance if an earlier rebuild failed.
func (e *Engine) ensureInstance(now time.Time) error {
	if e.inst != nil {
		return nil
	}
	if err := e.rebuild(now); err != nil {
		return fmt.Errorf("the engine module is unavailable: %w", err)
	}
	return nil
}

// recoverFrom handles a trap during a call to target: it rebuilds the
// sandbox and returns the error that explains what happened.
func (e *Engine) recoverFrom(now time.Time, target string, trap error) error {
	if err := e.rebuild(now); err != nil {
		return fmt.Errorf("the engine module trapped while serving %s (%v) and could not be rebuilt: %v", target, trap, err)
	}
	return fmt.Errorf("the engine module trapped while serving %s and was rebuilt from its last snapshot; the call did not take effect: %v", target, trap)
}

// rebuild throws the current instance away and makes a new one holding the
// last snapshot.
func (e *Engine) rebuild(now time.Time) error {
	ctx := context.Background()
	if e.inst != nil {
		e.inst.Close(ctx) // a trapped instance may fail to close; it is gone either way
		e.inst = nil
	}
	inst, err := e.newInstance(ctx)
	if err != nil {
		return err
	}
	body, err := importBody(e.snap)
	if err != nil {
		inst.Close(ctx)
		return err
	}
	status, resp, gen, err := inst.Call(now, importTarget, body)
	if err == nil && status != 200 {
		err = fmt.Errorf("%s answered %d: %s", importTarget, status, resp)
	}
	if err != nil {
		inst.Close(ctx)
		return fmt.Errorf("restoring the last snapshot: %w", err)
	}
	e.inst, e.instGen = inst, gen
	e.gen++ // the sandbox went back to the snapshot
	e.rebuilds++
	e.snapGen = e.gen
	return nil
}

// importBody is the Simulator.ImportSnapshot request for snapshot.
func importBody(snapshot []byte) ([]byte, error) {
	if !json.Valid(snapshot) {
		return nil, errors.New("snapshot is not valid JSON")
	}
	body := make([]byte, 0, len(snapshot)+14)
	body = append(body, `{"Snapshot":`...)
	body = append(body, snapshot...)
	return append(body, '}'), nil
}

// internalError is the response for a call the Engine could not serve,
// encoded as the engine encodes its errors.
func internalError(msg string) (int, []byte) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{"KMSInternalException", msg}); err != nil {
		panic(err) // two strings always encode
	}
	return 500, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}
