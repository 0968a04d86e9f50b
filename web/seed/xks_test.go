package seed

import (
	"strings"
	"testing"
)

func TestExternalKeyStoreRules(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"keyStores: [{name: x, type: EXTERNAL_KEY_STORE}]", "needs xksProxyUriEndpoint"},
		{"keyStores: [{name: x, type: EXTERNAL_KEY_STORE, xksProxyUriEndpoint: https://a.example.com, xksProxyUriPath: /kms/xks/v1, accessKeyId: A, secretAccessKey: B, cluster: c}]", "cluster and keyStorePassword are for AWS_CLOUDHSM"},
		{"keyStores: [{name: x, type: HSM}]", "type must be AWS_CLOUDHSM or EXTERNAL_KEY_STORE"},
		{"xksProxies: [{uriEndpoint: http://a.example.com}]", "uriEndpoint must start with https://"},
		{"xksProxies: [{uriEndpoint: https://a.example.com, paths: [{uriPath: /kms/xks/v1}]}]", "credentials must hold one credential"},
		{"xksProxies: [{uriEndpoint: https://a.example.com, paths: [{uriPath: /kms/xks/v1, credentials: [{accessKeyId: A, secretAccessKey: B}], externalKeys: [{keySpec: AES_256}]}]}]", "keyId is required"},
	} {
		_, err := Parse([]byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error mentioning %q", tc.yaml, err, tc.want)
		}
	}
}

func TestSecretAccessKeysAreRedacted(t *testing.T) {
	f, err := Parse([]byte(`
xksProxies:
  - uriEndpoint: https://xks.example.com
    paths:
      - uriPath: /example/kms/xks/v1
        credentials: [{accessKeyId: BE2J6Q2RE7ZRRCONB2M2RKBT5M, secretAccessKey: sup3rS3cretValue}]
`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Apply(func(target string, body []byte) (int, []byte) {
		if target == "Simulator.PutXksProxyPath" {
			return 400, []byte(`{"__type":"ValidationException","message":"bad secret sup3rS3cretValue"}`)
		}
		return 200, []byte(`{}`)
	})
	if err == nil || strings.Contains(err.Error(), "sup3rS3cretValue") {
		t.Fatalf("error %v shows the secret access key", err)
	}
}

func TestProxyFleetFaultsAndRules(t *testing.T) {
	f, err := Parse([]byte(`
xksProxies:
  - uriEndpoint: https://xks.example.com
    fleet: [{id: a, model: m, healthStatus: UNAVAILABLE}, {id: b, model: m, healthStatus: DEGRADED}]
    faults: {latencyMs: 300, tls: EXPIRED_CERTIFICATE}
    rules: {kmsOperations: [Decrypt]}
`))
	if err != nil {
		t.Fatal(err)
	}
	sent := map[string]string{}
	if _, err := f.Apply(func(target string, body []byte) (int, []byte) {
		sent[target] = string(body)
		return 200, []byte(`{}`)
	}); err != nil {
		t.Fatal(err)
	}
	for target, want := range map[string]string{
		"Simulator.SetXksProxyFleet":  `"EkmFleetDetails":[{"Id":"a","Model":"m","HealthStatus":"UNAVAILABLE"},{"Id":"b","Model":"m","HealthStatus":"DEGRADED"}]`,
		"Simulator.SetXksProxyFaults": `"LatencyMs":300,"Tls":"EXPIRED_CERTIFICATE"`,
		"Simulator.SetXksProxyRules":  `"KmsOperations":["Decrypt"]`,
	} {
		if !strings.Contains(sent[target], want) {
			t.Errorf("%s sent %s, want it to contain %s", target, sent[target], want)
		}
	}
	if _, err := Parse([]byte("xksProxies: [{uriEndpoint: https://a.example.com, fleet: [{id: x, healthStatus: BROKEN}]}]")); err == nil {
		t.Error("a bad healthStatus was accepted")
	}
}
