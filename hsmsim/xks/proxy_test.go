package xks

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	mrand "math/rand/v2"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

var testCred = Credential{AccessKeyID: "BE2J6Q2RE7ZRRCONB2M2RKBT5M", SecretAccessKey: "oTbh0uA9Z3M5tJr1dDqHsbQn7sAkH+3v9XhXxKZbVmk="}

// newProxy returns a proxy serving one store with an AES-256 key "foo"
// that can encrypt and decrypt, and keys with narrower usage.
func newProxy(t testing.TB) *Proxy {
	t.Helper()
	p := New("xks.example.com", "us-east-1", mrand.NewChaCha8([32]byte{7}))
	mat := bytes.Repeat([]byte{0x42}, 32)
	p.Stores = append(p.Stores, &Store{URIPath: "/example/kms/xks/v1", Credentials: []Credential{testCred}, Keys: []*Key{
		{ID: "foo", Spec: "AES_256", Usage: []string{"ENCRYPT", "DECRYPT"}, Status: "ENABLED", Material: mat},
		{ID: "enc-only", Spec: "AES_256", Usage: []string{"ENCRYPT"}, Status: "ENABLED", Material: mat},
		{ID: "dec-only", Spec: "AES_256", Usage: []string{"DECRYPT"}, Status: "ENABLED", Material: mat},
		{ID: "no-usage", Spec: "AES_256", Usage: []string{"SIGN"}, Status: "ENABLED", Material: mat},
		{ID: "disabled", Spec: "AES_256", Usage: []string{"ENCRYPT", "DECRYPT"}, Status: "DISABLED", Material: mat},
	}})
	return p
}

func meta(op string) map[string]any {
	return map[string]any{"awsPrincipalArn": "arn:aws:iam::111122223333:role/app", "kmsKeyArn": "arn:aws:kms:us-east-1:111122223333:key/1234",
		"kmsOperation": op, "kmsRequestId": "4112f4d6-db54-4af4-ae30-c55a22a8dfae"}
}

// call signs and sends a request; it returns the status and decoded body.
func call(t *testing.T, p *Proxy, path string, body map[string]any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	r := Request{Method: "POST", Host: "xks.example.com", Path: path, Header: map[string]string{"content-type": "application/json"}, Body: b}
	Sign(&r, testCred, "us-east-1", t0)
	resp, _ := p.Serve(t0, r)
	var m map[string]any
	if err := json.Unmarshal(resp.Body, &m); err != nil {
		t.Fatalf("%s: body is not JSON: %s", path, resp.Body)
	}
	return resp.Status, m
}

const base = "/example/kms/xks/v1"

func encrypt(t *testing.T, p *Proxy, key string, plaintext, aad []byte, cdiv bool) (int, map[string]any) {
	t.Helper()
	req := map[string]any{"requestMetadata": meta("Encrypt"), "plaintext": base64.StdEncoding.EncodeToString(plaintext), "encryptionAlgorithm": "AES_GCM"}
	if aad != nil {
		req["additionalAuthenticatedData"] = base64.StdEncoding.EncodeToString(aad)
	}
	if cdiv {
		req["ciphertextDataIntegrityValueAlgorithm"] = "SHA_256"
	}
	return call(t, p, base+"/keys/"+key+"/encrypt", req)
}

func decryptReq(enc map[string]any, aad []byte) map[string]any {
	req := map[string]any{"requestMetadata": meta("Decrypt"), "encryptionAlgorithm": "AES_GCM",
		"ciphertext": enc["ciphertext"], "ciphertextMetadata": enc["ciphertextMetadata"],
		"initializationVector": enc["initializationVector"], "authenticationTag": enc["authenticationTag"]}
	if aad != nil {
		req["additionalAuthenticatedData"] = base64.StdEncoding.EncodeToString(aad)
	}
	return req
}

