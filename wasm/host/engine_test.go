package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// fakeInstance stands in for an engine.wasm instance. Its sandbox is a list
// of strings:
//
//	Fake.Append {"V":"x"}  appends x (moves the generation)
//	Fake.List              returns {"Values":[...]}
//	Fake.Trap              appends "half-done", then traps
//	Simulator.ExportSnapshot / ImportSnapshot, as the engine does them
type fakeInstance struct {
	f       *fakeFactory
	values  []string
	gen     uint64
	trapped bool
	closed  bool
}

func (i *fakeInstance) Call(now time.Time, target string, body []byte) (int, []byte, uint64, error) {
	if i.closed || i.trapped {
		return 0, nil, 0, fmt.Errorf("%w: instance unusable", ErrTrapped)
	}
	i.f.calls = append(i.f.calls, target)
	switch target {
	case "Fake.Append":
		var req struct{ V string }
		if err := json.Unmarshal(body, &req); err != nil {
			return 400, []byte(`{"__type":"SerializationException","message":"bad"}`), i.gen, nil
		}
		i.values = append(i.values, req.V)
		i.gen++
		return 200, fmt.Appendf(nil, `{"N":%d}`, len(i.values)), i.gen, nil
	case "Fake.List":
		b, _ := json.Marshal(struct{ Values []string }{i.values})
		return 200, b, i.gen, nil
	case "Fake.Trap":
		i.values = append(i.values, "half-done")
		i.gen++
		i.trapped = true
		return 0, nil, 0, fmt.Errorf("%w: wasm error: unreachable", ErrTrapped)
	case exportTarget:
		if i.f.trapOnExport {
			i.trapped = true
			return 0, nil, 0, fmt.Errorf("%w: export trapped", ErrTrapped)
		}
		if i.f.refuseExport {
			return 400, []byte(`{"__type":"UnsupportedOperationException","message":"no"}`), i.gen, nil
		}
		b, _ := json.Marshal(struct{ Snapshot any }{struct{ Values []string }{i.values}})
		return 200, b, i.gen, nil
	case importTarget:
		var req struct{ Snapshot struct{ Values []string } }
		if err := json.Unmarshal(body, &req); err != nil || req.Snapshot.Values == nil {
			return 400, []byte(`{"__type":"ValidationException","message":"bad snapshot"}`), i.gen, nil
		}
		i.values = req.Snapshot.Values
		i.gen++
		return 200, []byte("{}"), i.gen, nil
	}
	return 400, []byte(`{"__type":"UnknownOperationException"}`), i.gen, nil
}

func (i *fakeInstance) Close(context.Context) error {
	i.closed = true
	return nil
}

// fakeFactory makes fakeInstances and records what happened.
type fakeFactory struct {
	made         []*fakeInstance
	failNext     int // how many of the next creations fail
	trapOnExport bool
	refuseExport bool
	calls        []string // targets, across instances
}

func (f *fakeFactory) newInstance(context.Context) (instance, error) {
	if f.failNext > 0 {
		f.failNext--
		return nil, errors.New("out of memory (fake)")
	}
	i := &fakeInstance{f: f}
	f.made = append(f.made, i)
	return i, nil
}

func newFakeEngine(t *testing.T) (*Engine, *fakeFactory) {
	t.Helper()
	f := &fakeFactory{}
	e, err := newEngine(context.Background(), t0, f.newInstance)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(context.Background()) })
	return e, f
}

func mustHandle(t *testing.T, e *Engine, target, body string, wantStatus int) string {
	t.Helper()
	status, resp := e.Handle(t0, target, []byte(body))
	if status != wantStatus {
		t.Fatalf("%s %s: status %d, want %d; body %s", target, body, status, wantStatus, resp)
	}
	return string(resp)
}

func wantValues(t *testing.T, e *Engine, want ...string) {
	t.Helper()
	got := mustHandle(t, e, "Fake.List", "{}", 200)
	b, _ := json.Marshal(struct{ Values []string }{want})
	if got != string(b) {
		t.Fatalf("sandbox holds %s, want %s", got, b)
	}
}

func TestEngineRecoversFromTrap(t *testing.T) {
	e, f := newFakeEngine(t)
	mustHandle(t, e, "Fake.Append", `{"V":"a"}`, 200)
	mustHandle(t, e, "Fake.Append", `{"V":"b"}`, 200)
	before := e.Generation()

	status, resp := e.Handle(t0, "Fake.Trap", nil)
	if status != 500 {
		t.Fatalf("trapped call: status %d, want 500", status)
	}
	var exc struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(resp, &exc); err != nil || exc.Type != "KMSInternalException" ||
		!strings.Contains(exc.Message, "rebuilt from its last snapshot") || !strings.Contains(exc.Message, "Fake.Trap") {
		t.Fatalf("trapped call answered %s", resp)
	}
	if len(f.made) != 2 || !f.made[0].closed || f.made[1].closed {
		t.Fatalf("made %d instances (first closed: %v); want the trapped one closed and one new", len(f.made), f.made[0].closed)
	}
	if e.Generation() <= before {
		t.Errorf("Generation went from %d to %d across a rebuild; want it to move forward", before, e.Generation())
	}
	wantValues(t, e, "a", "b") // not "half-done"
	mustHandle(t, e, "Fake.Append", `{"V":"c"}`, 200)
	wantValues(t, e, "a", "b", "c")
}

