package engine

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"keystorelab/hsmsim/xks"
)

const (
	xksEndpoint = "https://xks.example.com"
	xksPath     = "/example/kms/xks/v1"
	xksKeyID    = "BE2J6Q2RE7ZRRCONB2M2RKBT5M"
	xksSecret   = "oTbh0uA9Z3M5tJr1dDqHsbQn7sAkH+3v9XhXxKZbVmk="
)

// proxy creates a simulated proxy at xksEndpoint serving xksPath with the
// test credential and one external key.
func (s *sandbox) proxy() {
	s.t.Helper()
	s.ok("Simulator.CreateXksProxy", map[string]any{"UriEndpoint": xksEndpoint})
	s.ok("Simulator.PutXksProxyPath", map[string]any{"UriEndpoint": xksEndpoint, "UriPath": xksPath,
		"Credentials": []any{map[string]any{"AccessKeyId": xksKeyID, "SecretAccessKey": xksSecret}}})
	s.ok("Simulator.CreateExternalKey", map[string]any{"UriEndpoint": xksEndpoint, "UriPath": xksPath, "KeyId": "key-1"})
}

func xksStore(name string) map[string]any {
	return map[string]any{"CustomKeyStoreName": name, "CustomKeyStoreType": "EXTERNAL_KEY_STORE",
		"XksProxyConnectivity": "PUBLIC_ENDPOINT", "XksProxyUriEndpoint": xksEndpoint, "XksProxyUriPath": xksPath,
		"XksProxyAuthenticationCredential": map[string]any{"AccessKeyId": xksKeyID, "RawSecretAccessKey": xksSecret}}
}

func (s *sandbox) faults(f map[string]any) {
	s.t.Helper()
	f["UriEndpoint"] = xksEndpoint
	s.ok("Simulator.SetXksProxyFaults", f)
}

func TestExternalKeyStoreLifecycle(t *testing.T) {
	s := newSandbox(t)
	s.proxy()
	id := s.ok("TrentService.CreateCustomKeyStore", xksStore("xks"))["CustomKeyStoreId"].(string)
	d := s.describe(id)
	cfg := d["XksProxyConfiguration"].(map[string]any)
	if d["CustomKeyStoreType"] != "EXTERNAL_KEY_STORE" || cfg["AccessKeyId"] != xksKeyID || cfg["Connectivity"] != "PUBLIC_ENDPOINT" ||
		cfg["UriEndpoint"] != xksEndpoint || cfg["UriPath"] != xksPath || d["CloudHsmClusterId"] != nil {
		t.Fatalf("describe: %v", d)
	}
	_, out := s.e.Handle(t0, "TrentService.DescribeCustomKeyStores", []byte("{}"))
	if strings.Contains(string(out), xksSecret) {
		t.Fatal("the secret access key is returned")
	}
	s.ok("TrentService.ConnectCustomKeyStore", map[string]any{"CustomKeyStoreId": id})
	if got := s.state(id); got != "CONNECTING" {
		t.Fatal(got)
	}
	s.advance(xksConnectTime)
	if got := s.state(id); got != "CONNECTED" {
		t.Fatal(got)
	}
	// While connected: the path and credential may change, the endpoint not.
	s.ok("Simulator.PutXksProxyPath", map[string]any{"UriEndpoint": xksEndpoint, "UriPath": xksPath, "Credentials": []any{
		map[string]any{"AccessKeyId": xksKeyID, "SecretAccessKey": xksSecret},
		map[string]any{"AccessKeyId": "ZZZZZZZZZZZZZZZZZZZZZZZZZZ", "SecretAccessKey": strings.Repeat("b", 44)}}})
	s.ok("TrentService.UpdateCustomKeyStore", map[string]any{"CustomKeyStoreId": id,
		"XksProxyAuthenticationCredential": map[string]any{"AccessKeyId": "ZZZZZZZZZZZZZZZZZZZZZZZZZZ", "RawSecretAccessKey": strings.Repeat("b", 44)}})
	s.fails("TrentService.UpdateCustomKeyStore", map[string]any{"CustomKeyStoreId": id, "XksProxyUriEndpoint": "https://other.example.com"}, "CustomKeyStoreInvalidStateException")
	// A credential the proxy does not know is refused, and nothing changes.
	s.fails("TrentService.UpdateCustomKeyStore", map[string]any{"CustomKeyStoreId": id, "NewCustomKeyStoreName": "renamed",
		"XksProxyAuthenticationCredential": map[string]any{"AccessKeyId": "YYYYYYYYYYYYYYYYYYYYYYYYYY", "RawSecretAccessKey": strings.Repeat("c", 44)}},
		"XksProxyIncorrectAuthenticationCredentialException")
	if d := s.describe(id); d["CustomKeyStoreName"] != "xks" || d["XksProxyConfiguration"].(map[string]any)["AccessKeyId"] != "ZZZZZZZZZZZZZZZZZZZZZZZZZZ" {
		t.Fatalf("a refused update changed the store: %v", d)
	}
	s.ok("TrentService.DisconnectCustomKeyStore", map[string]any{"CustomKeyStoreId": id})
	s.advance(xksDisconnectTime)
	s.ok("TrentService.DeleteCustomKeyStore", map[string]any{"CustomKeyStoreId": id})
}