func TestRoundTripAndTampering(t *testing.T) {
	p := newProxy(t)
	plaintext := bytes.Repeat([]byte("x"), 4300)
	aad := bytes.Repeat([]byte("a"), 8192)
	status, enc := encrypt(t, p, "foo", plaintext, aad, true)
	if status != 200 {
		t.Fatalf("encrypt: %d %v", status, enc)
	}
	ct, _ := base64.StdEncoding.DecodeString(enc["ciphertext"].(string))
	iv, _ := base64.StdEncoding.DecodeString(enc["initializationVector"].(string))
	tag, _ := base64.StdEncoding.DecodeString(enc["authenticationTag"].(string))
	md, _ := base64.StdEncoding.DecodeString(enc["ciphertextMetadata"].(string))
	if len(ct) != len(plaintext) || len(iv) != 12 || len(tag) != 16 || len(md) > 20 {
		t.Fatalf("sizes: ct %d iv %d tag %d md %d", len(ct), len(iv), len(tag), len(md))
	}
	if got := enc["ciphertextDataIntegrityValue"]; got != base64.StdEncoding.EncodeToString(CDIV(aad, md, iv, ct, tag)) {
		t.Fatalf("CDIV %v is not SHA-256(aad||md||iv||ct||tag)", got)
	}
	status, dec := call(t, p, base+"/keys/foo/decrypt", decryptReq(enc, aad))
	if status != 200 || dec["plaintext"] != base64.StdEncoding.EncodeToString(plaintext) {
		t.Fatalf("decrypt: %d %v", status, dec)
	}
	tamper := func(field string, change func(map[string]any)) {
		req := decryptReq(enc, aad)
		change(req)
		if status, m := call(t, p, base+"/keys/foo/decrypt", req); status != 400 || m["errorName"] != "InvalidCiphertextException" {
			t.Errorf("tampered %s: %d %v, want 400 InvalidCiphertextException", field, status, m)
		}
	}
	tamper("AAD", func(r map[string]any) {
		r["additionalAuthenticatedData"] = base64.StdEncoding.EncodeToString([]byte("other"))
	})
	tamper("no AAD", func(r map[string]any) { delete(r, "additionalAuthenticatedData") })
	tamper("metadata", func(r map[string]any) {
		r["ciphertextMetadata"] = base64.StdEncoding.EncodeToString([]byte("klab-xks-aad:v2"))
	})
	tamper("metadata moved into the AAD", func(r map[string]any) {
		r["additionalAuthenticatedData"] = base64.StdEncoding.EncodeToString(append(append([]byte{}, aad...), md...))
		delete(r, "ciphertextMetadata")
	})
	tamper("ciphertext", func(r map[string]any) {
		b := append([]byte{}, ct...)
		b[0] ^= 1
		r["ciphertext"] = base64.StdEncoding.EncodeToString(b)
	})
	tamper("tag", func(r map[string]any) {
		b := append([]byte{}, tag...)
		b[15] ^= 1
		r["authenticationTag"] = base64.StdEncoding.EncodeToString(b)
	})
}

// TestCDIVSpecExample recomputes the example in the XKS proxy API spec.
func TestCDIVSpecExample(t *testing.T) {
	d := func(s string) []byte { b, _ := base64.StdEncoding.DecodeString(s); return b }
	got := CDIV([]byte("project=nile,department=marketing"), []byte("key_version=1"),
		d("HMrlRw85cAJUd5Ax"), d("ghxkK1txeDNn3q8Y"), d("vBxN2ncH1oEkR8WVXpmyYQ=="))
	if hex.EncodeToString(got) != "a8703f2260bd8791ec2d15ea0b23e65a0631eedcf2a13a65cc82db3f47cf5ec7" {
		t.Fatalf("CDIV = %x", got)
	}
}

func TestKeyUsageAndState(t *testing.T) {
	p := newProxy(t)
	for _, tc := range []struct {
		key    string
		cdiv   bool
		status int
		name   string
	}{
		{"enc-only", false, 200, ""},
		{"enc-only", true, 400, "InvalidKeyUsageException"}, // the verifying decrypt needs DECRYPT
		{"dec-only", false, 400, "InvalidKeyUsageException"},
		{"no-usage", false, 400, "InvalidKeyUsageException"},
		{"disabled", false, 400, "InvalidStateException"},
		{"missing", false, 404, "KeyNotFoundException"},
	} {
		status, m := encrypt(t, p, tc.key, []byte("hello"), nil, tc.cdiv)
		if status != tc.status || (tc.name != "" && m["errorName"] != tc.name) {
			t.Errorf("encrypt with %s (cdiv %v): %d %v, want %d %s", tc.key, tc.cdiv, status, m, tc.status, tc.name)
		}
	}
	_, enc := encrypt(t, p, "foo", []byte("hello"), nil, false)
	if status, m := call(t, p, base+"/keys/enc-only/decrypt", decryptReq(enc, nil)); status != 400 || m["errorName"] != "InvalidKeyUsageException" {
		t.Errorf("decrypt with an encrypt-only key: %d %v", status, m)
	}
	if status, m := call(t, p, base+"/keys/dec-only/decrypt", decryptReq(enc, nil)); status != 200 {
		t.Errorf("decrypt with a decrypt-only key: %d %v", status, m)
	}
	status, m := call(t, p, base+"/keys/no-usage/metadata", map[string]any{"requestMetadata": meta("CreateKey")})
	if status != 200 || m["keySpec"] != "AES_256" || m["keyStatus"] != "ENABLED" || len(m["keyUsage"].([]any)) != 1 {
		t.Errorf("metadata: %d %v", status, m)
	}
}

