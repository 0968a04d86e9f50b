package server

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"keystorelab/engine"
	"keystorelab/hsmsim/xks"
)

const (
	testAccessKey = "BE2J6Q2RE7ZRRCONB2M2RKBT5M"
	testSecret    = "oTbh0uA9Z3M5tJr1dDqHsbQn7sAkH+3v9XhXxKZbVmk="
	testPath      = "/example/kms/xks/v1"
)

// xksServer serves a sandbox with one simulated proxy, one path and one
// external key "bar" on a loopback port.
func xksServer(t *testing.T) *httptest.Server {
	t.Helper()
	s := New(Config{Backend: Native(engine.New(engine.Config{ClockSpeed: 1}, time.Now()))})
	for _, c := range []struct{ target, body string }{
		{"Simulator.CreateXksProxy", `{"UriEndpoint":"https://xks.example.com"}`},
		{"Simulator.PutXksProxyPath", `{"UriEndpoint":"https://xks.example.com","UriPath":"` + testPath + `","Credentials":[{"AccessKeyId":"` + testAccessKey + `","SecretAccessKey":"` + testSecret + `"}]}`},
		{"Simulator.CreateExternalKey", `{"UriEndpoint":"https://xks.example.com","UriPath":"` + testPath + `","KeyId":"bar"}`},
	} {
		if status, resp := s.Call(c.target, []byte(c.body)); status != 200 {
			t.Fatalf("%s: %d %s", c.target, status, resp)
		}
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv
}

func TestXKSOverHTTP(t *testing.T) {
	srv := xksServer(t)
	body := []byte(`{"requestMetadata":{"kmsRequestId":"1","kmsOperation":"KmsHealthCheck"}}`)
	host := strings.TrimPrefix(srv.URL, "http://")
	r := xks.Request{Method: "POST", Host: host, Path: testPath + "/health", Header: map[string]string{"content-type": "application/json"}, Body: body}
	xks.Sign(&r, xks.Credential{AccessKeyID: testAccessKey, SecretAccessKey: testSecret}, "us-east-1", time.Now())
	send := func(path string, sign bool) (int, map[string]any) {
		req, _ := http.NewRequest("POST", srv.URL+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if sign {
			req.Header.Set("X-Amz-Date", r.Header["x-amz-date"])
			req.Header.Set("Authorization", r.Header["authorization"])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: not JSON: %s", path, b)
		}
		return resp.StatusCode, m
	}
	if status, m := send(testPath+"/health", true); status != 200 || m["ekmFleetDetails"] == nil {
		t.Fatalf("signed health: %d %v", status, m)
	}
	if status, m := send(testPath+"/health", false); status != 401 || m["errorName"] != "AuthenticationFailedException" {
		t.Fatalf("unsigned health: %d %v", status, m)
	}
	if status, m := send("/unknown/kms/xks/v1/health", false); status != 404 || m["errorName"] != "InvalidUriPathException" {
		t.Fatalf("unknown path: %d %v", status, m)
	}
}

// TestXKSWithCurl calls all four XKS operations with curl's own SigV4
// implementation, as the README shows.
func TestXKSWithCurl(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		if os.Getenv("KEYSTORELAB_REQUIRE_TOOLS") != "" {
			t.Fatal("curl is not installed")
		}
		t.Skip("curl is not installed")
	}
	srv := xksServer(t)
	curl := func(op, body string) map[string]any {
		t.Helper()
		out, err := exec.Command("curl", "-sS", "--aws-sigv4", "aws:amz:us-east-1:kms-xks-proxy", "--user", testAccessKey+":"+testSecret,
			"-H", "Content-Type: application/json", "-d", body, srv.URL+testPath+op).CombinedOutput()
		if err != nil {
			t.Fatalf("curl %s: %v: %s", op, err, out)
		}
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil || m["errorName"] != nil {
			t.Fatalf("curl %s: %s", op, out)
		}
		return m
	}
	meta := `"requestMetadata":{"awsPrincipalArn":"arn:aws:iam::111122223333:user/Alice","kmsKeyArn":"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab","kmsOperation":"Encrypt","kmsRequestId":"4112f4d6-db54-4af4-ae30-c55a22a8dfae"}`
	curl("/health", `{"requestMetadata":{"kmsRequestId":"1","kmsOperation":"KmsHealthCheck"}}`)
	if m := curl("/keys/bar/metadata", `{`+meta+`}`); m["keySpec"] != "AES_256" {
		t.Fatalf("metadata: %v", m)
	}
	enc := curl("/keys/bar/encrypt", `{`+meta+`,"plaintext":"SGVsbG8gV29ybGQh","encryptionAlgorithm":"AES_GCM","additionalAuthenticatedData":"cHJvamVjdD1uaWxlLGRlcGFydG1lbnQ9bWFya2V0aW5n","ciphertextDataIntegrityValueAlgorithm":"SHA_256"}`)
	dec := curl("/keys/bar/decrypt", `{`+meta+`,"ciphertext":"`+enc["ciphertext"].(string)+`","ciphertextMetadata":"`+enc["ciphertextMetadata"].(string)+
		`","encryptionAlgorithm":"AES_GCM","additionalAuthenticatedData":"cHJvamVjdD1uaWxlLGRlcGFydG1lbnQ9bWFya2V0aW5n","initializationVector":"`+enc["initializationVector"].(string)+
		`","authenticationTag":"`+enc["authenticationTag"].(string)+`"}`)
	if dec["plaintext"] != "SGVsbG8gV29ybGQh" {
		t.Fatalf("decrypt: %v", dec)
	}
}