func TestExternalKeyStoreUniqueness(t *testing.T) {
	s := newSandbox(t)
	s.proxy()
	s.ok("TrentService.CreateCustomKeyStore", xksStore("one"))
	s.fails("TrentService.CreateCustomKeyStore", xksStore("two"), "XksProxyUriInUseException")
	s.fails("TrentService.CreateCustomKeyStore", xksStore("one"), "CustomKeyStoreNameInUseException")
	vpc := xksStore("vpc")
	vpc["XksProxyConnectivity"] = "VPC_ENDPOINT_SERVICE"
	vpc["XksProxyUriPath"] = "/other/kms/xks/v1"
	vpc["XksProxyVpcEndpointServiceName"] = "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0"
	s.fails("TrentService.CreateCustomKeyStore", vpc, "XksProxyUriEndpointInUseException")
	vpc["XksProxyUriEndpoint"] = "https://private.example.com"
	s.fails("TrentService.CreateCustomKeyStore", vpc, "XksProxyVpcEndpointServiceNotFoundException")
	delete(vpc, "XksProxyVpcEndpointServiceName")
	s.fails("TrentService.CreateCustomKeyStore", vpc, "ValidationException")
}

// TestCreateErrorMapping: every proxy result at CreateCustomKeyStore gives
// the exception of the XKS specification's mapping table.
func TestCreateErrorMapping(t *testing.T) {
	for _, tc := range []struct {
		cause map[string]any
		want  string
	}{
		{map[string]any{"Throttle": true}, "XksProxyUriUnreachableException"},
		{map[string]any{"DependencyTimeout": true}, "XksProxyUriUnreachableException"},
		{map[string]any{"Unreachable": true}, "XksProxyUriUnreachableException"},
		{map[string]any{"Tls": "EXPIRED_CERTIFICATE"}, "XksProxyUriUnreachableException"},
		{map[string]any{"LatencyMs": 300}, "XksProxyUriUnreachableException"},
		{map[string]any{"Internal": true}, "XksProxyInvalidResponseException"},
		{map[string]any{"Malformed": true}, "XksProxyInvalidResponseException"},
		{map[string]any{"AccessDenied": true}, "XksProxyInvalidResponseException"},
	} {
		s := newSandbox(t)
		s.proxy()
		s.faults(tc.cause)
		s.fails("TrentService.CreateCustomKeyStore", xksStore("x"), tc.want)
		s.faults(map[string]any{"LatencyMs": 200})
		s.ok("TrentService.CreateCustomKeyStore", xksStore("x"))
	}
	s := newSandbox(t)
	s.proxy()
	bad := xksStore("x")
	bad["XksProxyUriPath"] = "/wrong/kms/xks/v1"
	s.fails("TrentService.CreateCustomKeyStore", bad, "XksProxyInvalidConfigurationException")
	bad = xksStore("x")
	bad["XksProxyAuthenticationCredential"] = map[string]any{"AccessKeyId": xksKeyID, "RawSecretAccessKey": strings.Repeat("d", 44)}
	s.fails("TrentService.CreateCustomKeyStore", bad, "XksProxyIncorrectAuthenticationCredentialException")
	bad = xksStore("x")
	bad["XksProxyUriEndpoint"] = "https://nobody.example.com"
	s.fails("TrentService.CreateCustomKeyStore", bad, "XksProxyUriUnreachableException")
	s.ok("Simulator.SetXksProxyFleet", map[string]any{"UriEndpoint": xksEndpoint, "EkmFleetDetails": []any{
		map[string]any{"Id": "a", "Model": "m", "HealthStatus": "UNAVAILABLE"}, map[string]any{"Id": "b", "Model": "m", "HealthStatus": "UNAVAILABLE"}}})
	s.fails("TrentService.CreateCustomKeyStore", xksStore("x"), "XksProxyUriUnreachableException")
	s.ok("Simulator.SetXksProxyFleet", map[string]any{"UriEndpoint": xksEndpoint, "EkmFleetDetails": []any{
		map[string]any{"Id": "a", "Model": "m", "HealthStatus": "UNAVAILABLE"}, map[string]any{"Id": "b", "Model": "m", "HealthStatus": "DEGRADED"}}})
	s.ok("TrentService.CreateCustomKeyStore", xksStore("x"))
}