func TestRequestRules(t *testing.T) {
	p := newProxy(t)
	for _, tc := range []struct {
		what   string
		path   string
		body   map[string]any
		status int
		name   string
	}{
		{"health", base + "/health", map[string]any{"requestMetadata": map[string]any{"kmsRequestId": "1", "kmsOperation": "KmsHealthCheck"}}, 200, ""},
		{"health without requestMetadata", base + "/health", map[string]any{}, 400, "ValidationException"},
		{"health with empty requestMetadata", base + "/health", map[string]any{"requestMetadata": map[string]any{}}, 400, "ValidationException"},
		{"metadata without principal", base + "/keys/foo/metadata", map[string]any{"requestMetadata": map[string]any{"kmsRequestId": "1", "kmsOperation": "CreateKey"}}, 400, "ValidationException"},
		{"unknown prefix", "/other/kms/xks/v1/health", map[string]any{}, 404, "InvalidUriPathException"},
		{"unknown operation", base + "/keys/foo/rotate", map[string]any{}, 404, "InvalidUriPathException"},
		{"wrong algorithm", base + "/keys/foo/encrypt", map[string]any{"requestMetadata": meta("Encrypt"), "plaintext": "aGk=", "encryptionAlgorithm": "AES_CBC"}, 400, "ValidationException"},
		{"bad base64", base + "/keys/foo/encrypt", map[string]any{"requestMetadata": meta("Encrypt"), "plaintext": "***", "encryptionAlgorithm": "AES_GCM"}, 400, "ValidationException"},
		{"too large", base + "/keys/foo/encrypt", map[string]any{"requestMetadata": meta("Encrypt"), "plaintext": base64.StdEncoding.EncodeToString(make([]byte, MaxPlaintext+1)), "encryptionAlgorithm": "AES_GCM"}, 501, "UnsupportedOperationException"},
	} {
		status, m := call(t, p, tc.path, tc.body)
		if status != tc.status || (tc.name != "" && m["errorName"] != tc.name) {
			t.Errorf("%s: %d %v, want %d %s", tc.what, status, m, tc.status, tc.name)
		}
	}
	// GET is refused with 405, but an unknown path is 404 before anything else.
	r := Request{Method: "GET", Host: "xks.example.com", Path: base + "/health", Header: map[string]string{}}
	Sign(&r, testCred, "us-east-1", t0)
	if resp, _ := p.Serve(t0, r); resp.Status != 405 {
		t.Errorf("GET: %d", resp.Status)
	}
	// Secondary authorization exempts health.
	p.Rules = Rules{KmsOperations: []string{"Decrypt"}}
	if status, _ := call(t, p, base+"/health", map[string]any{"requestMetadata": map[string]any{"kmsRequestId": "1", "kmsOperation": "KmsHealthCheck"}}); status != 200 {
		t.Errorf("health under rules: %d", status)
	}
	if status, m := encrypt(t, p, "foo", []byte("x"), nil, false); status != 403 || m["errorName"] != "AccessDeniedException" {
		t.Errorf("encrypt under rules: %d %v", status, m)
	}
}

