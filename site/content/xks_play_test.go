package content

import (
	"strings"
	"testing"

	"keystorelab/engine"
)

// newXKSSandbox builds a simulated proxy with a path, a credential and an
// external key, and an external key store for it that was connected once
// and is now DISCONNECTED; with vpc, the store reaches the proxy through a
// VPC endpoint service.
func newXKSSandbox(t *testing.T, vpc bool) *sandbox {
	s := &sandbox{t: t, e: engine.New(engine.Config{}, t0)}
	host := "xks.example.com"
	if vpc {
		host = "private-xks.example.com"
	}
	ep, path := "https://"+host, "/example/kms/xks/v1"
	cred := map[string]any{"AccessKeyId": "BE2J6Q2RE7ZRRCONB2M2RKBT5M", "SecretAccessKey": "oTbh0uA9Z3M5tJr1dDqHsbQn7sAkH+3v9XhXxKZbVmk="}
	s.ok("Simulator.CreateXksProxy", map[string]any{"UriEndpoint": ep})
	s.ok("Simulator.PutXksProxyPath", map[string]any{"UriEndpoint": ep, "UriPath": path, "Credentials": []any{cred}})
	s.ok("Simulator.CreateExternalKey", map[string]any{"UriEndpoint": ep, "UriPath": path, "KeyId": "bar"})
	in := map[string]any{"CustomKeyStoreName": "ExampleXksKeyStore", "CustomKeyStoreType": "EXTERNAL_KEY_STORE",
		"XksProxyConnectivity": "PUBLIC_ENDPOINT", "XksProxyUriEndpoint": ep, "XksProxyUriPath": path,
		"XksProxyAuthenticationCredential": map[string]any{"AccessKeyId": cred["AccessKeyId"], "RawSecretAccessKey": cred["SecretAccessKey"]}}
	service := ""
	if vpc {
		service = s.ok("Simulator.CreateVpcEndpointService", map[string]any{"PrivateDnsName": host})["ServiceName"].(string)
		in["XksProxyConnectivity"], in["XksProxyVpcEndpointServiceName"] = "VPC_ENDPOINT_SERVICE", service
	}
	ks := s.ok("TrentService.CreateCustomKeyStore", in)
	s.values = map[string]string{"$store": ks["CustomKeyStoreId"].(string), "$xksEndpoint": ep, "$xksPath": path,
		"$vpcService": service, "$kmsPrincipal": "cks.kms.us-east-1.amazonaws.com", "$zoneA": "us-east-1a", "$zoneB": "us-east-1b"}
	s.play(Step{Action: Connect}, true)
	s.play(Step{Action: WaitXks}, true)
	if got := s.state(); got != "CONNECTED" {
		t.Fatalf("the first connect ends %s", got)
	}
	s.play(Step{Action: Disconnect}, true)
	s.play(Step{Action: WaitXks}, true)
	if got := s.state(); got != "DISCONNECTED" {
		t.Fatalf("set-up ends %s", got)
	}
	return s
}

// TestXKSCodesPlay causes each external key store code with its Reproduce
// steps and, for a playable entry, repairs it with its Steps, the way the
// console's buttons do.
func TestXKSCodesPlay(t *testing.T) {
	for _, e := range XKSErrorCodes {
		if len(e.Reproduce) == 0 {
			continue
		}
		t.Run(e.Code, func(t *testing.T) {
			s := newXKSSandbox(t, strings.HasPrefix(e.Code, "XKS_VPC_"))
			for _, st := range e.Reproduce {
				s.play(st, true)
			}
			s.play(Step{Action: Connect}, true)
			s.play(Step{Action: WaitXks}, true)
			if got, want := s.state(), "FAILED/"+e.Code; got != want {
				t.Fatalf("after Reproduce and a connect: %s, want %s", got, want)
			}
			for _, st := range e.Steps {
				if st.Action != nil {
					s.play(st, true)
				}
			}
			if got := s.state(); e.Playable() && got != "CONNECTED" {
				t.Fatalf("after the fix: %s", got)
			}
		})
	}
}
