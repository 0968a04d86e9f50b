package engine

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// t0 is the host time every test call carries; virtual time moves only
// through Simulator.AdvanceClock.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// sandbox drives an engine the way a client would, through Handle.
type sandbox struct {
	t testing.TB
	e *Engine
}

func newSandbox(t testing.TB) *sandbox {
	t.Helper()
	return &sandbox{t: t, e: New(Config{}, t0)}
}

// call sends a request (a JSON string, or a value to marshal) and returns
// the status and the decoded response.
func (s *sandbox) call(target string, req any) (int, map[string]any) {
	s.t.Helper()
	var body []byte
	switch r := req.(type) {
	case string:
		body = []byte(r)
	default:
		var err error
		if body, err = json.Marshal(r); err != nil {
			s.t.Fatal(err)
		}
	}
	status, out := s.e.Handle(t0, target, body)
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		s.t.Fatalf("%s: response is not a JSON object: %s", target, out)
	}
	return status, m
}

// ok calls and requires a 200.
func (s *sandbox) ok(target string, req any) map[string]any {
	s.t.Helper()
	status, m := s.call(target, req)
	if status != 200 {
		s.t.Fatalf("%s: status %d: %v", target, status, m)
	}
	return m
}

// fails calls and requires the given exception; it returns the message.
func (s *sandbox) fails(target string, req any, exception string) string {
	s.t.Helper()
	status, m := s.call(target, req)
	if status == 200 || m["__type"] != exception {
		s.t.Fatalf("%s: got %d %v, want %s", target, status, m, exception)
	}
	msg, _ := m["message"].(string)
	if msg == "" {
		msg, _ = m["Message"].(string)
	}
	return msg
}

func (s *sandbox) advance(d time.Duration) {
	s.t.Helper()
	s.ok("Simulator.AdvanceClock", map[string]any{"Seconds": d.Seconds()})
}

// cluster builds an ACTIVE cluster with subnets and HSMs in the given AZ
// letters (all subnets get an HSM unless hsms says otherwise) and a kmsuser
// whose password is kmsPassword1. It returns the cluster ID and the trust
// anchor.
func (s *sandbox) cluster(subnets []string, hsmAZs ...string) (string, string) {
	s.t.Helper()
	c := s.ok("BaldrApiService.CreateCluster", map[string]any{"HsmType": "hsm2m.medium", "SubnetIds": subnets})
	id := c["Cluster"].(map[string]any)["ClusterId"].(string)
	s.advance(5 * time.Minute)
	s.ok("BaldrApiService.CreateHsm", map[string]any{"ClusterId": id, "AvailabilityZone": hsmAZs[0]})
	s.advance(10 * time.Minute)
	signed := s.ok("Simulator.SignClusterCsr", map[string]any{"ClusterId": id})
	s.ok("BaldrApiService.InitializeCluster", map[string]any{"ClusterId": id, "SignedCert": signed["SignedCert"], "TrustAnchor": signed["TrustAnchor"]})
	s.advance(5 * time.Minute)
	s.ok("Simulator.ActivateCluster", map[string]any{"ClusterId": id, "AdminPassword": "adminPassword1"})
	for _, az := range hsmAZs[1:] {
		s.ok("BaldrApiService.CreateHsm", map[string]any{"ClusterId": id, "AvailabilityZone": az})
	}
	s.advance(10 * time.Minute)
	s.ok("Simulator.CreateCryptoUser", map[string]any{"ClusterId": id, "Username": "kmsuser", "Password": "kmsPassword1"})
	return id, signed["TrustAnchor"].(string)
}

// store creates a CloudHSM key store for the cluster.
func (s *sandbox) store(name, clusterID, anchor string) string {
	s.t.Helper()
	m := s.ok("TrentService.CreateCustomKeyStore", map[string]any{"CustomKeyStoreName": name,
		"CloudHsmClusterId": clusterID, "TrustAnchorCertificate": anchor, "KeyStorePassword": "kmsPassword1"})
	return m["CustomKeyStoreId"].(string)
}

func (s *sandbox) describe(id string) map[string]any {
	s.t.Helper()
	m := s.ok("TrentService.DescribeCustomKeyStores", map[string]any{"CustomKeyStoreId": id})
	return m["CustomKeyStores"].([]any)[0].(map[string]any)
}

func (s *sandbox) state(id string) string {
	s.t.Helper()
	d := s.describe(id)
	st := d["ConnectionState"].(string)
	if code, ok := d["ConnectionErrorCode"]; ok {
		st += "/" + code.(string)
	}
	return st
}

func TestSmoke(t *testing.T) {
	s := newSandbox(t)
	id, anchor := s.cluster([]string{"subnet-0a000001", "subnet-0a000002"}, "us-east-1a", "us-east-1b")
	ks := s.store("demo", id, anchor)
	if !strings.HasPrefix(ks, "cks-") || len(ks) != 21 {
		t.Fatalf("bad id %s", ks)
	}
	s.ok("TrentService.ConnectCustomKeyStore", map[string]any{"CustomKeyStoreId": ks})
	if got := s.state(ks); got != "CONNECTING" {
		t.Fatalf("state %s", got)
	}
	s.advance(20 * time.Minute)
	if got := s.state(ks); got != "CONNECTED" {
		t.Fatalf("state %s", got)
	}
}