func TestAuthentication(t *testing.T) {
	p := newProxy(t)
	body := []byte(`{"requestMetadata":{"kmsRequestId":"1","kmsOperation":"KmsHealthCheck"}}`)
	fresh := func() Request {
		return Request{Method: "POST", Host: "xks.example.com", Path: base + "/health",
			Header: map[string]string{"content-type": "application/json"}, Body: body}
	}
	send := func(r Request, now time.Time) (int, string) {
		resp, _ := p.Serve(now, r)
		var m map[string]string
		_ = json.Unmarshal(resp.Body, &m)
		return resp.Status, m["errorName"]
	}
	good := fresh()
	Sign(&good, testCred, "us-east-1", t0)
	if status, _ := send(good, t0); status != 200 {
		t.Fatalf("a good signature: %d", status)
	}
	cases := map[string]func() (Request, time.Time){
		"unsigned": func() (Request, time.Time) { return fresh(), t0 },
		"wrong secret": func() (Request, time.Time) {
			r := fresh()
			Sign(&r, Credential{testCred.AccessKeyID, strings.Repeat("A", 44)}, "us-east-1", t0)
			return r, t0
		},
		"unknown access key": func() (Request, time.Time) {
			r := fresh()
			Sign(&r, Credential{"AAAAAAAAAAAAAAAAAAAAAAAAAA", testCred.SecretAccessKey}, "us-east-1", t0)
			return r, t0
		},
		"wrong region": func() (Request, time.Time) {
			r := fresh()
			Sign(&r, testCred, "eu-west-1", t0)
			return r, t0
		},
		"six minutes late":  func() (Request, time.Time) { r := good; return r, t0.Add(6 * time.Minute) },
		"six minutes early": func() (Request, time.Time) { r := good; return r, t0.Add(-6 * time.Minute) },
		"altered body": func() (Request, time.Time) {
			r := good
			r.Body = []byte(`{"requestMetadata":{"kmsRequestId":"2","kmsOperation":"KmsHealthCheck"}}`)
			return r, t0
		},
		"altered signed header": func() (Request, time.Time) {
			r := good
			r.Header = map[string]string{}
			for k, v := range good.Header {
				r.Header[k] = v
			}
			r.Header["content-type"] = "text/plain"
			return r, t0
		},
		"altered host": func() (Request, time.Time) { r := good; r.Host = "evil.example.com"; return r, t0 },
	}
	for name, build := range cases {
		r, now := build()
		if status, errName := send(r, now); status != 401 || errName != "AuthenticationFailedException" {
			t.Errorf("%s: %d %s, want 401 AuthenticationFailedException", name, status, errName)
		}
	}
	// Within the skew, and with a second credential during rotation.
	if status, _ := send(good, t0.Add(4*time.Minute)); status != 200 {
		t.Errorf("four minutes late: %d", status)
	}
	second := Credential{"ZZZZZZZZZZZZZZZZZZZZZZZZZZ", "n3wS3cretn3wS3cretn3wS3cretn3wS3cretn3wS3c="}
	p.Stores[0].Credentials = append(p.Stores[0].Credentials, second)
	r := fresh()
	Sign(&r, second, "us-east-1", t0)
	if status, _ := send(r, t0); status != 200 {
		t.Errorf("second credential: %d", status)
	}
}

func TestFaults(t *testing.T) {
	p := newProxy(t)
	health := map[string]any{"requestMetadata": map[string]any{"kmsRequestId": "1", "kmsOperation": "KmsHealthCheck"}}
	for _, tc := range []struct {
		faults Faults
		status int
		name   string
	}{
		{Faults{Throttle: true}, 429, "ThrottlingException"},
		{Faults{Internal: true}, 500, "InternalException"},
		{Faults{DependencyTimeout: true}, 503, "DependencyTimeoutException"},
	} {
		p.Faults = tc.faults
		if status, m := call(t, p, base+"/health", health); status != tc.status || m["errorName"] != tc.name {
			t.Errorf("%+v: %d %v", tc.faults, status, m)
		}
	}
	p.Faults = Faults{Malformed: true, Latency: 300 * time.Millisecond}
	b, _ := json.Marshal(health)
	r := Request{Method: "POST", Host: "xks.example.com", Path: base + "/health", Header: map[string]string{}, Body: b}
	Sign(&r, testCred, "us-east-1", t0)
	resp, took := p.Serve(t0, r)
	if resp.Status != 200 || json.Valid(resp.Body) || took != 300*time.Millisecond {
		t.Errorf("malformed+latency: %d %q %v", resp.Status, resp.Body, took)
	}
}

func TestTransportFaults(t *testing.T) {
	p := newProxy(t)
	r := Request{Method: "POST", Host: "xks.example.com", Path: base + "/health", Header: map[string]string{}}
	p.Faults = Faults{Unreachable: true}
	if _, _, err := p.Exchange(t0, r); err != ErrUnreachable {
		t.Errorf("unreachable: %v", err)
	}
	for _, problem := range TLSProblems {
		p.Faults = Faults{TLS: problem}
		var te *TLSError
		if _, _, err := p.Exchange(t0, r); !errors.As(err, &te) || te.Problem != problem {
			t.Errorf("%s: %v", problem, err)
		}
	}
	p.Faults = Faults{}
	if resp, _, err := p.Exchange(t0, r); err != nil || resp.Status != 401 {
		t.Errorf("healthy exchange of an unsigned request: %v %d", err, resp.Status)
	}
}
