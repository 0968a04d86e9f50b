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