// TestExternalConnectionErrorCodes causes each reachable XKS connection
// error code, sees FAILED with it, applies the fix and connects.
func TestExternalConnectionErrorCodes(t *testing.T) {
	healthy := func(s *sandbox, id string) { s.faults(map[string]any{}) }
	for _, tc := range []struct {
		code  ConnectionErrorCode
		cause func(s *sandbox, id string)
		fix   func(s *sandbox, id string)
	}{
		{ErrInvalidCredentials,
			func(s *sandbox, id string) {
				s.ok("Simulator.PutXksProxyPath", map[string]any{"UriEndpoint": xksEndpoint, "UriPath": xksPath,
					"Credentials": []any{map[string]any{"AccessKeyId": "NEWKEYNEWKEYNEWKEYNEWKEY", "SecretAccessKey": strings.Repeat("n", 44)}}})
			},
			func(s *sandbox, id string) {
				s.ok("TrentService.UpdateCustomKeyStore", map[string]any{"CustomKeyStoreId": id,
					"XksProxyAuthenticationCredential": map[string]any{"AccessKeyId": "NEWKEYNEWKEYNEWKEYNEWKEY", "RawSecretAccessKey": strings.Repeat("n", 44)}})
			}},
		{ErrNetworkErrors,
			func(s *sandbox, id string) {
				s.ok("Simulator.InjectConnectFault", map[string]any{"CustomKeyStoreId": id, "ConnectionErrorCode": "NETWORK_ERRORS"})
			}, func(*sandbox, string) {}},
		{ErrInternalError,
			func(s *sandbox, id string) {
				s.ok("Simulator.InjectConnectFault", map[string]any{"CustomKeyStoreId": id, "ConnectionErrorCode": "INTERNAL_ERROR"})
			}, func(*sandbox, string) {}},
		{ErrXksProxyAccessDenied, func(s *sandbox, id string) { s.faults(map[string]any{"AccessDenied": true}) }, healthy},
		{ErrXksProxyInvalidConfiguration,
			func(s *sandbox, id string) {
				s.ok("Simulator.DeleteXksProxyPath", map[string]any{"UriEndpoint": xksEndpoint, "UriPath": xksPath})
				s.ok("Simulator.PutXksProxyPath", map[string]any{"UriEndpoint": xksEndpoint, "UriPath": "/moved/kms/xks/v1",
					"Credentials": []any{map[string]any{"AccessKeyId": xksKeyID, "SecretAccessKey": xksSecret}}})
			},
			func(s *sandbox, id string) {
				s.ok("TrentService.UpdateCustomKeyStore", map[string]any{"CustomKeyStoreId": id, "XksProxyUriPath": "/moved/kms/xks/v1"})
			}},
		{ErrXksProxyInvalidResponse, func(s *sandbox, id string) { s.faults(map[string]any{"Malformed": true}) }, healthy},
		{ErrXksProxyInvalidTLSConfiguration, func(s *sandbox, id string) { s.faults(map[string]any{"Tls": "HOSTNAME_MISMATCH"}) }, healthy},
		{ErrXksProxyNotReachable, func(s *sandbox, id string) { s.faults(map[string]any{"Unreachable": true}) }, healthy},
		{ErrXksProxyTimedOut, func(s *sandbox, id string) { s.faults(map[string]any{"LatencyMs": 300}) }, healthy},
	} {
		t.Run(string(tc.code), func(t *testing.T) {
			s := newSandbox(t)
			s.proxy()
			id := s.ok("TrentService.CreateCustomKeyStore", xksStore("xks"))["CustomKeyStoreId"].(string)
			connect := func() string {
				s.ok("TrentService.ConnectCustomKeyStore", map[string]any{"CustomKeyStoreId": id})
				s.advance(xksConnectTime)
				return s.state(id)
			}
			tc.cause(s, id)
			if got, want := connect(), "FAILED/"+string(tc.code); got != want {
				t.Fatalf("after the cause: %s, want %s", got, want)
			}
			s.ok("TrentService.DisconnectCustomKeyStore", map[string]any{"CustomKeyStoreId": id})
			s.advance(xksDisconnectTime)
			tc.fix(s, id)
			if got := connect(); got != "CONNECTED" {
				t.Fatalf("after the fix: %s", got)
			}
		})
	}
}