func TestEngineTrapDuringSnapshot(t *testing.T) {
	e, f := newFakeEngine(t)
	mustHandle(t, e, "Fake.Append", `{"V":"a"}`, 200)
	f.trapOnExport = true
	// The append happens, but its snapshot cannot be taken: the call is
	// reported as failed, and the sandbox goes back to the last snapshot.
	mustHandle(t, e, "Fake.Append", `{"V":"b"}`, 500)
	f.trapOnExport = false
	wantValues(t, e, "a")
}

func TestEngineRebuildFails(t *testing.T) {
	e, f := newFakeEngine(t)
	mustHandle(t, e, "Fake.Append", `{"V":"a"}`, 200)

	f.failNext = 2
	if resp := mustHandle(t, e, "Fake.Trap", "{}", 500); !strings.Contains(resp, "could not be rebuilt") {
		t.Errorf("trap with failed rebuild answered %s", resp)
	}
	if resp := mustHandle(t, e, "Fake.List", "{}", 500); !strings.Contains(resp, "unavailable") {
		t.Errorf("call while the module is unavailable answered %s", resp)
	}
	if _, err := e.Snapshot(); err != nil {
		t.Errorf("Snapshot with no instance: %v; want the kept snapshot", err)
	}
	wantValues(t, e, "a") // the third creation succeeds
}

func TestEngineGeneration(t *testing.T) {
	e, _ := newFakeEngine(t)
	g0 := e.Generation()
	mustHandle(t, e, "Fake.List", "{}", 200)
	if g := e.Generation(); g != g0 {
		t.Errorf("a read moved Generation from %d to %d", g0, g)
	}
	mustHandle(t, e, "Fake.Append", `{"V":"a"}`, 200)
	if g := e.Generation(); g <= g0 {
		t.Errorf("a write left Generation at %d (was %d)", g, g0)
	}
}

func TestEngineSnapshotAfterEveryChange(t *testing.T) {
	e, f := newFakeEngine(t)
	f.calls = nil
	mustHandle(t, e, "Fake.List", "{}", 200)
	mustHandle(t, e, "Fake.Append", `{"V":"a"}`, 200)
	mustHandle(t, e, "Fake.List", "{}", 200)
	want := []string{"Fake.List", "Fake.Append", exportTarget, "Fake.List"}
	if !slices.Equal(f.calls, want) {
		t.Errorf("calls = %v, want %v", f.calls, want)
	}
	snap, err := e.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if string(snap) != `{"Values":["a"]}` {
		t.Errorf("Snapshot = %s", snap)
	}
	// A call was made since the copy was taken (Fake.List), and a call
	// that does not move the generation may still change the sandbox (a
	// data-plane call): the first Snapshot exports afresh, the next one
	// does not.
	if f.calls[len(f.calls)-1] != exportTarget {
		t.Errorf("Snapshot did not export after a call: %v", f.calls)
	}
	n := len(f.calls)
	if _, err := e.Snapshot(); err != nil || len(f.calls) != n {
		t.Errorf("Snapshot called the module although its copy was current: %v (%v)", f.calls, err)
	}
	snap[2] = 'X' // callers own what they get
	if again, _ := e.Snapshot(); string(again) != `{"Values":["a"]}` {
		t.Errorf("Snapshot after the caller modified a copy = %s", again)
	}
}

func TestEngineRestore(t *testing.T) {
	e, _ := newFakeEngine(t)
	mustHandle(t, e, "Fake.Append", `{"V":"a"}`, 200)
	if err := e.Restore([]byte(`{"Values":["x","y"]}`), t0); err != nil {
		t.Fatal(err)
	}
	wantValues(t, e, "x", "y")
	if snap, err := e.Snapshot(); err != nil || string(snap) != `{"Values":["x","y"]}` {
		t.Errorf("Snapshot after Restore = %s, %v", snap, err)
	}
	if err := e.Restore([]byte(`{"Values":`), t0); err == nil {
		t.Error("Restore of invalid JSON succeeded")
	}
	if err := e.Restore([]byte(`{"Other":1}`), t0); err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("Restore of a snapshot the engine refuses: %v", err)
	}
	wantValues(t, e, "x", "y")
}

func TestEngineExportRefused(t *testing.T) {
	f := &fakeFactory{refuseExport: true}
	if _, err := newEngine(context.Background(), t0, f.newInstance); err == nil {
		t.Fatal("newEngine succeeded without a first snapshot")
	}
	if len(f.made) != 1 || !f.made[0].closed {
		t.Error("newEngine did not close its instance after failing")
	}

	e, f := newFakeEngine(t)
	f.refuseExport = true
	mustHandle(t, e, "Fake.Append", `{"V":"a"}`, 200) // the call itself stands
	if _, err := e.Snapshot(); err == nil || !strings.Contains(err.Error(), "UnsupportedOperationException") {
		t.Errorf("Snapshot while export is refused: %v", err)
	}
	f.refuseExport = false
	if snap, err := e.Snapshot(); err != nil || string(snap) != `{"Values":["a"]}` {
		t.Errorf("Snapshot once export works again = %s, %v", snap, err)
	}
}

func TestInternalError(t *testing.T) {
	status, body := internalError(`quote " and <tag>`)
	if status != 500 || string(body) != `{"__type":"KMSInternalException","message":"quote \" and <tag>"}` {
		t.Errorf("internalError = %d %s", status, body)
	}
}
