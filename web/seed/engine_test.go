package seed_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"keystorelab/engine"
	"keystorelab/web/seed"
)

// TestExampleAgainstEngine applies example.yaml to the real engine and
// checks that it ends with a CONNECTED key store the engine describes.
func TestExampleAgainstEngine(t *testing.T) {
	data, err := os.ReadFile("example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := seed.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	e := engine.New(engine.Config{ClockSpeed: 60}, now)
	call := func(target string, body []byte) (int, []byte) {
		now = now.Add(time.Millisecond) // host time moves a little per call, as on a server
		return e.Handle(now, target, body)
	}
	res, err := f.Apply(call)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.KeyStores) != 1 || res.KeyStores[0].ConnectionState != "CONNECTED" {
		t.Fatalf("result = %+v, want one CONNECTED key store", res)
	}
	if len(res.KeyIDs) != 2 {
		t.Fatalf("made keys %v, want 2", res.KeyIDs)
	}
	status, body := call("TrentService.DescribeKey", []byte(`{"KeyId":"alias/example-hsm"}`))
	if status != 200 || !strings.Contains(string(body), `"Origin":"AWS_CLOUDHSM"`) || !strings.Contains(string(body), res.KeyIDs[1]) {
		t.Fatalf("DescribeKey alias/example-hsm = %d %s", status, body)
	}

	status, body = call("TrentService.DescribeCustomKeyStores", []byte(`{"CustomKeyStoreName":"ExampleKeyStore"}`))
	var out struct {
		CustomKeyStores []struct {
			CustomKeyStoreId, CustomKeyStoreName, CloudHsmClusterId, ConnectionState string
		}
	}
	if err := json.Unmarshal(body, &out); status != 200 || err != nil || len(out.CustomKeyStores) != 1 {
		t.Fatalf("DescribeCustomKeyStores = %d %s", status, body)
	}
	ks := out.CustomKeyStores[0]
	if ks.ConnectionState != "CONNECTED" || ks.CustomKeyStoreId != res.KeyStores[0].CustomKeyStoreID ||
		ks.CloudHsmClusterId != res.Clusters[0].ClusterID {
		t.Errorf("engine describes %+v; seed made %+v", ks, res)
	}

	// The file's seed makes the IDs reproducible, whatever the engine's
	// own seed was.
	e = engine.New(engine.Config{Seed: [32]byte{9, 9, 9}, ClockSpeed: 60}, now)
	res2, err := f.Apply(call)
	if err != nil {
		t.Fatal(err)
	}
	if res2.Clusters[0].ClusterID != res.Clusters[0].ClusterID || res2.KeyStores[0].CustomKeyStoreID != res.KeyStores[0].CustomKeyStoreID {
		t.Errorf("second run made %+v, first %+v", res2, res)
	}
}

// TestExternalExampleAgainstEngine applies external.yaml: a proxy and a
// CONNECTED external key store.
func TestExternalExampleAgainstEngine(t *testing.T) {
	data, err := os.ReadFile("external.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := seed.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	e := engine.New(engine.Config{ClockSpeed: 60}, now)
	res, err := f.Apply(func(target string, body []byte) (int, []byte) { return e.Handle(now, target, body) })
	if err != nil {
		t.Fatal(err)
	}
	if len(res.KeyStores) != 1 || res.KeyStores[0].ConnectionState != "CONNECTED" {
		t.Fatalf("result = %+v, want one CONNECTED external key store", res)
	}
	status, body := e.Handle(now, "Simulator.DescribeXksProxies", []byte("{}"))
	if status != 200 || !strings.Contains(string(body), `"KeyId":"encrypt-only"`) || strings.Contains(string(body), "oTbh0uA9") {
		t.Fatalf("DescribeXksProxies = %d %s", status, body)
	}
	status, body = e.Handle(now, "TrentService.Encrypt", []byte(`{"KeyId":"alias/example-xks","Plaintext":"aGk="}`))
	if status != 200 || len(res.KeyIDs) != 1 || !strings.Contains(string(body), res.KeyIDs[0]) {
		t.Fatalf("Encrypt with alias/example-xks = %d %s", status, body)
	}
}

// TestProxySettingsAgainstEngine: fleet, faults and rules from a seed file
// reach the engine's simulated proxy.
func TestProxySettingsAgainstEngine(t *testing.T) {
	f, err := seed.Parse([]byte(`
xksProxies:
  - uriEndpoint: https://xks.example.com
    fleet: [{id: a, model: m, healthStatus: DEGRADED}]
    faults: {latencyMs: 300, throttle: true}
    rules: {kmsOperations: [Decrypt]}
`))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	e := engine.New(engine.Config{}, now)
	if _, err := f.Apply(func(target string, body []byte) (int, []byte) { return e.Handle(now, target, body) }); err != nil {
		t.Fatal(err)
	}
	_, body := e.Handle(now, "Simulator.DescribeXksProxies", []byte("{}"))
	for _, want := range []string{`"HealthStatus":"DEGRADED"`, `"LatencyMs":300`, `"Throttle":true`, `"KmsOperations":["Decrypt"]`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("DescribeXksProxies %s lacks %s", body, want)
		}
	}
}