func TestXksSimulatorNeverShowsSecrets(t *testing.T) {
	s := newSandbox(t)
	s.proxy()
	_, out := s.e.Handle(t0, "Simulator.DescribeXksProxies", []byte("{}"))
	if strings.Contains(string(out), xksSecret) || !strings.Contains(string(out), xksKeyID) || strings.Contains(string(out), "aterial") {
		t.Fatalf("DescribeXksProxies: %s", out)
	}
}

// vpcSetup makes a proxy at its own private DNS name behind a correctly
// configured VPC endpoint service, and returns the CreateCustomKeyStore
// request for it.
func (s *sandbox) vpcSetup() (service string, req map[string]any) {
	s.t.Helper()
	const host = "https://private-xks.example.com"
	s.ok("Simulator.CreateXksProxy", map[string]any{"UriEndpoint": host})
	s.ok("Simulator.PutXksProxyPath", map[string]any{"UriEndpoint": host, "UriPath": xksPath,
		"Credentials": []any{map[string]any{"AccessKeyId": xksKeyID, "SecretAccessKey": xksSecret}}})
	out := s.ok("Simulator.CreateVpcEndpointService", map[string]any{"PrivateDnsName": "private-xks.example.com"})
	service = out["ServiceName"].(string)
	req = xksStore("vpc")
	req["XksProxyConnectivity"] = "VPC_ENDPOINT_SERVICE"
	req["XksProxyUriEndpoint"] = host
	req["XksProxyVpcEndpointServiceName"] = service
	return service, req
}

