package xks

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// fromHTTP converts a signed net/http request into the transport's Request.
func fromHTTP(r *http.Request, body []byte) Request {
	h := map[string]string{}
	for k, v := range r.Header {
		h[strings.ToLower(k)] = strings.Join(v, ",")
	}
	if r.ContentLength > 0 { // net/http keeps Content-Length out of Header
		h["content-length"] = strconv.FormatInt(r.ContentLength, 10)
	}
	return Request{Method: r.Method, Host: r.Host, Path: r.URL.Path, Query: r.URL.RawQuery, Header: h, Body: body}
}

// TestAgainstTheSDKSigner checks this package's SigV4 against the AWS SDK
// for Go v2's signer, in both directions: what the SDK signs verifies, and
// what Sign produces is the signature the SDK computes.
func TestAgainstTheSDKSigner(t *testing.T) {
	body := []byte(`{"requestMetadata":{"kmsRequestId":"1","kmsOperation":"KmsHealthCheck"}}`)
	sum := sha256.Sum256(body)
	for _, host := range []string{"xks.example.com", "127.0.0.1:18099"} {
		req, _ := http.NewRequest("POST", "http://"+host+"/example/kms/xks/v1/health", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		creds := aws.Credentials{AccessKeyID: testCred.AccessKeyID, SecretAccessKey: testCred.SecretAccessKey}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), Service, "us-east-1", t0); err != nil {
			t.Fatal(err)
		}
		r := fromHTTP(req, body)
		lookup := func(string) []string { return []string{testCred.SecretAccessKey} }
		if err := Verify(r, "us-east-1", t0, lookup); err != nil {
			t.Errorf("%s: the SDK's signature does not verify: %v (%s)", host, err, r.Header["authorization"])
		}
		// Sign ourselves what the SDK signs with the same headers (a
		// request without a body, so that the SDK signs no content-length).
		empty, _ := http.NewRequest("POST", "http://"+host+"/example/kms/xks/v1/health", nil)
		empty.Header.Set("Content-Type", "application/json")
		none := sha256.Sum256(nil)
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, empty, hex.EncodeToString(none[:]), Service, "us-east-1", t0); err != nil {
			t.Fatal(err)
		}
		mine := Request{Method: "POST", Host: host, Path: "/example/kms/xks/v1/health", Header: map[string]string{"content-type": "application/json"}}
		Sign(&mine, testCred, "us-east-1", t0)
		if got, want := mine.Header["authorization"], empty.Header.Get("Authorization"); got != want {
			t.Errorf("%s: Sign gives\n%s\nthe SDK\n%s", host, got, want)
		}
	}
}

// TestSigV4TestSuiteVector is "get-vanilla" from AWS's SigV4 test suite.
func TestSigV4TestSuiteVector(t *testing.T) {
	r := Request{Method: "GET", Host: "example.amazonaws.com", Path: "/", Header: map[string]string{"x-amz-date": "20150830T123600Z"}}
	got := signature(r, []string{"host", "x-amz-date"}, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830T123600Z",
		"us-east-1", "service", "20150830/us-east-1/service/aws4_request")
	if want := "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"; got != want {
		t.Fatalf("get-vanilla: %s, want %s", got, want)
	}
}
