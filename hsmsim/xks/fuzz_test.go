package xks

import (
	"encoding/json"
	"testing"
)

var errorNames = map[string]bool{"ValidationException": true, "InvalidStateException": true,
	"InvalidCiphertextException": true, "InvalidKeyUsageException": true, "AuthenticationFailedException": true,
	"AccessDeniedException": true, "KeyNotFoundException": true, "InvalidUriPathException": true,
	"ThrottlingException": true, "UnsupportedOperationException": true, "DependencyTimeoutException": true}

// FuzzServe sends correctly signed requests with arbitrary paths and
// bodies. The proxy always answers JSON: a result, or an error named in the
// spec (never InternalException, which would mean a bug here).
func FuzzServe(f *testing.F) {
	f.Add(base+"/health", `{"requestMetadata":{"kmsRequestId":"1","kmsOperation":"KmsHealthCheck"}}`)
	f.Add(base+"/keys/foo/encrypt", `{"requestMetadata":{"awsPrincipalArn":"a","kmsKeyArn":"k","kmsOperation":"Encrypt","kmsRequestId":"1"},"plaintext":"aGVsbG8=","encryptionAlgorithm":"AES_GCM","ciphertextDataIntegrityValueAlgorithm":"SHA_256"}`)
	f.Add(base+"/keys/foo/decrypt", `{"requestMetadata":{"awsPrincipalArn":"a","kmsKeyArn":"k","kmsOperation":"Decrypt","kmsRequestId":"1"},"ciphertext":"aGVsbG8=","encryptionAlgorithm":"AES_GCM","initializationVector":"AAAAAAAAAAAAAAAA","authenticationTag":"AAAAAAAAAAAAAAAAAAAAAA=="}`)
	f.Add(base+"/keys/foo/metadata", `{"requestMetadata":{"awsPrincipalArn":"a","kmsOperation":"CreateKey","kmsRequestId":"1"}}`)
	p := newProxy(f)
	f.Fuzz(func(t *testing.T, path, body string) {
		r := Request{Method: "POST", Host: "xks.example.com", Path: path, Header: map[string]string{}, Body: []byte(body)}
		Sign(&r, testCred, "us-east-1", t0)
		resp, _ := p.Serve(t0, r)
		var m map[string]any
		if err := json.Unmarshal(resp.Body, &m); err != nil {
			t.Fatalf("%s %q: not JSON: %q", path, body, resp.Body)
		}
		if resp.Status != 200 && !errorNames[m["errorName"].(string)] {
			t.Fatalf("%s %q: %d %v", path, body, resp.Status, m)
		}
	})
}