func TestVpcEndpointServiceConnectivity(t *testing.T) {
	s := newSandbox(t)
	service, req := s.vpcSetup()
	update := func(fields map[string]any) {
		fields["ServiceName"] = service
		s.ok("Simulator.UpdateVpcEndpointService", fields)
	}
	// Create checks the endpoint service, not the proxy.
	update(map[string]any{"AllowedPrincipals": []string{}})
	s.fails("TrentService.CreateCustomKeyStore", req, "XksProxyVpcEndpointServiceNotFoundException")
	update(map[string]any{"AllowedPrincipals": []string{"cks.kms.us-east-1.amazonaws.com"}, "AcceptanceRequired": true})
	s.fails("TrentService.CreateCustomKeyStore", req, "XksProxyVpcEndpointServiceInvalidConfigurationException")
	update(map[string]any{"AcceptanceRequired": false})
	id := s.ok("TrentService.CreateCustomKeyStore", req)["CustomKeyStoreId"].(string)
	second := xksStore("second")
	second["XksProxyConnectivity"] = "VPC_ENDPOINT_SERVICE"
	second["XksProxyUriEndpoint"] = "https://another-xks.example.com"
	second["XksProxyVpcEndpointServiceName"] = service
	s.fails("TrentService.CreateCustomKeyStore", second, "XksProxyVpcEndpointServiceInUseException")
	if d := s.describe(id)["XksProxyConfiguration"].(map[string]any); d["VpcEndpointServiceName"] != service || d["VpcEndpointServiceOwner"] != "111122223333" {
		t.Fatalf("describe: %v", d)
	}
	connections := func() int {
		out := s.ok("Simulator.DescribeXksProxies", "{}")
		return len(out["VpcEndpointServices"].([]any)[0].(map[string]any)["Connections"].([]any))
	}
	connect := func() string {
		s.ok("TrentService.ConnectCustomKeyStore", map[string]any{"CustomKeyStoreId": id})
		s.advance(xksConnectTime)
		return s.state(id)
	}
	disconnect := func() {
		s.ok("TrentService.DisconnectCustomKeyStore", map[string]any{"CustomKeyStoreId": id})
		s.advance(xksDisconnectTime)
	}
	if got := connect(); got != "CONNECTED" || connections() != 1 {
		t.Fatalf("connect: %s with %d interface endpoints", got, connections())
	}
	disconnect()
	if connections() != 0 {
		t.Fatal("disconnect left the interface endpoint")
	}
	for _, tc := range []struct {
		cause, fix map[string]any
		code       ConnectionErrorCode
	}{
		{map[string]any{"AllowedPrincipals": []string{"example.com"}}, map[string]any{"AllowedPrincipals": []string{"cks.kms.us-east-1.amazonaws.com"}}, ErrXksVpcEndpointServiceNotFound},
		{map[string]any{"DnsVerification": "pendingVerification"}, map[string]any{"DnsVerification": "verified"}, ErrXksVpcEndpointServiceInvalidConfiguration},
		{map[string]any{"LoadBalancerAZs": []string{"us-east-1a"}}, map[string]any{"LoadBalancerAZs": []string{"us-east-1a", "us-east-1c"}}, ErrXksVpcEndpointServiceInvalidConfiguration},
		{map[string]any{"AcceptanceRequired": true}, map[string]any{"AcceptanceRequired": false}, ErrXksVpcEndpointServiceInvalidConfiguration},
	} {
		update(tc.cause)
		if got := connect(); got != "FAILED/"+string(tc.code) || connections() != 0 {
			t.Fatalf("after %v: %s with %d endpoints, want FAILED/%s", tc.cause, got, connections(), tc.code)
		}
		disconnect()
		update(tc.fix)
		if got := connect(); got != "CONNECTED" {
			t.Fatalf("after fixing %v: %s", tc.cause, got)
		}
		disconnect()
	}
	s.fails("Simulator.DeleteVpcEndpointService", map[string]any{"ServiceName": service, "Owner": "999999999999"}, "ResourceNotFoundException")
}

