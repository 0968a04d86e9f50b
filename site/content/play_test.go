package content

import (
	"encoding/json"
	"testing"
	"time"

	"keystorelab/engine"
)

// sandbox plays the content's actions against the engine, the way the
// widgets and the console do in the browser.
type sandbox struct {
	t      *testing.T
	e      *engine.Engine
	values map[string]string
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func (s *sandbox) call(target string, body any) (int, map[string]any) {
	s.t.Helper()
	in, err := json.Marshal(body)
	if err != nil {
		s.t.Fatal(err)
	}
	status, out := s.e.Handle(t0, target, in)
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		s.t.Fatalf("%s: %s", target, out)
	}
	return status, m
}

func (s *sandbox) ok(target string, body any) map[string]any {
	s.t.Helper()
	status, m := s.call(target, body)
	if status != 200 {
		s.t.Fatalf("%s %v: %d %v", target, body, status, m)
	}
	return m
}

// play makes a step's call (Times times); must says whether it has to
// succeed.
func (s *sandbox) play(step Step, must bool) {
	s.t.Helper()
	a := step.Action
	for i := 0; i < max(a.Times, 1); i++ {
		body := a.Fill(s.values)
		if must {
			s.ok(a.Target, body)
		} else {
			s.call(a.Target, body)
		}
	}
}

func (s *sandbox) state() string {
	s.t.Helper()
	d := s.ok("TrentService.DescribeCustomKeyStores", map[string]any{"CustomKeyStoreId": s.values["$store"]})
	ks := d["CustomKeyStores"].([]any)[0].(map[string]any)
	st := ks["ConnectionState"].(string)
	if code, ok := ks["ConnectionErrorCode"].(string); ok {
		st += "/" + code
	}
	return st
}

// newSandbox builds what the widgets build: an ACTIVE cluster with HSMs in
// two Availability Zones, a third subnet without an HSM, kmsuser, and a
// key store that was connected once and is now DISCONNECTED.
func newSandbox(t *testing.T) *sandbox {
	s := &sandbox{t: t, e: engine.New(engine.Config{}, t0)}
	adv := func(sec int) { s.ok("Simulator.AdvanceClock", map[string]any{"Seconds": sec}) }
	c := s.ok("BaldrApiService.CreateCluster", map[string]any{"HsmType": "hsm2m.medium",
		"SubnetIds": []string{"subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002", "subnet-0a1b2c3d4e5f60003"}})
	id := c["Cluster"].(map[string]any)["ClusterId"].(string)
	adv(300)
	s.ok("BaldrApiService.CreateHsm", map[string]any{"ClusterId": id, "AvailabilityZone": "us-east-1a"})
	adv(600)
	signed := s.ok("Simulator.SignClusterCsr", map[string]any{"ClusterId": id})
	s.ok("BaldrApiService.InitializeCluster", map[string]any{"ClusterId": id, "SignedCert": signed["SignedCert"], "TrustAnchor": signed["TrustAnchor"]})
	adv(300)
	s.ok("Simulator.ActivateCluster", map[string]any{"ClusterId": id, "AdminPassword": "adminPassword1"})
	s.ok("BaldrApiService.CreateHsm", map[string]any{"ClusterId": id, "AvailabilityZone": "us-east-1b"})
	adv(600)
	s.ok("Simulator.CreateCryptoUser", map[string]any{"ClusterId": id, "Username": "kmsuser", "Password": "kmsPassword1"})
	ks := s.ok("TrentService.CreateCustomKeyStore", map[string]any{"CustomKeyStoreName": "ExampleKeyStore",
		"CloudHsmClusterId": id, "TrustAnchorCertificate": signed["TrustAnchor"], "KeyStorePassword": "kmsPassword1"})
	s.values = map[string]string{"$store": ks["CustomKeyStoreId"].(string), "$cluster": id,
		"$newPassword": "known12345", "$az": "us-east-1a", "$subnet": "subnet-0a1b2c3d4e5f60002"}
	s.play(Step{Action: Connect}, true)
	s.play(Step{Action: WaitConnect}, true)
	s.play(Step{Action: Disconnect}, true)
	s.play(Step{Action: WaitDisconnect}, true)
	if got := s.state(); got != "DISCONNECTED" {
		t.Fatalf("set-up ends %s", got)
	}
	return s
}

// TestPlayableCodes causes every playable code with its Reproduce steps and
// repairs it with its Steps, exactly as the error-code widget does.
func TestPlayableCodes(t *testing.T) {
	for _, e := range ErrorCodes {
		if !e.Playable() {
			continue
		}
		t.Run(e.Code, func(t *testing.T) {
			s := newSandbox(t)
			for _, st := range e.Reproduce {
				s.play(st, false)
			}
			s.play(Step{Action: Connect}, true)
			s.play(Step{Action: WaitConnect}, true)
			if got, want := s.state(), "FAILED/"+e.Code; got != want {
				t.Fatalf("after Reproduce and a connect: %s, want %s", got, want)
			}
			for _, st := range e.Steps {
				s.play(st, true)
			}
			if got := s.state(); got != "CONNECTED" {
				t.Fatalf("after the fix: %s", got)
			}
		})
	}
}

// TestKmsuserProcedurePlays follows KmsuserProcedure from a CONNECTED
// store back to CONNECTED.
func TestKmsuserProcedurePlays(t *testing.T) {
	s := newSandbox(t)
	s.play(Step{Action: Connect}, true)
	s.play(Step{Action: WaitConnect}, true)
	for _, st := range KmsuserProcedure {
		s.play(st, true)
	}
	if got := s.state(); got != "CONNECTED" {
		t.Fatalf("after the procedure: %s", got)
	}
}