// TestXksProxyRequest serves a simulated proxy to an outside client, the
// way the local server does over HTTP: the request is signed with the
// client's (host) clock, not the sandbox's virtual one.
func TestXksProxyRequest(t *testing.T) {
	s := newSandbox(t)
	s.proxy()
	s.advance(time.Hour) // virtual time runs ahead; the client signs with real time
	body := []byte(`{"requestMetadata":{"kmsRequestId":"1","kmsOperation":"KmsHealthCheck"}}`)
	r := xks.Request{Method: "POST", Host: "127.0.0.1:8080", Path: xksPath + "/health",
		Header: map[string]string{"content-type": "application/json"}, Body: body}
	xks.Sign(&r, xks.Credential{AccessKeyID: xksKeyID, SecretAccessKey: xksSecret}, "us-east-1", t0)
	out := s.ok("Simulator.XksProxyRequest", map[string]any{"Method": r.Method, "Host": r.Host, "Path": r.Path,
		"Headers": map[string]any{"Content-Type": r.Header["content-type"], "X-Amz-Date": r.Header["x-amz-date"], "Authorization": r.Header["authorization"]},
		"Body":    body})
	if out["Status"] != 200.0 {
		t.Fatalf("health over the bridge: %v", out)
	}
	out = s.ok("Simulator.XksProxyRequest", map[string]any{"Method": "POST", "Host": "127.0.0.1:8080", "Path": "/nowhere/kms/xks/v1/health", "Body": body})
	if out["Status"] != 404.0 {
		t.Fatalf("unknown path: %v", out)
	}
}

// TestUpdateErrorMapping: UpdateCustomKeyStore tests the new proxy
// configuration with GetHealthStatus and maps each proxy result as
// CreateCustomKeyStore does; a refused update changes nothing.
func TestUpdateErrorMapping(t *testing.T) {
	for _, tc := range []struct {
		cause map[string]any
		want  string
	}{
		{map[string]any{"Throttle": true}, "XksProxyUriUnreachableException"},
		{map[string]any{"DependencyTimeout": true}, "XksProxyUriUnreachableException"},
		{map[string]any{"Unreachable": true}, "XksProxyUriUnreachableException"},
		{map[string]any{"Tls": "UNTRUSTED_CA"}, "XksProxyUriUnreachableException"},
		{map[string]any{"LatencyMs": 251}, "XksProxyUriUnreachableException"},
		{map[string]any{"Internal": true}, "XksProxyInvalidResponseException"},
		{map[string]any{"Malformed": true}, "XksProxyInvalidResponseException"},
	} {
		s := newSandbox(t)
		s.proxy()
		id := s.ok("TrentService.CreateCustomKeyStore", xksStore("x"))["CustomKeyStoreId"].(string)
		s.ok("Simulator.PutXksProxyPath", map[string]any{"UriEndpoint": xksEndpoint, "UriPath": "/second/kms/xks/v1",
			"Credentials": []any{map[string]any{"AccessKeyId": xksKeyID, "SecretAccessKey": xksSecret}}})
		s.faults(tc.cause)
		s.fails("TrentService.UpdateCustomKeyStore", map[string]any{"CustomKeyStoreId": id, "XksProxyUriPath": "/second/kms/xks/v1"}, tc.want)
		if got := s.describe(id)["XksProxyConfiguration"].(map[string]any)["UriPath"]; got != xksPath {
			t.Fatalf("%v: a refused update changed the path to %v", tc.cause, got)
		}
		s.faults(map[string]any{})
		s.ok("TrentService.UpdateCustomKeyStore", map[string]any{"CustomKeyStoreId": id, "XksProxyUriPath": "/second/kms/xks/v1"})
	}
	s := newSandbox(t)
	s.proxy()
	id := s.ok("TrentService.CreateCustomKeyStore", xksStore("x"))["CustomKeyStoreId"].(string)
	s.fails("TrentService.UpdateCustomKeyStore", map[string]any{"CustomKeyStoreId": id, "XksProxyUriPath": "/missing/kms/xks/v1"}, "XksProxyInvalidConfigurationException")
	s.fails("TrentService.UpdateCustomKeyStore", map[string]any{"CustomKeyStoreId": id, "KeyStorePassword": "kmsPassword1"}, "ValidationException")
	s.fails("TrentService.UpdateCustomKeyStore", map[string]any{"CustomKeyStoreId": id, "XksProxyConnectivity": "VPC_ENDPOINT_SERVICE"}, "ValidationException")
	// The name alone needs no proxy call.
	s.faults(map[string]any{"Unreachable": true})
	s.ok("TrentService.UpdateCustomKeyStore", map[string]any{"CustomKeyStoreId": id, "NewCustomKeyStoreName": "renamed"})
}

// TestExternalStateTable checks, in every connection state, which external
// key store properties UpdateCustomKeyStore may change: the URI path and
// the credential in any state, the endpoint and connectivity only while
// DISCONNECTED.
func TestExternalStateTable(t *testing.T) {
	cred := map[string]any{"AccessKeyId": xksKeyID, "RawSecretAccessKey": xksSecret}
	updates := map[string]map[string]any{
		"path":         {"XksProxyUriPath": "/second/kms/xks/v1"},
		"credential":   {"XksProxyAuthenticationCredential": cred},
		"endpoint":     {"XksProxyUriEndpoint": "https://other.example.com"},
		"connectivity": {"XksProxyConnectivity": "PUBLIC_ENDPOINT", "XksProxyUriEndpoint": "https://other.example.com"},
	}
	anyState := map[string]bool{"path": true, "credential": true}
	for field, req := range updates {
		for _, st := range ConnectionStates {
			t.Run(fmt.Sprintf("state=%s,field=%s", st, field), func(t *testing.T) {
				s := newSandbox(t)
				s.proxy()
				s.ok("Simulator.PutXksProxyPath", map[string]any{"UriEndpoint": xksEndpoint, "UriPath": "/second/kms/xks/v1",
					"Credentials": []any{map[string]any{"AccessKeyId": xksKeyID, "SecretAccessKey": xksSecret}}})
				s.ok("Simulator.CreateXksProxy", map[string]any{"UriEndpoint": "https://other.example.com"})
				s.ok("Simulator.PutXksProxyPath", map[string]any{"UriEndpoint": "https://other.example.com", "UriPath": xksPath,
					"Credentials": []any{map[string]any{"AccessKeyId": xksKeyID, "SecretAccessKey": xksSecret}}})
				id := s.ok("TrentService.CreateCustomKeyStore", xksStore("x"))["CustomKeyStoreId"].(string)
				ref := map[string]any{"CustomKeyStoreId": id}
				switch st {
				case Connecting:
					s.ok("TrentService.ConnectCustomKeyStore", ref)
				case Connected:
					s.ok("TrentService.ConnectCustomKeyStore", ref)
					s.advance(xksConnectTime)
				case Disconnecting:
					s.ok("TrentService.ConnectCustomKeyStore", ref)
					s.advance(xksConnectTime)
					s.ok("TrentService.DisconnectCustomKeyStore", ref)
				case Failed:
					s.ok("Simulator.InjectConnectFault", map[string]any{"CustomKeyStoreId": id, "ConnectionErrorCode": "INTERNAL_ERROR"})
					s.ok("TrentService.ConnectCustomKeyStore", ref)
					s.advance(xksConnectTime)
				}
				if got := s.describe(id)["ConnectionState"]; got != string(st) {
					t.Fatalf("set-up reached %v", got)
				}
				body := map[string]any{"CustomKeyStoreId": id}
				for k, v := range req {
					body[k] = v
				}
				status, m := s.call("TrentService.UpdateCustomKeyStore", body)
				allowed := anyState[field] || st == Disconnected
				if allowed && status != 200 {
					t.Fatalf("got %d %v, want success", status, m)
				}
				if !allowed && (status != 400 || m["__type"] != "CustomKeyStoreInvalidStateException") {
					t.Fatalf("got %d %v, want CustomKeyStoreInvalidStateException", status, m)
				}
			})
		}
	}
}
